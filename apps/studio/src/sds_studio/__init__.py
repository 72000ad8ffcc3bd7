"""Synthetic Data Studio in one process, and the ``sds`` command-line client."""
