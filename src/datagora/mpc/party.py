"""One MPyC party of the points computation, run as its own OS process by :mod:`datagora.mpc.session`.

Usage (by the session, not by people): ``python -m datagora.mpc.party -P host:port ... -I <index> [--ssl]``
with one JSON line on standard input: ``{"input": <points or null>, "repeat": <n>, "record": <bool>,
"fail_after_input": <bool>, "pause_after_input": <seconds>, "watch_parent": <bool>}``. With ``watch_parent``
the party keeps reading standard input and exits (status 4) as soon as it closes (the node that started it went
away). Party 0 (the brand) inputs A, party 1 (the platform) inputs B, party 2 (the MPC
platform) has no input. Writes one JSON line on standard output: ``{"score", "tier", "seconds", "cpu_seconds",
"bytes_sent", "received"}`` where ``seconds`` are the protocol's seconds per evaluation (``cpu_seconds`` this
process's CPU time in each) and ``received`` (when recording) every payload received from each peer with its
program counter, as hex. The private input travels on standard input only (never on the command line, which
other users of the machine can read). Exit status 2: invalid input.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from typing import Any

from datagora.domain.errors import ValidationError
from datagora.mpc.points import BIT_LENGTH, check_points, circuit, party_inputs, runtime

BRAND, PLATFORM, HELPER = 0, 1, 2
ROLE_NAMES = ("brand", "platform", "MPC platform")


def _record_receipts(received: list[tuple[int, int, str]]) -> None:
    """Wrap MPyC's ``MessageExchanger.receive`` so every payload this party receives is appended to
    ``received`` as ``(peer index, program counter, hex)``; the program counter labels the message's place in
    the program (the same in every run), the order of arrival may vary."""
    from mpyc import asyncoro

    original = asyncoro.MessageExchanger.receive

    def receive(self: Any, pc: int) -> Any:
        payload = original(self, pc)
        slot = len(received)
        peer = self.peer_pid
        received.append((peer, pc, ""))
        if isinstance(payload, bytes | bytearray):
            received[slot] = (peer, pc, bytes(payload).hex())
        else:
            payload.add_done_callback(lambda fut: received.__setitem__(slot, (peer, pc, fut.result().hex())))
        return payload

    asyncoro.MessageExchanger.receive = receive


def _shared_inputs(mpc: Any, secint: Any, pid: int, values: list[int] | None, size: int) -> tuple[Any, Any]:
    """Share the brand's and the platform's inputs (:func:`~datagora.mpc.points.party_inputs` of each member's
    points, as secure arrays of shape (2, ``size``)); ``values`` are this party's points per member (None for the
    MPC platform)."""
    import numpy as np  # here, not at the top: a node that imports this module never pays for NumPy

    if values is not None and pid in (BRAND, PLATFORM):
        mine = np.array([party_inputs(pid, v) for v in values], dtype=object).T
    else:
        mine = np.zeros((2, size), dtype=object)
    ignored = np.zeros((2, size), dtype=object)
    a = mpc.input(secint.array(mine if pid == BRAND else ignored), senders=BRAND)
    b = mpc.input(secint.array(mine if pid == PLATFORM else ignored), senders=PLATFORM)
    return a, b


async def _run(mpc: Any, request: dict[str, Any]) -> dict[str, Any]:
    pid = mpc.pid
    value = request.get("input")
    secint = mpc.SecInt(BIT_LENGTH)
    await mpc.start()
    seconds: list[float] = []
    cpu_seconds: list[float] = []
    score = tier = -1
    if "batch_size" in request:
        return await _run_batch(mpc, request)
    for _ in range(int(request.get("repeat", 1))):
        started, cpu_started = time.perf_counter(), time.process_time()
        a, b = _shared_inputs(mpc, secint, pid, None if value is None else [value], 1)
        if request.get("pause_after_input"):
            await mpc.barrier()
            await asyncio.sleep(float(request["pause_after_input"]))  # tests: a window to stop a node mid-protocol
        if request.get("fail_after_input"):
            await mpc.barrier()
            await asyncio.sleep(0.05)
            os._exit(3)  # a party vanishing mid-protocol (tests)
        score, tier = await circuit(mpc, a, b)
        seconds.append(time.perf_counter() - started)
        cpu_seconds.append(time.process_time() - cpu_started)
    bytes_sent = sum(p.protocol.nbytes_sent for p in mpc.parties if p.pid != pid and p.protocol is not None)
    await mpc.shutdown()
    field = secint.field
    return {
        "pid": pid,
        "score": score,
        "tier": tier,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "modulus": int(field.modulus),
        "byte_length": int(field.byte_length),
        "bytes_sent": bytes_sent,
    }


async def _run_batch(mpc: Any, request: dict[str, Any]) -> dict[str, Any]:
    """Many members at once: the input parties input lists; every comparison of every member runs in parallel."""
    pid, size = mpc.pid, int(request["batch_size"])
    secint = mpc.SecInt(BIT_LENGTH)
    values: list[int] | None = request.get("input")
    started = time.perf_counter()
    a, b = _shared_inputs(mpc, secint, pid, values, size)
    opened = await circuit(mpc, a, b)
    seconds = time.perf_counter() - started
    await mpc.shutdown()
    return {
        "pid": pid,
        "scores": [int(v) for v in opened[:size]],
        "tiers": [int(v) for v in opened[size:]],
        "seconds": [seconds],
    }


def _exit_when_parent_goes() -> None:
    """Read standard input to its end (the parent holds it open while it lives), then exit at once."""
    while sys.stdin.readline():
        pass
    os._exit(4)


def main() -> int:
    """Run one party; see the module docstring."""
    request = json.loads(sys.stdin.readline())
    options = sys.argv[1:]
    index = int(options[options.index("-I") + 1])
    try:
        if index in (BRAND, PLATFORM) and "batch_size" in request:
            request["input"] = [check_points(v, ROLE_NAMES[index]) for v in request.get("input") or []]
            if len(request["input"]) != int(request["batch_size"]):
                raise ValidationError("the batch's inputs and its size differ")
        elif index in (BRAND, PLATFORM):
            request["input"] = check_points(request.get("input"), ROLE_NAMES[index])
        elif request.get("input") is not None:
            raise ValidationError("the MPC platform has no input")
    except ValidationError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if request.get("watch_parent"):
        threading.Thread(target=_exit_when_parent_goes, daemon=True).start()
    received: list[tuple[int, int, str]] = []
    if request.get("record"):
        _record_receipts(received)
    mpc = runtime([*options, "--no-log", "--mix32-64bit"])  # fixed-width field elements, never pickle
    out = mpc.run(_run(mpc, request))
    out["received"] = received if request.get("record") else None
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
