"""The ServerApp: runs on the requester's SuperLink. Identifies the SuperNodes, keeps only those of owners who approved
the job on chain (the run config's ``approved-owners``) whose node id is the one Flower gave the key registered for
that owner (``approved-nodes``; the SuperLink already refused nodes with unregistered keys), computes the global
feature scaling from the owners' counts, sums and sums of squares (aggregates only), then runs FedAvg (McMahan et
al., 2017) for ``num-server-rounds`` rounds over the approved owners. Each round's aggregate parameters are written
in the canonical encoding to ``<output-dir>/round-<n>.params`` as soon as they exist; ``result.json`` ends the run."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MessageType, MetricRecord, RecordDict
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from datagora_fedavg.task import encode

app = ServerApp()


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


class ApprovedFedAvg(FedAvg):
    """FedAvg that sends work only to the approved owners' nodes and writes each round's aggregate to ``out`` as
    soon as it is computed."""

    def __init__(self, nodes: set[int], out: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.nodes = nodes
        self.out = out
        self.started = time.monotonic()
        self.rounds: list[dict] = []

    def aggregate_train(
        self, server_round: int, replies: Iterable[Message]
    ) -> tuple[ArrayRecord | None, MetricRecord | None]:
        replies = list(replies)
        failed = [r for r in replies if r.has_error()]
        if failed or len(replies) < len(self.nodes):
            raise RuntimeError(
                f"round {server_round}: {len(replies) - len(failed)} of {len(self.nodes)} owners replied"
            )
        arrays, metrics = super().aggregate_train(server_round, replies)
        if arrays is None:
            raise RuntimeError(f"round {server_round}: no aggregate")
        _write(self.out / f"round-{server_round}.params", encode(arrays.to_numpy_ndarrays()))
        self.rounds.append(
            {
                "round": server_round,
                "seconds": time.monotonic() - self.started,
                "train": dict(metrics) if metrics is not None else {},
            }
        )
        return arrays, metrics

    def configure_train(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return [
            m
            for m in super().configure_train(server_round, arrays, config, grid)
            if m.metadata.dst_node_id in self.nodes
        ]

    def configure_evaluate(
        self, server_round: int, arrays: ArrayRecord, config: ConfigRecord, grid: Grid
    ) -> Iterable[Message]:
        return [
            m
            for m in super().configure_evaluate(server_round, arrays, config, grid)
            if m.metadata.dst_node_id in self.nodes
        ]


def _identify(
    grid: Grid, approved: set[str], nodes: dict[int, str], invited: int, timeout: float
) -> tuple[dict[int, dict], dict[int, str]]:
    """Ask every connected node who it is until ``invited`` nodes answered (or ``timeout`` passes). A node is a
    member when its declared owner is approved and, when ``nodes`` (node id → owner whose key was registered) is
    given, is the owner its authenticated key was registered for."""
    deadline = time.monotonic() + timeout
    members: dict[int, dict] = {}
    refused: dict[int, str] = {}
    while True:
        unknown = [n for n in grid.get_node_ids() if n not in members and n not in refused]
        if unknown:
            queries = [
                Message(RecordDict({"config": ConfigRecord({"ask": "identity"})}), n, MessageType.QUERY)
                for n in unknown
            ]
            for reply in grid.send_and_receive(queries, timeout=max(1.0, deadline - time.monotonic())):
                if reply.has_error():
                    continue
                answer = reply.content["identity"]
                owner = str(answer["owner"]).lower()
                node = reply.metadata.src_node_id
                if owner in approved and (not nodes or nodes.get(node) == owner):
                    members[node] = {
                        "owner": owner,
                        "rows": int(answer["rows"]),
                        "sum": np.array(answer["sum"], dtype=np.float64),
                        "sumsq": np.array(answer["sumsq"], dtype=np.float64),
                        "features": int(answer["features"]),
                    }
                else:
                    refused[node] = owner
        if len(members) + len(refused) >= invited or time.monotonic() > deadline:
            return members, refused
        time.sleep(0.2)


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = context.run_config
    out = Path(str(cfg["output-dir"]))
    out.mkdir(parents=True, exist_ok=True)
    status: dict = {"owners": [], "refused": [], "rounds": []}
    try:
        _federate(grid, context, out, status)
    except BaseException as exc:  # the requester reads result.json: say why the run ended
        status.setdefault("error", str(exc) or type(exc).__name__)
        raise
    finally:
        _write(out / "result.json", json.dumps(status).encode())


def _federate(grid: Grid, context: Context, out: Path, status: dict) -> None:
    cfg = context.run_config
    approved = {a.strip().lower() for a in str(cfg["approved-owners"]).split(",") if a.strip()}
    wanted = int(cfg["min-owners"])
    timeout = float(cfg["round-timeout"])
    nodes = {}
    for pair in str(cfg.get("approved-nodes", "")).split(","):
        node, sep, owner = pair.partition(":")
        if sep:
            nodes[int(node)] = owner.strip().lower()
    members, refused = _identify(grid, approved, nodes, int(cfg["invited"]), timeout)
    owners = sorted({m["owner"] for m in members.values()})
    status["owners"], status["refused"] = owners, sorted(set(refused.values()))
    if len(owners) < wanted:
        raise RuntimeError(f"only {len(owners)} of {wanted} approved owners joined within {timeout:.0f} s")
    n_features = {m["features"] for m in members.values()}
    if len(n_features) != 1:
        raise RuntimeError("the owners' data files have different numbers of columns")
    rows = sum(m["rows"] for m in members.values())
    mean = sum(m["sum"] for m in members.values()) / rows
    var = sum(m["sumsq"] for m in members.values()) / rows - mean**2
    scale = np.sqrt(np.maximum(var, 1e-12))
    (d,) = n_features
    _write(out / "scaling.json", json.dumps({"mean": mean.tolist(), "scale": scale.tolist(), "rows": rows}).encode())
    if bool(cfg["secure-aggregation"]):
        from datagora_fedavg.secure import run_secure

        rounds: list[dict] = []
        status["rounds"] = rounds
        settings = {
            "mean": mean.tolist(),
            "scale": scale.tolist(),
            "local-epochs": int(cfg["local-epochs"]),
            "regularisation": float(cfg["regularisation"]),
            "label": str(cfg["label"]),
            "rounds": int(cfg["num-server-rounds"]),
        }
        run_secure(grid, context, members, out, settings, rounds)
        if len(rounds) != int(cfg["num-server-rounds"]):
            raise RuntimeError(f"{len(rounds)} of {cfg['num-server-rounds']} rounds produced an aggregate")
    else:
        strategy = ApprovedFedAvg(
            set(members),
            out,
            fraction_evaluate=0.0,  # the requester evaluates the final model on its own test set
            min_train_nodes=len(members),
            min_available_nodes=len(members),
        )
        status["rounds"] = strategy.rounds
        config = ConfigRecord(
            {
                "mean": mean.tolist(),
                "scale": scale.tolist(),
                "local-epochs": int(cfg["local-epochs"]),
                "regularisation": float(cfg["regularisation"]),
                "label": str(cfg["label"]),
            }
        )
        strategy.start(
            grid,
            ArrayRecord([np.zeros((1, d)), np.zeros(1)]),
            num_rounds=int(cfg["num-server-rounds"]),
            timeout=timeout,
            train_config=config,
        )
        if len(strategy.rounds) != int(cfg["num-server-rounds"]):
            raise RuntimeError(f"{len(strategy.rounds)} of {cfg['num-server-rounds']} rounds produced an aggregate")
