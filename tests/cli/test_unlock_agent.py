"""The unlock agent (``datagora account unlock`` / ``lock``): keys held in memory by a process of the user, reached
through a private Unix socket in the home, used by commands instead of the password until they expire or are
locked; an agent that cannot be trusted or that stops mid-answer is named and the password is asked for instead."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from datagora.cli.app import open_session
from datagora.domain.errors import ValidationError
from datagora.home import Home
from datagora.services import unlock_agent
from tests.kits.cli_fixtures import PASSWORD, failed, invoke, make_keystores, ok

NO_PASSWORD = {"DATAGORA_PASSWORD": None}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home with keystores ``buyer`` and ``seller``; any agent started in it is stopped afterwards."""
    root = tmp_path / "home"
    make_keystores(root, "buyer", "seller")
    monkeypatch.delenv("DATAGORA_AGENT", raising=False)
    yield root
    sock = Home(root).agent_socket
    if sock.exists():
        try:
            unlock_agent.request(sock, {"op": "stop"})
        except unlock_agent.AgentError:
            with contextlib.suppress(OSError):
                os.kill(_pid(root), signal.SIGTERM)


def _participant_without_password(root: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The address of ``name``'s key as a command gets it with no password and no terminal."""
    monkeypatch.delenv("DATAGORA_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    return str(open_session(root, None, name).participant().account.address)


def _wait_gone(path: Path, seconds: float = 5.0) -> bool:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not path.exists():
            return True
        time.sleep(0.05)
    return False


def _wait_exited(pid: int, seconds: float = 5.0) -> bool:
    """Whether process ``pid`` ends within ``seconds`` (a zombie waiting for this test process to reap it counts
    as ended)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def _pid(root: Path) -> int:
    """The agent's process id, from the kernel (the peer of a connection to its socket)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(Home(root).agent_socket))
    try:
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        return int.from_bytes(creds[:4], "little")
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), (" 5 min ", 300)]
)
def test_durations_are_read_in_plain_units(text: str, seconds: int) -> None:
    assert unlock_agent.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0", "25h", "2 weeks", "-5m", "soon", ""])
def test_a_duration_outside_one_second_to_a_day_is_refused(text: str) -> None:
    with pytest.raises(ValidationError, match="duration"):
        unlock_agent.parse_duration(text)


def test_keys_expire_one_by_one_and_are_wiped(tmp_path: Path) -> None:
    now = [1000.0]
    agent = unlock_agent.Agent(tmp_path / "a.sock", clock=lambda: now[0])
    key = bytes(range(1, 33))
    assert agent.handle({"op": "add", "account": "a", "address": "0xA", "key": key.hex(), "seconds": 10})["ok"]
    assert agent.handle({"op": "add", "account": "b", "address": "0xB", "key": key.hex(), "seconds": 60})["ok"]
    held_a = agent.keys["a"]
    now[0] += 10.5
    assert agent.handle({"op": "get", "account": "a"}) == {"ok": True, "key": None}
    assert held_a.key == bytearray(32), "an expired key is overwritten in memory"
    assert agent.handle({"op": "get", "account": "b"})["key"] == key.hex()
    assert [a["account"] for a in agent.handle({"op": "list"})["accounts"]] == ["b"]
    assert agent.handle({"op": "add", "account": "c", "address": "0xC", "key": "00" * 31, "seconds": 5}) == {
        "ok": False,
        "error": "a key is 32 bytes",
    }
    assert not agent.handle({"op": "add", "account": "c", "address": "0xC", "key": key.hex(), "seconds": 90_000})["ok"]


