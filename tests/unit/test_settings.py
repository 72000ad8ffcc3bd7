"""Settings: defaults, validation, and the README's configuration table kept in sync."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from sds_audit.config import AuditSettings
from sds_common.settings import Settings
from sds_datasets.config import DatasetsSettings
from sds_gateway.config import GatewaySettings
from sds_llm.config import LlmSettings
from sds_trainer.config import TrainerSettings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_is_documented_in_the_readme_and_nothing_else() -> None:
    text = README.read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(SDS_[A-Z0-9_]+)` \|", section, flags=re.MULTILINE))
    expected = {
        f"SDS_{name.upper()}"
        for cls in (
            Settings,
            GatewaySettings,
            DatasetsSettings,
            TrainerSettings,
            LlmSettings,
            AuditSettings,
        )
        for name in cls.model_fields
    }
    assert documented == expected


def test_defaults_are_the_embedded_runtime(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in Settings.model_fields:
        monkeypatch.delenv(f"SDS_{name.upper()}", raising=False)
    settings = Settings(data_dir=tmp_path)
    assert settings.runtime == "embedded"
    assert settings.bus == "memory"
    assert settings.storage == "local"
    assert (
        settings.database_url_for("audit")
        == f"sqlite+aiosqlite:///{tmp_path.resolve()}/db/audit.sqlite"
    )


def test_environment_configures_and_secrets_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDS_RUNTIME", "distributed")
    monkeypatch.setenv("SDS_BUS", "kafka")
    monkeypatch.setenv("SDS_S3_SECRET_KEY", "hunter2")
    monkeypatch.setenv("SDS_TOPIC_PREFIX", "staging.")
    settings = Settings()
    assert settings.topic("datasets") == "staging.datasets"
    assert "hunter2" not in repr(settings)
    assert settings.s3_secret_key.get_secret_value() == "hunter2"


def test_distributed_runtime_refuses_the_in_process_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDS_RUNTIME", "distributed")
    monkeypatch.delenv("SDS_BUS", raising=False)
    with pytest.raises(ValidationError, match="SDS_BUS=kafka"):
        Settings()
