"""The peers benchmark's parts: virtual environments, the worker protocol and one worker per peer.

The workers run INSIDE a peer's own virtual environment (``python -m benchmarks._peers.<worker>``
from the repository root), so they import only the standard library, pandas and their peer;
:mod:`.protocol` is the one module they share with the orchestrator (``benchmarks/peers.py``).
"""
