"""Where the ``sds`` CLI finds the proxy secret, and that a local stack keeps it there."""

from __future__ import annotations

from pathlib import Path

from sds_common.auth import load_or_create_embedded_secret
from sds_common.settings import Settings
from sds_studio.credentials import cli_secret, data_dir_of, local_stack_secret


def test_a_local_stack_and_the_cli_meet_in_the_data_folder(tmp_path: Path) -> None:
    env = {"SDS_DATA_DIR": str(tmp_path / "data")}
    # What `make up-distributed` hands its services as SDS_AUTH_SECRETS ...
    stack = local_stack_secret(env)
    # ... is what the CLI signs with, given only the same data folder ...
    assert cli_secret(data_dir_of(env), env={}) == stack
    # ... and what the embedded studio (`sds up`) reads from that folder.
    assert load_or_create_embedded_secret(tmp_path / "data") == stack
    assert local_stack_secret(env) == stack  # created once, then kept
    assert len(stack) == 64


def test_the_environment_wins_over_the_data_folder(tmp_path: Path) -> None:
    local = local_stack_secret({"SDS_DATA_DIR": str(tmp_path)})
    assert cli_secret(tmp_path, env={"SDS_AUTH_SECRET": "explicit"}) == "explicit"
    # The gateway's own variable: every listed secret is accepted, the first one signs.
    assert cli_secret(tmp_path, env={"SDS_AUTH_SECRETS": " new , old "}) == "new"
    assert (
        cli_secret(tmp_path, env={"SDS_AUTH_SECRET": "explicit", "SDS_AUTH_SECRETS": "new"})
        == "explicit"
    )
    assert cli_secret(tmp_path, env={"SDS_AUTH_SECRET": " ", "SDS_AUTH_SECRETS": ""}) == local


def test_the_data_folder_defaults_like_the_settings() -> None:
    assert data_dir_of({}) == Settings.model_fields["data_dir"].default == Path(".sds")
    assert data_dir_of({"SDS_DATA_DIR": "/srv/sds"}) == Path("/srv/sds")
