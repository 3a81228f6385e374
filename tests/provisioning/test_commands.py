"""`platform provision URL …` inserts a request the sensor will pick up."""

from __future__ import annotations

import argparse

import pytest

from orchestration.cli import provisioning as commands
from tests.provisioning.conftest import rows


def test_provision_command_inserts_a_pending_request_with_manual_input(
    prov_dsn: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "_app_dsn", lambda: prov_dsn)
    parser = argparse.ArgumentParser(prog="platform")
    commands.add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["provision", "https://bright-smiles.example.com/", "--requested-by", "ce@example.com",
                              "--manual-business-name", "Bright Smiles Dental", "--manual-domain", "healthcare_clinic",
                              "--manual-products", "Cleanings, Implants"])
    assert args.func(args) == 0
    request_id = int(capsys.readouterr().out.split()[2])
    (url, who, manual, status), = rows(prov_dsn, "SELECT customer_url, requested_by, manual_input, status "
                                                 "FROM provisioning_requests WHERE id = %s", request_id)
    assert (url, who, status) == ("https://bright-smiles.example.com/", "ce@example.com", "pending")
    assert manual == {"business_name": "Bright Smiles Dental", "domain": "healthcare_clinic",
                      "products": ["Cleanings", "Implants"]}
    # leave nothing pending behind for other tests of this database
    cancel = parser.parse_args(["provision-cancel", str(request_id)])
    assert cancel.func(cancel) == 0
    (flag,), = rows(prov_dsn, "SELECT cancel_requested FROM provisioning_requests WHERE id = %s", request_id)
    assert flag is True
