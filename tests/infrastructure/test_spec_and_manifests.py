"""The workload spec refuses broken input with a clear message; the Kubernetes and Terraform documents rendered
from it validate offline, and the validators catch what a cluster or ``terraform validate`` would reject."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from datagora.domain.errors import ValidationError
from datagora.infra.manifests import render_kubernetes, render_terraform, validate_kubernetes, validate_terraform
from datagora.infra.spec import MAX_SPEC_BYTES, WorkloadSpec, parse_spec
from tests.infrastructure.kit import spec_doc

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
HASH = "0x" + "ab" * 32


def good(**extra: Any) -> dict[str, Any]:
    return spec_doc(OWNER, HASH, **extra)


def test_a_valid_spec_parses_from_json_and_round_trips() -> None:
    spec = parse_spec(json.dumps(good(resources={"cpu": "250m", "memory": "128Mi"})))
    assert spec.name == "tumour-averages"
    assert spec.resources.cpu == "250m"
    assert spec.query.is_aggregate
    assert parse_spec(spec.to_json()) == spec
    assert len(spec.to_json().encode()) <= MAX_SPEC_BYTES


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Tumour_Averages"}, "name: name must be lower-case letters"),
        ({"data": {"owner": "0x12", "content_hash": HASH}}, "data.owner: owner must be an account address"),
        ({"data": {"owner": OWNER}}, "data.content_hash: required"),
        ({"heartbeat_interval": 0}, "heartbeat_interval: Input should be greater than or equal to 1"),
        ({"resources": {"cpu": "lots"}}, "resources.cpu: cpu must be a positive Kubernetes quantity"),
        ({"image": "Not An Image"}, "image: image must be a container image reference"),
        ({"replica": 3}, "replica: unknown field"),
        ({"min_group_size": 1}, "min_group_size: Input should be greater than or equal to 2"),
        ({"task": {"select": ["diagnosis", "radius"]}}, "task must be an aggregate query"),
        ({"task": {"select": [{"aggregate": "median", "column": "radius"}]}}, "workload spec: task: "),
    ],
)
def test_a_broken_spec_is_refused_with_a_clear_message(change: dict[str, Any], message: str) -> None:
    doc = {**good(), **change}
    with pytest.raises(ValidationError, match=r"^workload spec: ") as err:
        parse_spec(doc)
    assert message in str(err.value)


def test_missing_fields_are_all_named_at_once() -> None:
    with pytest.raises(ValidationError) as err:
        parse_spec({"image": "python:3.11"})
    assert {"name: required", "data: required", "task: required"} <= set(str(err.value)[15:].split("; "))


@pytest.mark.parametrize(
    ("text", "message"),
    [("{not json", "not JSON"), ("[1, 2]", "must be a JSON object"), ("x" * (MAX_SPEC_BYTES + 1), "fit on chain")],
)
def test_text_that_is_not_a_spec_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_spec(text)


@pytest.fixture(scope="module")
def spec() -> WorkloadSpec:
    return parse_spec(good(replicas=2, port=9000))


def test_rendered_kubernetes_manifests_validate_against_the_client_models(spec: WorkloadSpec) -> None:
    docs = render_kubernetes(spec)
    models = validate_kubernetes(docs)
    assert [type(m).__name__ for m in models] == ["V1ConfigMap", "V1Deployment", "V1Service"]
    deployment = models[1]
    assert deployment.spec.replicas == 2
    container = deployment.spec.template.spec.containers[0]
    assert container.image == spec.image and container.command == list(spec.command)
    assert container.resources.limits == {"cpu": "500m", "memory": "256Mi"}
    assert models[2].spec.ports[0].port == 9000
    assert parse_spec(models[0].data["workload.json"]) == spec


def _break(docs: list[dict[str, Any]], kind: str, path: str, value: Any) -> list[dict[str, Any]]:
    broken = copy.deepcopy(docs)
    target = next(d for d in broken if d["kind"] == kind)
    *parents, last = path.split(".")
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is None:
        del target[last]
    else:
        target[last] = value
    return broken


@pytest.mark.parametrize(
    ("kind", "path", "value", "message"),
    [
        ("Deployment", "spec.template.spec.containers.0.name", None, "Invalid value for `name`, must not be `None`"),
        ("Deployment", "spec.replica", 3, "Deployment #2.spec.replica: not a field of this object"),
        ("Deployment", "spec.selector.matchLabels", {"app": "other"}, "does not match the pod template's labels"),
        ("Service", "spec.selector", {"app.kubernetes.io/name": "nobody"}, "selects no pod of the Deployment"),
        ("Service", "spec.ports.0.targetPort", "grpc", "targetPort 'grpc' is not a port"),
        ("Deployment", "spec.template.spec.volumes.0.configMap.name", "elsewhere", "which is not rendered"),
        ("ConfigMap", "metadata.name", "Bad_Name", "is not an RFC 1123 label"),
        ("Deployment", "apiVersion", "v1", "apiVersion must be 'apps/v1'"),
    ],
)
def test_broken_kubernetes_manifests_are_refused(
    spec: WorkloadSpec, kind: str, path: str, value: Any, message: str
) -> None:
    with pytest.raises(ValidationError, match=r"^Kubernetes manifests: ") as err:
        validate_kubernetes(_break(render_kubernetes(spec), kind, path, value))
    assert message in str(err.value)


def test_a_missing_object_is_reported(spec: WorkloadSpec) -> None:
    with pytest.raises(ValidationError, match="missing Service"):
        validate_kubernetes(render_kubernetes(spec)[:2])


def test_rendered_terraform_validates_and_agrees_with_the_spec(spec: WorkloadSpec) -> None:
    config = render_terraform(spec)
    validate_terraform(config, spec)
    json.dumps(config)  # JSON syntax: the file is written as <name>.tf.json
    deployment = config["resource"]["kubernetes_deployment"]["tumour_averages"]
    assert deployment["spec"]["replicas"] == 2
    assert config["terraform"]["required_providers"]["kubernetes"]["source"] == "hashicorp/kubernetes"


def test_broken_terraform_is_refused(spec: WorkloadSpec) -> None:
    config = render_terraform(spec)
    cases: list[tuple[dict[str, Any], str]] = []
    c = copy.deepcopy(config)
    c["resources"] = c.pop("resource")
    cases.append((c, "unknown top-level block(s) resources"))
    c = copy.deepcopy(config)
    del c["terraform"]["required_providers"]["kubernetes"]
    cases.append((c, "provider 'kubernetes' is used but not in terraform.required_providers"))
    c = copy.deepcopy(config)
    c["output"]["service_name"]["value"] = "${kubernetes_service.missing.metadata[0].name}"
    cases.append((c, "names undeclared resource 'kubernetes_service.missing'"))
    c = copy.deepcopy(config)
    c["provider"]["kubernetes"]["config_path"] = "${var.kube}"
    cases.append((c, "names undeclared variable 'kube'"))
    c = copy.deepcopy(config)
    del c["variable"]["namespace"]["type"]
    cases.append((c, "variable 'namespace': needs a valid name and a type"))
    for broken, message in cases:
        with pytest.raises(ValidationError, match=r"^Terraform configuration: ") as err:
            validate_terraform(broken, spec)
        assert message in str(err.value)
    other = parse_spec(good(image="python:3.12-slim", replicas=2, port=9000))
    wrong_image = re.escape("image is 'python:3.11-slim', the spec says 'python:3.12-slim'")
    with pytest.raises(ValidationError, match=wrong_image):
        validate_terraform(config, other)
