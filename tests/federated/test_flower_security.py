"""Flower's own TLS and SuperNode authentication on a real SuperLink (slow: Flower processes on 127.0.0.1).

The SuperLink speaks only TLS, with a certificate that verifies under the run's CA and no other; a SuperNode whose
key was registered joins with the node id Flower gave that key, and one whose key was not registered is refused
and exits."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.federated import federation
from datagora.federated.credentials import write_node_key
from datagora.federated.environment import ensure

pytestmark = pytest.mark.slow


def _wait(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return True
        time.sleep(0.3)
    return False


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[federation.Federation, Path]]:
    root = tmp_path_factory.mktemp("flower-security")
    data = root / "rows.csv"
    data.write_text("a,b,label\n1,2,0\n3,4,1\n")
    with federation.Federation(ensure(), root / "run", warm=False) as fed:
        fed.start_superlink(timeout=120)
        yield fed, data


def test_the_superlink_speaks_tls_with_the_runs_certificate_only(
    link: tuple[federation.Federation, Path],
) -> None:
    fed, _ = link
    trusting = ssl.create_default_context(cafile=str(fed.tls.ca_certificate))
    with (
        socket.create_connection((federation.HOST, fed.port), timeout=10) as raw,
        trusting.wrap_socket(raw, server_hostname=federation.HOST) as tls,
    ):
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        names = {v for _, v in tls.getpeercert()["subjectAltName"]}  # type: ignore[index, misc]
        assert names == {"localhost", "127.0.0.1"}
    system_roots = ssl.create_default_context()
    with (
        socket.create_connection((federation.HOST, fed.port), timeout=10) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        system_roots.wrap_socket(raw, server_hostname=federation.HOST)
    with socket.create_connection((federation.HOST, fed.port), timeout=10) as raw:  # plain HTTP gets no answer
        raw.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        raw.settimeout(10)
        try:
            answer = raw.recv(64)
        except (ConnectionResetError, TimeoutError):
            answer = b""
        assert not answer.startswith(b"HTTP/")


def _impostor(fed: federation.Federation, claims: str, data: Path, root: Path) -> subprocess.Popen[bytes]:
    """A SuperNode with a key of its own (not registered) that claims to be ``claims`` in its configuration."""
    key = write_node_key(root / "impostor", "supernode")
    return subprocess.Popen(
        [
            str(fed.env.program("flower-supernode")),
            "--root-certificates",
            str(fed.tls.ca_certificate),
            "--auth-supernode-private-key",
            str(key.private_key),
            "--superlink",
            f"{federation.HOST}:{fed.port}",
            "--port",
            str(federation.free_port()),
            "--node-config",
            f'owner="{claims}" data-file="{data}"',
        ],
        stdin=subprocess.DEVNULL,
        stdout=(root / "impostor.log").open("wb"),
        stderr=subprocess.STDOUT,
        env=fed._env,
        start_new_session=True,
    )


def test_only_a_supernode_with_a_registered_key_is_let_in(link: tuple[federation.Federation, Path]) -> None:
    fed, data = link
    member = federation.Owner("0x" + "11" * 20, data, write_node_key(data.parent / "member", "supernode"))  # its own
    stranger = federation.Owner("0x" + "22" * 20, data)  # a key made for the run, never registered
    registered = fed.register_nodes([member], timeout=120)
    assert list(registered.values()) == [member.address.lower()]
    assert fed.node_key(member) == member.node_key  # the owner's own key was registered, not a new one
    (node_id,) = registered
    fed.start_supernode(member)
    fed.start_supernode(stranger)
    impostor = _impostor(fed, member.address.lower(), data, data.parent)  # the member's name, not its key
    try:
        assert _wait(lambda: fed.nodes[stranger.address.lower()].popen.poll() is not None, 120), "stranger let in"
        assert fed.refused_nodes() == [stranger.address.lower()]
        assert impostor.wait(120) != 0
        assert "Failed to activate SuperNode" in (data.parent / "impostor.log").read_text(errors="replace")
    finally:
        if impostor.poll() is None:
            os.killpg(impostor.pid, signal.SIGKILL)
            impostor.wait()
    member_log = fed.nodes[member.address.lower()].log
    assert _wait(lambda: f"SuperNode ID: {node_id}" in member_log.read_text(errors="replace"), 120)
    assert fed.nodes[member.address.lower()].popen.poll() is None  # still connected
    link_log = fed.processes[0].log.read_text(errors="replace")
    assert link_log.count("No SuperNode found with the given public key") >= 2  # the stranger and the impostor
