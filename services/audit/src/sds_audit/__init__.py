"""The audit service: keeps the hash-chained audit log."""
