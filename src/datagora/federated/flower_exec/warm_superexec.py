"""A warm SuperExec for one SuperNode: Flower's own SuperExec loop, but each ClientApp task runs in a process forked
from one that has already imported Flower, NumPy and scikit-learn, instead of a fresh ``flwr-clientapp`` process.

Runs in Flower's environment (never imported by Datagora). Datagora starts the SuperNode with
``--isolation process`` (Flower's mode for a SuperExec run outside the SuperNode) and this program next to it::

    python warm_superexec.py --runtime-api-address 127.0.0.1:PORT --parent-pid SUPERNODE_PID

What stays Flower's: the task loop (``run_superexec``: acquire a task and its token from the SuperNode's Runtime
API, launch it, poll again) and the ClientApp process itself (``run_clientapp``: pull the message, install the
FAB, load the app, run it, push the reply, exit). What changes: the executor, Flower's seam for how a task process
is started (its own are ``subprocess`` and ``kubernetes``). Here a ClientApp task is an ``os.fork`` of this
process, so it skips the interpreter start and the imports (about 2 s of CPU per task, many seconds on a busy
machine); each task still gets its own process, which exits when the task ends. Other task types are started
as Flower starts them.

Written for flwr 1.42.0 (the version Datagora pins); it uses these Flower modules: ``flwr.supercore.superexec``,
``flwr.supernode.runtime.run_clientapp`` and ``flwr.supercore.exit``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# What every ClientApp of the Datagora app imports: loaded once here, shared by every forked task.
import numpy  # noqa: F401
import sklearn.linear_model  # noqa: F401
from flwr.app import ArrayRecord  # noqa: F401
from flwr.clientapp import ClientApp  # noqa: F401
from flwr.supercore.constant import TaskType
from flwr.supercore.exit import exit_handler
from flwr.supercore.superexec import run_superexec as superexec
from flwr.supercore.superexec.executor import ExecutionSpec, LaunchResult, SubprocessExecutor
from flwr.supernode.runtime.run_clientapp import run_clientapp


class ForkExecutor(SubprocessExecutor):
    """Starts ClientApp tasks as forks of this process; every other task type as Flower's subprocess executor
    does."""

    def __init__(self) -> None:
        self.children: set[int] = set()

    def launch(self, spec: ExecutionSpec) -> LaunchResult:
        if spec.task_type != TaskType.CLIENT_APP:
            return super().launch(spec)
        certificates = None
        if not spec.insecure and spec.root_certificates_path is not None:
            with open(spec.root_certificates_path, "rb") as fh:
                certificates = fh.read()
        pid = os.fork()
        if pid == 0:  # the task's process
            code = 1
            try:
                exit_handler.registered_exit_handlers.clear()  # the SuperExec's handlers are not the task's
                run_clientapp(
                    runtime_api_address=spec.runtime_api_address,
                    token=spec.token,
                    insecure=spec.insecure,
                    certificates=certificates,
                    parent_pid=spec.parent_pid,
                    runtime_dependency_install=spec.runtime_dependency_install,
                )
                code = 0
            except SystemExit as exc:  # run_clientapp ends with flwr_exit (sys.exit)
                code = exc.code if isinstance(exc.code, int) else 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        self.children.add(pid)
        return LaunchResult.accepted()

    def reconcile(self) -> None:
        """Reap the task processes that ended."""
        for pid in list(self.children):
            try:
                done, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                done = pid
            if done:
                self.children.discard(pid)

    def close(self) -> None:
        deadline = time.monotonic() + 5
        while self.children and time.monotonic() < deadline:
            self.reconcile()
            time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description="Flower SuperExec with ClientApp tasks forked from a warm process")
    parser.add_argument("--runtime-api-address", required=True)
    parser.add_argument("--insecure", action="store_true")
    parser.add_argument("--root-certificates", default=None)
    parser.add_argument("--parent-pid", type=int, default=None)
    args = parser.parse_args()
    executor = ForkExecutor()
    superexec.get_executor = lambda *_, **__: executor  # Flower's seam for how task processes start
    superexec.run_superexec(
        runtime_api_address=args.runtime_api_address,
        insecure=args.insecure or args.root_certificates is None,
        root_certificates_path=args.root_certificates,
        parent_pid=args.parent_pid,
        runtime_dependency_install=False,
    )


if __name__ == "__main__":
    main()
