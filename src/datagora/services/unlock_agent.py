"""The unlock agent: a small local process that keeps decrypted account keys in memory for a limited time, so that
commands need neither the password nor the keystore's slow key derivation (scrypt, ~0.8 s at eth-account's
default work factor) until the key expires or is locked. It works like ``ssh-agent`` and ``gpg-agent``.

- ``datagora account unlock NAME --for 15m`` decrypts the keystore once and hands the key to the agent of the
  home, starting it when none runs; ``datagora account lock [NAME]`` forgets keys at once.
- The agent listens on a Unix domain socket, ``<home>/agent/agent.sock`` (:attr:`datagora.home.Home.agent_socket`).
  Its folder is mode 0700 and the socket 0600, both owned by the user. The client checks that before it connects.
  The agent checks each caller's user id with the kernel's ``SO_PEERCRED`` and answers only its own user.
- A key is handed back only to that same user (:func:`fetch`). It is never written to disk: the agent process
  also marks itself non-dumpable (Linux ``prctl(PR_SET_DUMPABLE, 0)``), so no core file or other process of the
  user can read its memory through ``ptrace``.
- Each key has its own expiry. An expired key is wiped at once, and the agent exits (removing its socket) when it
  holds no key.

Protocol: one request per connection, one JSON object per line each way (UTF-8). Requests are
``{"op": "add", "account", "address", "key" (hex), "seconds"}``, ``{"op": "get", "account"}``,
``{"op": "lock", "account" (null: all)}``, ``{"op": "list"}`` and ``{"op": "stop"}``. Answers carry
``"ok": true`` or ``"ok": false`` with an ``"error"`` in words. Times (``expires_at``) are Unix seconds.

The module uses the standard library only, so the agent starts in a few tens of milliseconds. Run the agent
with ``python -m datagora.services.unlock_agent SOCKET``; it prints ``ready PID`` once it listens.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datagora.domain.errors import DatagoraError, ValidationError

MAX_SECONDS = 24 * 3600
"""Longest time a key may stay unlocked (seconds)."""
DEFAULT_SECONDS = 15 * 60
"""How long ``datagora account unlock`` keeps a key without ``--for`` (seconds)."""
TIMEOUT = 5.0
"""Seconds the client waits for the agent to answer (or to start)."""
_MAX_MESSAGE = 64 * 1024
_SUN_PATH_MAX = 100  # sockaddr_un.sun_path holds 108 bytes on Linux; longer paths go through /proc/self/fd
_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)?\s*$", re.I)


class AgentError(DatagoraError):
    """The unlock agent could not be used; the message says why and what to do."""


class AgentUnsafe(AgentError):
    """The agent's socket or folder is not private to the user (wrong owner or mode): it is not used."""


class AgentGone(AgentError):
    """The agent stopped while answering (killed, or crashed)."""


@dataclass(frozen=True)
class Unlocked:
    """An account the agent holds: keystore name, address (EIP-55) and when it locks (Unix seconds)."""

    account: str
    address: str
    expires_at: float


def parse_duration(text: str) -> int:
    """Seconds in ``text``: a whole number with an optional unit, e.g. ``90``, ``90s``, ``15m``, ``2h``, ``1d``.
    Raises :class:`ValidationError` unless it is between 1 second and :data:`MAX_SECONDS` (24 hours)."""
    found = _DURATION.match(text)
    if not found:
        raise ValidationError(f"cannot read the duration {text!r}: give e.g. 90s, 15m or 2h")
    number, unit = int(found.group(1)), (found.group(2) or "s").lower()
    seconds = number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit[0]]
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValidationError(f"the duration must be between 1 second and 24 hours, not {text.strip()}")
    return seconds


def disabled() -> bool:
    """Whether the environment turns the agent off for this process (``DATAGORA_AGENT=off``)."""
    return os.environ.get("DATAGORA_AGENT", "").strip().lower() in ("off", "0", "no", "false")


# -- checks and addresses -------------------------------------------------------------------------------------


def _check_private(path: Path, st: os.stat_result, what: str) -> None:
    if st.st_uid != os.getuid():
        raise AgentUnsafe(
            f"the unlock agent's {what} {path} belongs to another user (uid {st.st_uid}): it is not used; "
            "remove it and unlock again"
        )
    if st.st_mode & 0o077:
        raise AgentUnsafe(
            f"the unlock agent's {what} {path} can be used by other users (mode {stat.S_IMODE(st.st_mode):04o}): "
            f"it is not used; run `chmod {'700' if what == 'folder' else '600'} {path}` or remove it"
        )


