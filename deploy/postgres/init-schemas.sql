-- Runs once, when the compose PostgreSQL volume is first initialised.
-- Each service owns one schema (SDS_DATABASE_SCHEMA=<service>) and never reads another's.
-- Creating them up front keeps a fresh stack's first start free of races between six processes
-- doing DDL; where a service's migrations create their schema too, that is a no-op.
CREATE SCHEMA IF NOT EXISTS gateway;
CREATE SCHEMA IF NOT EXISTS datasets;
CREATE SCHEMA IF NOT EXISTS trainer;
CREATE SCHEMA IF NOT EXISTS evaluator;
CREATE SCHEMA IF NOT EXISTS llm;
CREATE SCHEMA IF NOT EXISTS audit;
