"""FedAvg with secure aggregation (Flower's SecAgg+, Bell et al., CCS 2020): the owners mask their updates so the
ServerApp learns only their weighted sum. SecAgg+ exists in Flower 1.42 for its legacy API only, so this path uses
``NumPyClient``, the legacy ``FedAvg`` and ``DefaultWorkflow(fit_workflow=SecAggPlusWorkflow(...))``."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
from flwr.client import ClientApp, NumPyClient
from flwr.client.mod import secaggplus_mod
from flwr.common import Context, ndarrays_to_parameters, parameters_to_ndarrays
from flwr.server import Grid, LegacyContext, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.server.workflow import DefaultWorkflow, SecAggPlusWorkflow

from datagora_fedavg.task import encode, get_parameters, load_partition, model, set_parameters

CLIPPING_RANGE = 64.0
"""Parameters are clipped to [-64, 64] before quantisation (standardised features keep them far inside)."""


class SecureFedAvg(FedAvg):
    """Legacy FedAvg over the approved owners' nodes only, writing each round's aggregate to ``out``."""

    def __init__(self, nodes: set[int], out: Path, rounds: list[dict], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.nodes = nodes
        self.out = out
        self.rounds = rounds
        self.started = time.monotonic()

    def configure_fit(self, server_round, parameters, client_manager):
        pairs = super().configure_fit(server_round, parameters, client_manager)
        return [(proxy, ins) for proxy, ins in pairs if int(proxy.cid) in self.nodes]

    def aggregate_fit(self, server_round, results, failures):
        if failures or len(results) < len(self.nodes):
            raise RuntimeError(f"round {server_round}: {len(results)} of {len(self.nodes)} owners replied")
        params, metrics = super().aggregate_fit(server_round, results, failures)
        if params is None:
            raise RuntimeError(f"round {server_round}: no aggregate")
        arrays = parameters_to_ndarrays(params)
        tmp = self.out / f"round-{server_round}.params.tmp"
        tmp.write_bytes(encode(arrays))
        tmp.replace(self.out / f"round-{server_round}.params")
        self.rounds.append({"round": server_round, "seconds": time.monotonic() - self.started, "train": {}})
        return params, metrics


def run_secure(
    grid: Grid, context: Context, members: dict[int, dict], out: Path, config: dict, rounds: list[dict]
) -> None:
    """Run the rounds with SecAgg+ (every approved owner holds a share; any 2 of 3 reconstruct a dropped mask)."""
    n = len(members)
    (d,) = {m["features"] for m in members.values()}
    fit_config = {
        "mean": np.asarray(config["mean"], dtype="<f8").tobytes(),
        "scale": np.asarray(config["scale"], dtype="<f8").tobytes(),
        "local-epochs": int(config["local-epochs"]),
        "regularisation": float(config["regularisation"]),
        "label": str(config["label"]),
    }
    strategy = SecureFedAvg(
        set(members),
        out,
        rounds,
        fraction_fit=1.0,
        fraction_evaluate=0.0,
        min_fit_clients=n,
        min_available_clients=n,
        initial_parameters=ndarrays_to_parameters([np.zeros((1, d)), np.zeros(1)]),
        on_fit_config_fn=lambda _: fit_config,
    )
    legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=int(config["rounds"])), strategy=strategy)
    workflow = SecAggPlusWorkflow(num_shares=n, reconstruction_threshold=max(2, n - 1), clipping_range=CLIPPING_RANGE)
    DefaultWorkflow(fit_workflow=workflow)(grid, legacy)


class OwnerClient(NumPyClient):
    """One owner's training step, reading the owner's rows from its SuperNode's own configuration."""

    def __init__(self, context: Context) -> None:
        self.context = context

    def fit(self, parameters, config):
        x, y, _ = load_partition(
            str(self.context.node_config["data-file"]),
            str(config["label"]),
            str(self.context.run_config["positive-label"]),
        )
        x = (x - np.frombuffer(config["mean"], dtype="<f8")) / np.frombuffer(config["scale"], dtype="<f8")
        m = model(x.shape[1], float(config["regularisation"]), int(config["local-epochs"]))
        set_parameters(m, parameters)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m.fit(x, y)
        return get_parameters(m), int(x.shape[0]), {}


secure_app = ClientApp(client_fn=lambda context: OwnerClient(context).to_client(), mods=[secaggplus_mod])
