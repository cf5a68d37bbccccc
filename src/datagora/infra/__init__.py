"""Infrastructure the chain drives (Mehdi et al., the infrastructure part): the workload spec a DAO member puts
on chain, Ansible playbooks run with ansible-runner that start and stop the workload on the host member's
machine, the workload program itself, and Terraform / Kubernetes manifests rendered from the same spec and
validated offline. Heavy libraries (ansible-runner, kubernetes, DuckDB) load on first use."""

from __future__ import annotations

from datagora.infra.errors import InfrastructureError
from datagora.infra.spec import MAX_SPEC_BYTES, WorkloadSpec, parse_spec

__all__ = ["MAX_SPEC_BYTES", "InfrastructureError", "WorkloadSpec", "parse_spec"]
