"""The error the infrastructure adapter raises."""

from __future__ import annotations

from datagora.domain.errors import DatagoraError


class InfrastructureError(DatagoraError):
    """A playbook run failed, or a workload could not be started, stopped or read; the message says which task
    failed and why (with the end of the workload's log when it exited while starting)."""