def check_folder(folder: Path, *, create: bool = False) -> None:
    """Check that the agent's ``folder`` is a directory of this user that no one else may enter (creating it,
    mode 0700, when ``create``). Raises :class:`AgentUnsafe` otherwise, ``FileNotFoundError`` when absent."""
    if create:
        folder.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=0o700)
    st = folder.lstat()
    if not stat.S_ISDIR(st.st_mode):
        raise AgentUnsafe(f"the unlock agent's folder {folder} is not a folder: it is not used; remove it")
    _check_private(folder, st, "folder")


def check_socket(path: Path) -> None:
    """Check that ``path`` is a Unix socket of this user with mode 0600 (nothing for group or others) in a private
    folder. Raises :class:`AgentUnsafe` otherwise, ``FileNotFoundError`` when there is no socket."""
    check_folder(path.parent)
    st = path.lstat()
    if not stat.S_ISSOCK(st.st_mode):
        raise AgentUnsafe(f"the unlock agent's socket {path} is not a socket: it is not used; remove it")
    _check_private(path, st, "socket")


@contextlib.contextmanager
def _address(path: Path) -> Iterator[str]:
    """A ``sun_path`` for ``path``: itself, or ``/proc/self/fd/N/NAME`` through an open descriptor of its folder when
    the path is too long for a socket address (deep temporary folders)."""
    if len(os.fsencode(path)) <= _SUN_PATH_MAX:
        yield str(path)
        return
    fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


def peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end of a connected Unix socket (Linux ``SO_PEERCRED``); None where
    the system has no such option (the socket's mode 0600 in a 0700 folder then keeps other users out)."""
    if not hasattr(socket, "SO_PEERCRED"):  # pragma: no cover - not Linux
        return None
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


# -- the client ----------------------------------------------------------------------------------------------


def _read_line(conn: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if len(data) > _MAX_MESSAGE:
            raise ValueError("message too long")
    return data


def request(path: Path, message: dict[str, Any], *, timeout: float = TIMEOUT) -> dict[str, Any] | None:
    """Send ``message`` to the agent at socket ``path`` and return its answer; None when no agent runs there (no
    socket, or a socket left by an agent that is gone, which is then removed).

    Raises:
        AgentUnsafe: the socket or its folder is not private to this user.
        AgentGone: the agent closed the connection or died before answering.
        AgentError: the agent refused the request (its reason in the message).
    """
    try:
        check_socket(path)
    except FileNotFoundError:
        return None
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(timeout)
    try:
        with _address(path) as where:
            try:
                conn.connect(where)
            except (ConnectionRefusedError, FileNotFoundError):
                with contextlib.suppress(OSError):
                    path.unlink()  # an agent that was killed leaves its socket behind
                return None
        try:
            # an agent that refuses this user answers and hangs up before reading: its answer is read below
            with contextlib.suppress(BrokenPipeError):
                conn.sendall(json.dumps(message).encode() + b"\n")
            raw = _read_line(conn)
        except (ConnectionError, TimeoutError, OSError) as exc:
            raise AgentGone(f"the unlock agent stopped answering ({exc.__class__.__name__})") from None
    finally:
        conn.close()
    if not raw.endswith(b"\n"):
        raise AgentGone("the unlock agent stopped before it answered (was it killed?)")
    try:
        answer = json.loads(raw)
    except ValueError:
        raise AgentError("the unlock agent answered something that is not JSON") from None
    if not isinstance(answer, dict):
        raise AgentError("the unlock agent answered something unexpected")
    if not answer.get("ok"):
        raise AgentError(f"the unlock agent refused: {answer.get('error', 'no reason given')}")
    return answer


def fetch(path: Path, account: str) -> tuple[bytes, str] | None:
    """The private key (32 bytes) and address of ``account`` from the agent at ``path``; None when no agent runs
    or it does not hold that account (never unlocked, expired or locked). Raises as :func:`request`."""
    answer = request(path, {"op": "get", "account": account})
    if answer is None or not answer.get("key"):
        return None
    try:
        key = bytes.fromhex(str(answer["key"]))
    except ValueError:
        raise AgentError("the unlock agent answered a malformed key") from None
    return key, str(answer.get("address", ""))


def unlocked(path: Path) -> list[Unlocked]:
    """The accounts the agent at ``path`` holds (none when no agent runs). Raises as :func:`request`."""
    answer = request(path, {"op": "list"})
    if answer is None:
        return []
    return [Unlocked(str(a["account"]), str(a["address"]), float(a["expires_at"])) for a in answer["accounts"]]


def lock(path: Path, account: str | None = None) -> list[str]:
    """Make the agent at ``path`` forget ``account`` (None: every account); returns the names it forgot (the
    agent exits once it holds none). Raises as :func:`request`."""
    answer = request(path, {"op": "lock", "account": account})
    return [] if answer is None else [str(a) for a in answer["locked"]]


def start(path: Path, *, timeout: float = TIMEOUT) -> int:
    """Start an agent listening on ``path`` in its own session (it outlives the command) and wait until it listens;
    returns its process id. Raises :class:`AgentError` when it does not start."""
    check_folder(path.parent, create=True)
    proc = subprocess.Popen(
        [sys.executable, "-m", "datagora.services.unlock_agent", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
    )
    assert proc.stdout is not None and proc.stderr is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    line = proc.stdout.readline().decode(errors="replace").strip() if ready else ""
    proc.stdout.close()
    if not line.startswith("ready "):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        why = proc.stderr.read().decode(errors="replace").strip().splitlines() if proc.poll() is not None else []
        proc.stderr.close()
        raise AgentError(f"the unlock agent did not start{': ' + why[-1] if why else ''}")
    proc.stderr.close()
    return int(line.split()[1])


def add(path: Path, account: str, address: str, key: bytes, seconds: int) -> Unlocked:
    """Hand ``key`` (32 bytes) of ``account`` to the agent at ``path`` for ``seconds``, starting the agent when none
    runs. Raises :class:`ValidationError` for a bad duration, else as :func:`request` and :func:`start`."""
    if not 1 <= seconds <= MAX_SECONDS:
        raise ValidationError("the duration must be between 1 second and 24 hours")
    message = {"op": "add", "account": account, "address": address, "key": key.hex(), "seconds": seconds}
    answer = request(path, message)
    if answer is None:
        try:
            start(path)
        except AgentError:
            if request(path, {"op": "list"}) is None:  # none started meanwhile by another command either
                raise
        answer = request(path, message)
        if answer is None:
            raise AgentError("the unlock agent started but does not answer")
    return Unlocked(account, address, float(answer["expires_at"]))


# -- the agent ------------------------------------------------------------------------------------------------


@dataclass
class _Held:
    address: str
    key: bytearray
    deadline: float  # Agent.clock()
    expires_at: float  # time.time()

    def wipe(self) -> None:
        self.key[:] = bytes(len(self.key))


class Agent:
    """The agent's state and request handling: account name → key, each with its deadline. ``allowed_uid`` is the
    only user it answers (default: its own); ``clock`` measures the time keys are held (seconds)."""

    def __init__(
        self, path: Path, *, allowed_uid: int | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.path = path
        self.clock = clock
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.keys: dict[str, _Held] = {}
        self.stopping = False
        self.held_any = False

    def expire(self) -> None:
        now = self.clock()
        for name in [n for n, h in self.keys.items() if h.deadline <= now]:
            self.keys.pop(name).wipe()

    def next_deadline(self) -> float | None:
        return min((h.deadline for h in self.keys.values()), default=None)

    def handle(self, message: Any) -> dict[str, Any]:
        """The answer to one request (see the module docstring)."""
        self.expire()
        if not isinstance(message, dict):
            return {"ok": False, "error": "a request is a JSON object"}
        op = message.get("op")
        if op == "add":
            return self._add(message)
        if op == "get":
            held = self.keys.get(str(message.get("account")))
            if held is None:
                return {"ok": True, "key": None}
            return {"ok": True, "key": held.key.hex(), "address": held.address, "expires_at": held.expires_at}
        if op == "list":
            accounts = [
                {"account": n, "address": h.address, "expires_at": h.expires_at} for n, h in sorted(self.keys.items())
            ]
            return {"ok": True, "accounts": accounts}
        if op == "lock":
            wanted = message.get("account")
            names = [n for n in self.keys if wanted is None or n == wanted]
            for name in names:
                self.keys.pop(name).wipe()
            return {"ok": True, "locked": names}
        if op == "stop":
            for held in self.keys.values():
                held.wipe()
            self.keys.clear()
            self.stopping = True
            return {"ok": True}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def _add(self, message: dict[str, Any]) -> dict[str, Any]:
        account, address, seconds = message.get("account"), message.get("address"), message.get("seconds")
        if not isinstance(account, str) or not account or not isinstance(address, str):
            return {"ok": False, "error": "an account name and its address are needed"}
        if not isinstance(seconds, int) or not 1 <= seconds <= MAX_SECONDS:
            return {"ok": False, "error": "the duration must be between 1 second and 24 hours"}
        try:
            key = bytearray.fromhex(str(message.get("key")))
        except ValueError:
            return {"ok": False, "error": "the key is not hex"}
        if len(key) != 32:
            return {"ok": False, "error": "a key is 32 bytes"}
        old = self.keys.pop(account, None)
        if old is not None:
            old.wipe()
        held = _Held(address, key, self.clock() + seconds, time.time() + seconds)
        self.keys[account] = held
        self.held_any = True
        return {"ok": True, "expires_at": held.expires_at}

    def answer(self, conn: socket.socket) -> None:
        """Serve one connection: refuse another user, else read one request and write its answer."""
        conn.settimeout(TIMEOUT)
        try:
            if peer_uid(conn) not in (self.allowed_uid, None):
                reply: dict[str, Any] = {"ok": False, "error": "this agent answers only the user who started it"}
            else:
                try:
                    reply = self.handle(json.loads(_read_line(conn)))
                except ValueError:
                    reply = {"ok": False, "error": "a request is one line of JSON"}
            conn.sendall(json.dumps(reply).encode() + b"\n")
        except OSError:
            pass  # the client went away; nothing to tell it
        finally:
            conn.close()

    def serve(self, *, announce: bool = False) -> None:
        """Listen on the socket until the agent holds no key (after the first was added), is stopped or gets
        SIGTERM / SIGINT; the socket is removed on the way out. ``announce`` prints ``ready PID`` once listening
        and then detaches stdout."""
        check_folder(self.path.parent, create=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with _address(self.path) as where:
            if self.path.exists() or self.path.is_symlink():
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    probe.connect(where)
                    raise AgentError(f"an unlock agent already listens on {self.path}")
                except (ConnectionRefusedError, FileNotFoundError):
                    self.path.unlink(missing_ok=True)  # left by an agent that was killed
                finally:
                    probe.close()
            old = os.umask(0o177)
            try:
                listener.bind(where)
            finally:
                os.umask(old)
        os.chmod(self.path, 0o600)
        bound = self.path.lstat()
        listener.listen(16)
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
            signal.signal(signal.SIGINT, lambda *_: setattr(self, "stopping", True))
        if announce:
            sys.stdout.write(f"ready {os.getpid()}\n")
            sys.stdout.flush()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            os.close(devnull)
        started = time.monotonic()
        try:
            while not self.stopping:
                self.expire()
                if not self.keys and (self.held_any or time.monotonic() - started > TIMEOUT * 2):
                    break  # nothing left to hold (every key expired or was locked), or none ever came
                deadline = self.next_deadline()
                wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - self.clock()))
                ready, _, _ = select.select([listener], [], [], wait)
                if ready:
                    conn, _ = listener.accept()
                    self.answer(conn)
        finally:
            for held in self.keys.values():
                held.wipe()
            self.keys.clear()
            listener.close()
            with contextlib.suppress(OSError):
                st = self.path.lstat()
                if (st.st_ino, st.st_dev) == (bound.st_ino, bound.st_dev):
                    self.path.unlink()


def _not_dumpable() -> None:
    """Linux: no core dumps of this process and no ``ptrace`` by the user's other processes."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        sys.stderr.write("usage: python -m datagora.services.unlock_agent SOCKET\n")
        return 2
    _not_dumpable()
    os.chdir("/")
    try:
        Agent(Path(args[0])).serve(announce=True)
    except (DatagoraError, OSError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