def test_unlock_serves_the_key_to_commands_until_locked(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    addresses = {n: str(open_session(home, None, n).address()) for n in ("buyer", "seller")}
    out = ok(invoke(["account", "unlock", "buyer", "--for", "10m", "--home", home]))
    assert "buyer" in out and "unlocked until" in out
    ok(invoke(["account", "unlock", "seller", "--for", "10m", "--home", home]))
    sock = Home(home).agent_socket
    assert oct(sock.stat().st_mode & 0o777) == "0o600" and oct(sock.parent.stat().st_mode & 0o777) == "0o700"
    assert not any(PASSWORD.encode() in p.read_bytes() for p in sock.parent.iterdir() if p.is_file())
    listed = ok(invoke(["account", "list", "--home", home]))
    assert listed.count("until") == 2

    assert _participant_without_password(home, "buyer", monkeypatch) == addresses["buyer"]
    assert "locked buyer" in ok(invoke(["account", "lock", "buyer", "--home", home]))
    with pytest.raises(ValidationError, match=r"DATAGORA_PASSWORD.*account unlock buyer"):
        _participant_without_password(home, "buyer", monkeypatch)
    assert _participant_without_password(home, "seller", monkeypatch) == addresses["seller"]

    pid = _pid(home)
    assert "locked seller" in ok(invoke(["account", "lock", "--home", home]))
    assert _wait_gone(sock), "the agent removes its socket once it holds no key"
    assert _wait_exited(pid), "the agent exits once it holds no key"
    assert "no account was unlocked" in ok(invoke(["account", "lock", "--home", home]))


def test_an_unlocked_key_expires(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ok(invoke(["account", "unlock", "buyer", "--for", "1s", "--home", home]))
    sock = Home(home).agent_socket
    assert unlock_agent.fetch(sock, "buyer") is not None
    assert _wait_gone(sock, 4.0), "the agent exits when its last key expires"
    assert unlock_agent.fetch(sock, "buyer") is None
    with pytest.raises(ValidationError, match="DATAGORA_PASSWORD"):
        _participant_without_password(home, "buyer", monkeypatch)


def test_unlock_needs_the_right_password_and_a_sane_duration(home: Path) -> None:
    failed(invoke(["account", "unlock", "buyer", "--home", home], {"DATAGORA_PASSWORD": "wrong"}), "password")
    failed(invoke(["account", "unlock", "buyer", "--for", "2 weeks", "--home", home]), "duration")
    failed(invoke(["account", "unlock", "nobody", "--home", home]), "does not exist")
    assert not Home(home).agent_socket.exists(), "nothing was started"


def test_a_socket_open_to_others_or_owned_by_another_user_is_not_used(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(invoke(["account", "unlock", "buyer", "--home", home]))
    sock = Home(home).agent_socket
    sock.chmod(0o666)
    with pytest.raises(unlock_agent.AgentUnsafe, match=r"other users.*0666"):
        unlock_agent.fetch(sock, "buyer")
    result = invoke(["account", "list", "--home", home])
    assert result.exit_code == 0 and "warning:" in result.stderr and "0666" in result.stderr
    sock.chmod(0o600)

    sock.parent.chmod(0o755)
    with pytest.raises(unlock_agent.AgentUnsafe, match="folder"):
        unlock_agent.fetch(sock, "buyer")
    # the command falls back to the password, and says why
    monkeypatch.setenv("DATAGORA_PASSWORD", PASSWORD)
    s = open_session(home, None, "buyer")
    assert s.participant().account.address == s.address()
    sock.parent.chmod(0o700)

    real_uid = os.getuid()
    with monkeypatch.context() as patched:
        patched.setattr(unlock_agent.os, "getuid", lambda: real_uid + 1)
        with pytest.raises(unlock_agent.AgentUnsafe, match="another user"):
            unlock_agent.fetch(sock, "buyer")


def test_the_agent_answers_only_its_own_user(tmp_path: Path) -> None:
    folder = tmp_path / "agent"
    agent = unlock_agent.Agent(folder / "agent.sock", allowed_uid=os.getuid() + 1)
    thread = threading.Thread(target=agent.serve, daemon=True)
    thread.start()
    try:
        end = time.monotonic() + 5
        while not (folder / "agent.sock").exists() and time.monotonic() < end:
            time.sleep(0.01)
        with pytest.raises(unlock_agent.AgentError, match="only the user who started it"):
            unlock_agent.request(folder / "agent.sock", {"op": "list"})
    finally:
        agent.stopping = True
        thread.join(5)
    assert not (folder / "agent.sock").exists()


def test_an_agent_that_stops_mid_answer_is_named_and_the_password_used(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sock = Home(home).agent_socket
    unlock_agent.check_folder(sock.parent, create=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(sock))
    sock.chmod(0o600)
    listener.listen(1)

    def hang_up() -> None:  # reads the request, then dies without answering
        conn, _ = listener.accept()
        conn.recv(4096)
        conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    try:
        result = invoke(["account", "list", "--home", home])
        assert result.exit_code == 0, result.stderr
        assert "warning: the unlock agent stopped before it answered" in result.stderr
    finally:
        listener.close()


def test_a_killed_agent_leaves_a_clear_path_back_to_the_password(home: Path) -> None:
    ok(invoke(["account", "unlock", "buyer", "--home", home]))
    sock = Home(home).agent_socket
    os.kill(_pid(home), signal.SIGKILL)
    time.sleep(0.1)
    assert sock.exists(), "a killed agent cannot remove its socket"
    message = failed(
        invoke(["account", "unlock", "buyer", "--home", home, "--for", "1m"], NO_PASSWORD),
        "DATAGORA_PASSWORD",
    )
    assert "account unlock buyer" in message
    assert unlock_agent.fetch(sock, "buyer") is None
    assert not sock.exists(), "the stale socket is cleared"


def test_a_home_deeper_than_a_socket_address_allows_still_works(tmp_path: Path) -> None:
    root = tmp_path.joinpath(*["a-rather-long-folder-name"] * 5) / "home"
    make_keystores(root, "buyer")
    sock = Home(root).agent_socket
    assert len(str(sock)) > 108, "longer than sockaddr_un.sun_path"
    ok(invoke(["account", "unlock", "buyer", "--for", "1m", "--home", root]))
    try:
        found = unlock_agent.fetch(sock, "buyer")
        assert found is not None and found[1] == open_session(root, None, "buyer").address()
    finally:
        assert unlock_agent.lock(sock) == ["buyer"]
