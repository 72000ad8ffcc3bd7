"""The gateway service: REST API for clients and the frontend, read models, progress streaming."""
