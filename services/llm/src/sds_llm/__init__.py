"""The llm service: explains reports from schemas and aggregates only."""
