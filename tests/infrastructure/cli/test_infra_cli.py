"""``datagora infra``: render writes manifests that validate, a broken spec is one plain error line, status reads
the workloads without unlocking the key; up/down drive a real Ansible run (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datagora.crypto.keys import load_keystore
from datagora.home import Home
from datagora.infra.manifests import validate_kubernetes, validate_terraform
from datagora.infra.spec import parse_spec
from datagora.services.participant import Participant
from datagora.services.publishing import prepare
from tests.infrastructure.kit import spec_doc, write_table
from tests.kits.cli_fixtures import PASSWORD, failed, invoke, make_keystores, ok

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_render_writes_validated_kubernetes_and_terraform_files(tmp_path: Path) -> None:
    spec_file = tmp_path / "workload.json"
    spec_file.write_text(json.dumps(spec_doc(OWNER, "0x" + "ab" * 32)))
    out = ok(invoke(["infra", "render", spec_file, "--out", tmp_path / "deploy"]))
    assert "tumour-averages.k8s.json" in out and "provider schema not checked" in out
    k8s = json.loads((tmp_path / "deploy" / "tumour-averages.k8s.json").read_text())
    assert k8s["kind"] == "List"
    assert [type(m).__name__ for m in validate_kubernetes(k8s["items"])] == ["V1ConfigMap", "V1Deployment", "V1Service"]
    terraform = json.loads((tmp_path / "deploy" / "tumour-averages.tf.json").read_text())
    validate_terraform(terraform, parse_spec(spec_file.read_text()))


def test_a_broken_spec_is_one_plain_error_line(tmp_path: Path) -> None:
    spec_file = tmp_path / "workload.json"
    spec_file.write_text(json.dumps({**spec_doc("0x12", "0x" + "ab" * 32), "heartbeat_interval": -1}))
    failed(
        invoke(["infra", "render", spec_file]),
        "workload spec",
        "data.owner: owner must be an account address",
        "heartbeat_interval",
    )
    failed(invoke(["infra", "up", "1", tmp_path / "missing.json", "--home", tmp_path, "-a", "dsp"]), "missing.json")


def test_status_with_no_workloads(tmp_path: Path) -> None:
    make_keystores(tmp_path, "dsp")
    out = ok(invoke(["infra", "status", "--home", tmp_path, "-a", "dsp"], env={"DATAGORA_PASSWORD": None}))
    assert "no workloads on this machine" in out


@pytest.mark.slow
def test_up_status_down_through_the_command_line(tmp_path: Path) -> None:
    address = make_keystores(tmp_path, "dsp")["dsp"]
    owner = Participant(
        "dsp", load_keystore(tmp_path / "keystores" / "dsp.json", PASSWORD), Home(tmp_path).participant("dsp").root
    )
    table = tmp_path / "tumours.csv"
    write_table(table)
    prepared = prepare(owner, table)
    spec_file = tmp_path / "workload.json"
    spec_file.write_text(json.dumps(spec_doc(address, "0x" + prepared.description.content_hash.hex())))
    try:
        out = ok(invoke(["infra", "up", "4", spec_file, "--home", tmp_path, "-a", "dsp"]))
        assert "tumour-averages is running as PID" in out and "benign" in out and "rare" not in out
        out = ok(invoke(["infra", "status", "--dao", "4", "--home", tmp_path, "-a", "dsp"]))
        assert "tumour-averages (collaboration #4): running" in out
    finally:
        out = ok(invoke(["infra", "down", "4", "tumour-averages", "--home", tmp_path, "-a", "dsp"]))
    assert "tumour-averages stopped after" in out
    assert "stopped, no process" in ok(invoke(["infra", "status", "--home", tmp_path, "-a", "dsp"]))
