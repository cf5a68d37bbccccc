"""Wall time of routine ``datagora`` commands against Anvil, each a fresh process as a person runs it, and where
the time goes (interpreter start, imports, keystore decryption, JSON-RPC requests).

    python benchmarks/cli_latency.py [--before COMMIT] [--runs 5] [--json out.json]
    python benchmarks/cli_latency.py [--src LABEL=DIR ...] [--agent LABEL ...] [--runs 5] [--json out.json]
    python benchmarks/cli_latency.py --compare out.json

``--src`` names a checkout's ``src`` directory whose ``datagora`` is timed (default: this checkout's); give two
to compare, e.g. the code before a change: ``git archive <commit> src | tar -x -C /tmp/old`` then
``--src before=/tmp/old/src --src after=src``. Their runs are interleaved on one Anvil world (set up with the
last checkout), so a machine busy with other work slows both alike. Without ``--src`` this checkout is timed
twice: ``after`` with the password (scrypt on every signing command) and ``after + agent`` with the accounts unlocked
in the unlock agent (``datagora account unlock``); ``--before COMMIT`` adds that commit's ``src`` (``git archive``)
as ``before``. ``--agent LABEL`` unlocks the accounts for that label's runs (the others run with
``DATAGORA_AGENT=off``).
Keystores use eth-account's default scrypt work factor (2^18), as ``datagora account new`` writes them.

Commands timed: ``search``, ``buy``, ``orders``, ``balance``. A checkout without ``orders`` / ``balance`` (they
were added with the command groups) is timed on the closest commands it has: ``audit`` for ``orders`` (both
scan the Market's events) and ``withdraw`` for ``balance`` (both read what the Market owes the account; the old
``withdraw`` also unlocks the keystore and sends a transaction). Each ``buy`` and ``withdraw`` runs between an
``evm_snapshot`` and an ``evm_revert`` so every run does the same work.

JSON-RPC requests are counted through a small counting proxy in front of Anvil (one extra run per command), which
also adds up the time the node took to answer them. One more run per command under ``python -X importtime`` adds up
the time its imports took. Together with the interpreter's start and the key (scrypt or the agent) they say where
each command's time goes; the rest is the command's own work (argument parsing, ABI coding, printing).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import http.server
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SRC = HERE.parent / "src"
PASSWORD = "benchmark password"
ROUTINE = ("search", "buy", "orders", "balance")
DECRYPT = (
    "import json, sys, time; from eth_account import Account\n"
    "doc = json.load(open(sys.argv[1])); t = time.perf_counter(); Account.decrypt(doc, sys.argv[2])\n"
    "print(time.perf_counter() - t)"
)


def _cli(
    src: Path,
    home: Path,
    url: str,
    *args: str,
    check: bool = True,
    extra_env: dict[str, str] | None = None,
    python_flags: tuple[str, ...] = (),
) -> tuple[float, float, str, str]:
    """Run ``python -m datagora ARGS --home HOME --rpc-url URL``; returns (wall seconds, CPU seconds of the
    process (user + system, all its threads), stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATAGORA_")}
    env.update(PYTHONPATH=str(src), DATAGORA_PASSWORD=PASSWORD, COLUMNS="200", **(extra_env or {}))
    cmd = [sys.executable, *python_flags, "-m", "datagora", *args, "--home", str(home), "--rpc-url", url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL)
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if check and proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return took, cpu, proc.stdout, proc.stderr


def _import_seconds(importtime: str) -> float:
    """Seconds spent importing, from ``python -X importtime``'s report: the sum of the top-level imports'
    cumulative times (those that ``site`` loads at start are counted as interpreter start instead)."""
    total = 0
    for line in importtime.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, name = line.split("|")
        if not cumulative.strip().isdigit() or name.startswith("  ") or name.strip() in ("site", "encodings"):
            continue
        total += int(cumulative)
    return total / 1e6


def _python(src: Path, code: str) -> float:
    env = {**os.environ, "PYTHONPATH": str(src)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True)
    return time.perf_counter() - start


def _has_command(src: Path, name: str) -> bool:
    env = {**os.environ, "PYTHONPATH": str(src), "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "datagora", name, "--help"], capture_output=True, text=True, env=env, check=False
    )
    return proc.returncode == 0


def _rpc(url: str, method: str, params: list[Any]) -> Any:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["result"]


class CountingProxy:
    """HTTP proxy in front of a JSON-RPC node that counts requests and the JSON-RPC calls in them by method."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests = 0
        self.seconds = 0.0
        self.methods: dict[str, int] = {}
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                doc = json.loads(body)
                proxy.requests += 1
                for call in doc if isinstance(doc, list) else [doc]:
                    proxy.methods[call["method"]] = proxy.methods.get(call["method"], 0) + 1
                req = urllib.request.Request(proxy.target, body, {"Content-Type": "application/json"})
                start = time.perf_counter()
                with urllib.request.urlopen(req, timeout=60) as resp:
                    answer = resp.read()
                proxy.seconds += time.perf_counter() - start
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        self.requests, self.methods, self.seconds = 0, {}, 0.0

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _write_csv(path: Path) -> Path:
    rng = random.Random()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "age", "income", "region"])
        for i in range(40):
            w.writerow([i, rng.randint(18, 90), round(rng.uniform(1e4, 2e5), 2), rng.choice("NESW")])
    return path


def _make_keystores(src: Path, home: Path, names: tuple[str, ...]) -> None:
    code = (
        "import sys; from pathlib import Path; from datagora.crypto import keys\n"
        "for n in sys.argv[2:]:\n"
        "    keys.save_keystore(keys.new_account(), Path(sys.argv[1]) / 'keystores' / f'{n}.json', "
        f"{PASSWORD!r})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", code, str(home), *names], check=True, env=env)


def _argv(src: Path) -> tuple[dict[str, tuple[str, ...]], set[str]]:
    """The command line timed for each routine command on checkout ``src``, and those that write."""
    new = _has_command(src, "orders") and _has_command(src, "balance")
    argv = {
        "search": ("search", "income", "-a", "buyer"),
        "buy": ("buy", "1", "-a", "buyer"),
        "orders": ("orders", "-a", "buyer") if new else ("audit",),
        "balance": ("balance", "-a", "seller") if new else ("withdraw", "-a", "seller"),
    }
    return argv, ({"buy"} if new else {"buy", "balance"})


def _agent_fetch(src: Path, home: Path) -> float:
    """Median seconds to take a key from the unlock agent of ``home`` (0 when checkout ``src`` has none)."""
    code = (
        "import sys, time, statistics; from pathlib import Path\n"
        "try:\n    from datagora.services import unlock_agent\nexcept ImportError:\n    print(0); sys.exit()\n"
        "sock = Path(sys.argv[1]) / 'agent' / 'agent.sock'\n"
        "def once():\n    t = time.perf_counter(); assert unlock_agent.fetch(sock, 'buyer')\n"
        "    return time.perf_counter() - t\n"
        "print(statistics.median(once() for _ in range(20)))"
    )
    env = {**os.environ, "PYTHONPATH": str(src)}
    run = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True, env=env, check=False)
    return float(run.stdout.strip() or 0)


def _parts(src: Path, keystore: Path) -> dict[str, float]:
    def median(code: str) -> float:
        return statistics.median(_python(src, code) for _ in range(3))

    help_code = (
        "import sys, runpy; sys.argv = ['datagora', '--help']\n"
        "try:\n    runpy.run_module('datagora', run_name='__main__')\nexcept SystemExit:\n    pass"
    )
    decrypt = subprocess.run(
        [sys.executable, "-c", DECRYPT, str(keystore), PASSWORD],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(src)},
    )
    return {
        "python start": median("pass"),
        "import web3 + eth_account": median("import web3, eth_account"),
        "import the chain bindings": median("import datagora.chain.contracts"),
        "import the CLI (one group: market)": median(
            "import datagora.cli.main as m\nm.build(('market',)) if hasattr(m, 'build') else m.app"
        ),
        "datagora --help": median(help_code),
        "keystore decryption (scrypt 2^18)": float(decrypt.stdout),
    }


def measure(
    srcs: dict[str, Path],
    runs: int,
    envs: dict[str, dict[str, str]] | None = None,
    agent: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Time each routine command of each checkout in ``srcs`` (label → src directory) on one Anvil world set up
    with the last checkout, the checkouts' runs interleaved so that a busy machine slows them alike. The labels in
    ``agent`` run with the buyer's and the seller's keys in the unlock agent, the others with
    ``DATAGORA_AGENT=off`` (so they decrypt the keystore)."""
    agent = agent or set()
    envs = {label: {**(envs or {}).get(label, {})} for label in srcs}
    for label in srcs:
        if label not in agent:
            envs[label].setdefault("DATAGORA_AGENT", "off")
    setup_src = list(srcs.values())[-1]
    sys.path.insert(0, str(setup_src))
    from datagora.chain.devnode import AnvilNode

    names = ("supervisor", "platform", "seller", "buyer")
    results = {label: {"label": label, "src": str(src), "runs": runs, "commands": {}} for label, src in srcs.items()}
    with (
        tempfile.TemporaryDirectory(prefix="datagora-cli-latency-") as tmp,
        AnvilNode() as node,
        contextlib.ExitStack() as cleanup,
    ):
        home, url = Path(tmp) / "home", node.url
        _make_keystores(setup_src, home, names)

        def run(*args: str) -> None:
            _cli(setup_src, home, url, *args)

        for name in names:
            run("account", "fund", name, "--ether", "100")
        run("deploy", "--supervisor", "supervisor", "--platform", "platform")
        for name, org in (("platform", "Platform"), ("seller", "Acme Data"), ("buyer", "Blue Research")):
            run("org", "register", org, "-a", name)
            run("org", "status", org, "audited", "-a", "supervisor")
        for i in (1, 2):
            data = _write_csv(Path(tmp) / f"income-{i}.csv")
            run("publish", str(data), "--name", f"Income survey {i}", "-a", "seller", "--platform", "platform")
            run("list", str(i), "--price", "0.5", "-a", "seller")
        run("buy", "2", "-a", "buyer")  # order 1: delivered and confirmed, so the seller is owed the price
        run("deliver", "1", "--out", str(Path(tmp) / "outbox"), "-a", "seller")
        run("confirm", "1", "-a", "buyer")
        if agent:
            agent_src = srcs[sorted(agent)[0]]
            cleanup.callback(_cli, agent_src, home, url, "account", "lock", check=False)  # stops the agent
            for name in ("buyer", "seller"):
                _cli(agent_src, home, url, "account", "unlock", name, "--for", "1h")

        plans = {label: _argv(src) for label, src in srcs.items()}
        times: dict[tuple[str, str], list[tuple[float, float, str]]] = {(lab, c): [] for lab in srcs for c in ROUTINE}

        def once(label: str, name: str, target: str, flags: tuple[str, ...] = ()) -> tuple[float, float, str]:
            argv, writes = plans[label]
            snap = _rpc(url, "evm_snapshot", []) if name in writes else None
            wall, cpu, _, err = _cli(srcs[label], home, target, *argv[name], extra_env=envs[label], python_flags=flags)
            if snap is not None:
                _rpc(url, "evm_revert", [snap])
            return wall, cpu, err

        for name in ROUTINE:
            for label in srcs:
                once(label, name, url)  # warms the file cache; not counted
            for _ in range(runs):
                for label in srcs:
                    times[(label, name)].append(once(label, name, url))
        proxy = CountingProxy(url)
        try:
            for label in srcs:
                for name in ROUTINE:
                    proxy.reset()
                    once(label, name, proxy.url)
                    rpc_s = proxy.seconds
                    importtime = once(label, name, url, ("-X", "importtime"))[2]
                    results[label]["commands"][name] = {
                        "argv": " ".join(plans[label][0][name]),
                        "median_s": statistics.median(w for w, _, _ in times[(label, name)]),
                        "min_s": min(w for w, _, _ in times[(label, name)]),
                        "cpu_s": statistics.median(c for _, c, _ in times[(label, name)]),
                        "imports_s": _import_seconds(importtime),
                        "signs": name in plans[label][1],
                        "rpc_s": rpc_s,
                        "http_requests": proxy.requests,
                        "rpc_calls": sum(proxy.methods.values()),
                        "methods": dict(sorted(proxy.methods.items(), key=lambda kv: -kv[1])),
                    }
        finally:
            proxy.close()
        for label, src in srcs.items():
            results[label]["parts"] = _parts(src, home / "keystores" / "buyer.json")
            results[label]["parts"]["key from the unlock agent"] = _agent_fetch(src, home) if label in agent else 0.0
            results[label]["agent"] = label in agent
    return list(results.values())


def show(figures: list[dict[str, Any]]) -> None:
    labels = [f["label"] for f in figures]
    print(
        "median wall time of a fresh process (fastest run), median CPU time of the process (user + system, all"
        " threads), JSON-RPC calls, and the command line timed"
    )
    print(f"{'command':<10}" + "".join(f"{lab:>52}" for lab in labels))
    for name in ROUTINE:
        cells = []
        for f in figures:
            c = f["commands"].get(name)
            cells.append(
                "-"
                if c is None
                else f"{c['median_s']:.2f} s ({c['min_s']:.2f}), cpu {c.get('cpu_s', 0):.2f} s, {c['rpc_calls']} RPC, "
                f"{c['argv'].split()[0]}"
            )
        print(f"{name:<10}" + "".join(f"{cell:>52}" for cell in cells))
    print()
    print(f"{'where the time goes':<36}" + "".join(f"{lab:>16}" for lab in labels))
    for part in figures[0]["parts"]:
        print(f"{part:<36}" + "".join(f"{f['parts'].get(part, 0):>14.3f} s" for f in figures))
    print(
        "\nper command (median wall = python start + imports + key + JSON-RPC + the rest; the key is the keystore's"
        " scrypt, partly overlapping the imports on a second core, or the agent's answer)"
    )
    print(f"{'':<28}{'wall':>8}{'start':>8}{'imports':>9}{'key':>8}{'RPC':>8}{'rest':>8}")
    for f in figures:
        start = f["parts"].get("python start", 0.0)
        for name, c in f["commands"].items():
            if "imports_s" not in c:
                continue
            key = 0.0
            if c.get("signs"):
                key = (
                    f["parts"]["key from the unlock agent"]
                    if f.get("agent")
                    else f["parts"].get("keystore decryption (scrypt 2^18)", 0.0)
                )
            rest = c["median_s"] - start - c["imports_s"] - key - c["rpc_s"]
            print(
                f"{f['label'] + ': ' + name:<28}{c['median_s']:>7.2f}s{start:>7.2f}s{c['imports_s']:>8.2f}s"
                f"{key:>7.2f}s{c['rpc_s']:>7.2f}s{rest:>7.2f}s"
            )
    for f in figures:
        print(f"\n{f['label']}: JSON-RPC calls per command")
        for name, c in f["commands"].items():
            methods = ", ".join(f"{m} {n}" for m, n in c["methods"].items())
            print(f"  {name:<8} {c['argv']:<28} {methods}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--src",
        action="append",
        metavar="LABEL=DIR",
        help="a checkout's src directory to time, e.g. before=/tmp/old/src (repeatable; default: this checkout)",
    )
    parser.add_argument(
        "--env",
        action="append",
        metavar="LABEL:KEY=VALUE",
        help="an environment variable for one checkout's runs, e.g. 'sequential:DATAGORA_EARLY_UNLOCK=0'",
    )
    parser.add_argument(
        "--agent",
        action="append",
        metavar="LABEL",
        help="run this label's commands with the keys in the unlock agent (repeatable; default without --src: "
        "'after + agent')",
    )
    parser.add_argument("--before", metavar="COMMIT", help="also time this commit's src as 'before' (git archive)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command and checkout (after a warm-up)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--compare", type=Path, nargs="+", help="print saved figures side by side, run nothing")
    args = parser.parse_args()
    if args.compare:
        show([f for p in args.compare for f in json.loads(p.read_text())])
        return
    srcs: dict[str, Path] = {}
    agent = set(args.agent or [])
    tmp = tempfile.TemporaryDirectory(prefix="datagora-cli-latency-before-")
    if args.before:
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", args.before, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp.name], input=archive, check=True)
        srcs["before"] = Path(tmp.name) / "src"
    if not args.src:
        srcs["after"] = srcs["after + agent"] = DEFAULT_SRC
        agent = agent or {"after + agent"}
    for item in args.src or []:
        label, _, where = item.rpartition("=")
        srcs[label or Path(where).parent.name] = Path(where).resolve()
    envs: dict[str, dict[str, str]] = {}
    for item in args.env or []:
        label, _, pair = item.partition(":")
        key, _, value = pair.partition("=")
        envs.setdefault(label, {})[key] = value
    figures = measure(srcs, args.runs, envs, agent)
    tmp.cleanup()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    show(figures)


if __name__ == "__main__":
    main()
