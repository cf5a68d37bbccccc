"""Federated learning with Flower (adapter): the Flower environment Datagora manages (:mod:`.environment`), the
Flower app it ships (``flower_app/``: FedAvg over a scikit-learn logistic regression), the SuperLink and SuperNode
processes of a run on this machine (:mod:`.federation`) and the canonical encoding of model parameters whose hash
goes on chain (:mod:`.parameters`).

Flower is never imported here. Every Flower release (1.12 to 1.42) pins versions that would downgrade Datagora's
stack (1.42 pins FastAPI 0.138, Starlette 1.3, Uvicorn 0.49, Typer < 0.21, Rich < 15, cryptography 50), so Flower
lives in a virtual environment of its own and Datagora runs its programs as subprocesses and reads files they
write. See docs/federated.md.
"""
