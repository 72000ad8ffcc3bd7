"""The proxy secret the ``sds`` CLI signs its requests with, and where a local stack keeps it.

A local studio, embedded (``sds up``) or distributed (``make up-distributed``), keeps its secret
in ``SDS_DATA_DIR/secrets/`` (default ``.sds``), created at its first start; the CLI reads the
same file, so on one machine nothing needs configuring. Against any other gateway the secret
comes from the environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from sds_common.auth import load_or_create_embedded_secret

#: The data folder when ``SDS_DATA_DIR`` is unset (``Settings.data_dir``'s default).
DEFAULT_DATA_DIR = Path(".sds")


def data_dir_of(env: Mapping[str, str] | None = None) -> Path:
    """``SDS_DATA_DIR``, or ``.sds``."""
    values = os.environ if env is None else env
    return Path(values.get("SDS_DATA_DIR") or DEFAULT_DATA_DIR)


def local_stack_secret(env: Mapping[str, str] | None = None) -> str:
    """The secret of a stack started on this machine: the one in the data folder (created once).

    ``sds up`` and ``make up-distributed`` both use it, so the CLI finds it without being told.
    """
    return load_or_create_embedded_secret(data_dir_of(env))


def cli_secret(data_dir: Path, env: Mapping[str, str] | None = None) -> str:
    """The secret the CLI signs with, first found of:

    1. ``SDS_AUTH_SECRET``;
    2. the first of ``SDS_AUTH_SECRETS``, the gateway's own variable (every secret listed
       there is accepted, so the CLI runs in a shell that started the services);
    3. the local stack's secret in ``data_dir/secrets/`` (created there if missing, so a studio
       started afterwards with the same data folder uses it too).
    """
    values = os.environ if env is None else env
    if secret := values.get("SDS_AUTH_SECRET", "").strip():
        return secret
    listed = [s.strip() for s in values.get("SDS_AUTH_SECRETS", "").split(",") if s.strip()]
    if listed:
        return listed[0]
    return load_or_create_embedded_secret(data_dir)
