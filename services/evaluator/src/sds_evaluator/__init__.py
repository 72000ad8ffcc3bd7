"""The evaluator service: scores synthetic data against the real holdout."""
