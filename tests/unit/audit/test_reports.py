"""A generator's compliance outputs through the audit routes: JSON, HTML, PDF; refusals."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text

from tests.unit.audit.flow import G2, LEDGER, G
from tests.unit.audit.harness import ALICE, AuditHarness, deliver_flow, running_audit

REPORT = f"/api/v1/audit/generators/{G}/privacy-report"
CARD = f"/api/v1/audit/generators/{G}/model-card"


async def _json(audit: AuditHarness, path: str) -> dict[str, Any]:
    response = await audit.call("GET", path)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_privacy_report_states_guarantee_risks_evidence_and_trail(
    tmp_path: Path,
) -> None:
    async with running_audit(tmp_path) as audit:
        await deliver_flow(audit)
        report = await _json(audit, REPORT)
        history = report["history"]
        guarantee = history["guarantee"]
        assert (guarantee["differentially_private"], guarantee["in_force"]) == (True, True)
        assert guarantee["parameters"] == {
            "mechanism": "DP-SGD (Gaussian noise on clipped per-record gradients)",
            "epsilon": 2.9,
            "delta": 1e-6,
            "accountant": "rdp",
            "preprocessing_epsilon": 0.3,
            "training_epsilon": 2.6,
            "noise_multiplier": 1.1,
            "sample_rate": 0.01,
            "steps": 200,
            "epochs": 2,
            "max_grad_norm": 1.0,
            "batch_size": 50,
        }
        assert guarantee["requested"] == {
            "epsilon": 3.0,
            "delta": 1e-6,
            "accountant": "rdp",
            "preprocessing_epsilon_share": 0.1,
        }
        explained = {p["key"]: p for p in guarantee["explained"]}
        assert explained["split"]["value"] == "preprocessing ε = 0.3, training ε = 2.6"
        assert explained["steps"]["value"] == "200 (2 passes over the data)"
        assert "e^ε ≈ 18.2" in guarantee["meaning"]
        assert [(b["entry"], b["epsilon"]) for b in history["budget"]] == [
            ("reserved", 3.0),
            ("spent", 2.9),
        ]
        # Which ledger the generator charged, and why uploads share it (finding 11).
        assert history["ledger"] == LEDGER
        assert history["ledger_note"].startswith(
            "This generator charged the privacy budget of the uploaded file with SHA-256 "
            "0000000000000000…: every upload of the same bytes in its project shares this budget"
        )
        (evaluation,) = history["evaluations"]
        assert {r["key"]: r["value"] for r in evaluation["risks"]} == {
            "dcr_share": 0.52,
            "mia_auc": 0.51,
            "mia_epsilon_lower_bound": 0.4,
        }
        assert evaluation["consistency"].startswith("Consistent")
        assert history["dataset"]["personal_data_columns"] == ["mail (email)"]
        assert history["training"]["status"] == "succeeded"
        assert [s["status"] for s in history["samples"]] == ["generated"]
        assert history["samples"][0]["downloads"] == 1

        trail = (await _json(audit, f"/api/v1/audit/generators/{G}/trail"))["items"]
        assert [i["seq"] for i in history["trail"]] == [r["seq"] for r in trail]
        assert all(i["summary"] for i in history["trail"])
        integrity = report["integrity"]
        assert integrity["chain_ok"] is True
        assert integrity["trail_records_intact"] == integrity["trail_records"] == len(trail)
        compliance = {(c["framework"], c["reference"]): c for c in report["compliance"]}
        assert compliance[("GDPR", "Art. 4(1), 4(5), Recital 26")]["assessment"] == (
            "partly supports"  # ε = 2.9 is a moderate guarantee
        )
        assert compliance[("HIPAA", "45 CFR 164.514(b)(1)")]["assessment"] == "evidence only"
        assert "not legal advice" in report["notice"]
        art30 = {f["label"]: f["value"] for f in report["record_of_processing"]}
        assert art30["Recipients of the synthetic data"] == "alice"
        assert art30["Purposes of the processing"] == "to be completed by the controller"

        html = await audit.call("GET", REPORT, params={"format": "html"})
        assert html.headers["content-type"].startswith("text/html")
        page = html.text
        for shown in (str(G), "2.9", "1.1", "0.01", "200", "0.51", "GDPR", "HIPAA", "Art. 30"):
            assert shown in page, shown
        assert "not legal advice" in page
        assert "every upload of the same bytes in its project shares this budget" in page
        assert "<script" not in page
        assert not re.search(r"""(?:src|href)\s*=""", page)

        pdf = await audit.call("GET", REPORT, params={"format": "pdf"})
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        assert str(G).encode() in pdf.content  # in the document's title metadata

        card = await _json(audit, CARD)
        assert card["generator_id"] == str(G)
        assert {f["label"]: f["value"] for f in card["details"]}["Method"] == "dp-ctgan"
        assert any("ε" in f["label"] and f["value"] == "2.9" for f in card["privacy"])
        card_html = await audit.call("GET", CARD, params={"format": "html"})
        assert "Model card" in card_html.text
        card_pdf = await audit.call("GET", CARD, params={"format": "pdf"})
        assert card_pdf.content.startswith(b"%PDF")


async def test_reports_refuse_unknown_generators_and_non_members(tmp_path: Path) -> None:
    async with running_audit(tmp_path) as audit:
        await deliver_flow(audit)
        unknown = uuid.uuid4()
        for route in ("privacy-report", "model-card"):
            missing = await audit.call("GET", f"/api/v1/audit/generators/{unknown}/{route}")
            assert missing.status_code == 404
            assert missing.json()["code"] == "unknown_generator"
            # Not a member of the generator's project: as unknown as a generator never seen.
            stranger = await audit.call("GET", f"/api/v1/audit/generators/{G}/{route}", user=ALICE)
            assert (stranger.status_code, stranger.json()["code"]) == (404, "unknown_generator")
            assert (
                await audit.client.get(f"/api/v1/audit/generators/{G}/{route}")
            ).status_code == 401
        bad_format = await audit.call("GET", REPORT, params={"format": "docx"})
        assert bad_format.status_code == 422

        # A generator refused before training: no guarantee, and the report says so.
        refused = await _json(audit, f"/api/v1/audit/generators/{G2}/privacy-report")
        assert refused["history"]["training"]["status"] == "rejected"
        assert refused["history"]["guarantee"]["differentially_private"] is False
        assert "WITHOUT differential privacy" in refused["history"]["guarantee"]["meaning"]

        # A tampered log (the spend rewritten to a smaller ε, fields dropped): the report still
        # renders, says the log does not verify, and names the record.
        async with audit.service.database.engine.begin() as conn:
            await conn.execute(
                text("UPDATE audit_log SET payload = :p WHERE event_type = 'PrivacyBudgetSpent'"),
                {"p": f'{{"generator_id": "{G}", "epsilon": 0.1}}'},
            )
        tampered = await _json(audit, REPORT)
        integrity = tampered["integrity"]
        assert integrity["chain_ok"] is False
        assert integrity["trail_broken_seqs"] == [integrity["chain_first_broken_seq"]]
        assert tampered["history"]["budget"][1]["delta"] is None
        page = (await audit.call("GET", REPORT, params={"format": "html"})).text
        assert "THE AUDIT LOG DOES NOT VERIFY" in page
