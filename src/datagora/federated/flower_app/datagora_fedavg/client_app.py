"""The ClientApp: runs inside each owner's SuperNode. The owner's rows are read from the data file named in the
SuperNode's own configuration (``data-file``), never from anything the requester sends; only counts, sums,
model parameters and metrics leave it."""

from __future__ import annotations

import warnings

import numpy as np
from flwr.app import ArrayRecord, ConfigRecord, Context, Message, MetricRecord, RecordDict
from flwr.clientapp import ClientApp

from datagora_fedavg.task import get_parameters, load_partition, model, set_parameters


class _Dispatch(ClientApp):
    """Training messages of a run with ``secure-aggregation`` go to the SecAgg+ ClientApp (secure.py); everything
    else to this one."""

    def __call__(self, message: Message, context: Context) -> Message:
        if message.metadata.message_type.startswith("train") and bool(context.run_config.get("secure-aggregation")):
            from datagora_fedavg.secure import secure_app

            return secure_app(message, context)
        return super().__call__(message, context)


app = _Dispatch()


def _data(context: Context, label: str) -> tuple[np.ndarray, np.ndarray]:
    x, y, _ = load_partition(str(context.node_config["data-file"]), label, str(context.run_config["positive-label"]))
    return x, y


@app.query()
def identify(msg: Message, context: Context) -> Message:
    """The owner's address (from the SuperNode's configuration) and its partition's count, sums and sums of squares
    per feature (for the global scaling)."""
    x, _ = _data(context, str(context.run_config["label"]))
    answer = ConfigRecord(
        {
            "owner": str(context.node_config["owner"]),
            "rows": int(x.shape[0]),
            "features": int(x.shape[1]),
            "sum": x.sum(axis=0).tolist(),
            "sumsq": (x**2).sum(axis=0).tolist(),
        }
    )
    return Message(RecordDict({"identity": answer}), reply_to=msg)


def _prepared(msg: Message, context: Context) -> tuple[object, np.ndarray, np.ndarray]:
    cfg = msg.content["config"]
    x, y = _data(context, str(cfg["label"]))
    x = (x - np.array(cfg["mean"])) / np.array(cfg["scale"])
    m = model(x.shape[1], float(cfg["regularisation"]), int(cfg["local-epochs"]))
    set_parameters(m, msg.content["arrays"].to_numpy_ndarrays())
    return m, x, y


@app.train()
def train(msg: Message, context: Context) -> Message:
    m, x, y = _prepared(msg, context)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few local epochs do not converge on purpose
        m.fit(x, y)
    metrics = MetricRecord({"num-examples": int(x.shape[0]), "train-accuracy": float(m.score(x, y))})
    content = RecordDict({"arrays": ArrayRecord(get_parameters(m)), "metrics": metrics})
    return Message(content, reply_to=msg)


@app.evaluate()
def evaluate(msg: Message, context: Context) -> Message:
    m, x, y = _prepared(msg, context)
    metrics = MetricRecord({"num-examples": int(x.shape[0]), "accuracy": float(m.score(x, y))})
    return Message(RecordDict({"metrics": metrics}), reply_to=msg)
