"""Kubernetes manifests and a Terraform configuration (HCL in its JSON syntax, ``*.tf.json``) rendered from one
:class:`~datagora.infra.spec.WorkloadSpec`, and their offline validation.

The paper's event handler converts the users' JSON into scripts for Ansible, Terraform and Kubernetes (Mehdi et
al., architecture components interactions, step 5). Datagora runs the Ansible playbook on the host member's
machine; the Terraform and Kubernetes documents are what the same workload looks like on a cluster, validated
without a cluster and without the ``terraform`` binary:

- **Kubernetes** (:func:`validate_kubernetes`): each document is deserialised into the official client's model
  (``V1ConfigMap``, ``V1Deployment``, ``V1Service`` from the ``kubernetes`` package, generated from the Kubernetes
  OpenAPI schema), which refuses a missing required field (``containers[].name``, ``selector`` …); serialising
  the model back must give the document again, which catches misspelt or unknown fields and wrongly typed values;
  then the cross-object rules a cluster would otherwise reject or silently mis-wire: the Deployment's selector
  matches its pod labels, the Service selects those pods and targets a declared container port, every
  ConfigMap volume names the rendered ConfigMap, names are RFC 1123 labels.
- **Terraform** (:func:`validate_terraform`): the structure of Terraform's JSON configuration syntax (top-level
  block types, two-level ``resource`` / ``data`` nesting, identifier syntax), every provider a resource uses is
  required and configured, every ``${…}`` reference names a declared variable or resource, every variable has a
  type, every output a value; and the resources agree with the Kubernetes manifests rendered from the same spec
  (image, command, replicas, resources, ports, labels). **Not validated**: attribute names and types against the
  ``hashicorp/kubernetes`` provider's schema (that needs ``terraform providers schema -json``, i.e. the binary and
  the provider plugin), and the semantics of HCL expressions other than references.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

from datagora.domain.errors import ValidationError
from datagora.infra.spec import DNS_LABEL, WorkloadSpec

CONFIG_MOUNT: Final = "/etc/datagora"
CONFIG_KEY: Final = "workload.json"
KUBERNETES_PROVIDER: Final = {"source": "hashicorp/kubernetes", "version": "~> 2.31"}

_MODELS: Final = {
    "ConfigMap": ("v1", "V1ConfigMap"),
    "Deployment": ("apps/v1", "V1Deployment"),
    "Service": ("v1", "V1Service"),
}
_TOP_LEVEL: Final = frozenset(
    {
        "terraform",
        "provider",
        "variable",
        "locals",
        "output",
        "module",
        "resource",
        "data",
        "moved",
        "import",
        "check",
        "removed",
    }
)
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_INTERPOLATION: Final = re.compile(r"\$\{([^}]*)\}")
_REFERENCE: Final = re.compile(r"^(var\.[A-Za-z_][A-Za-z0-9_-]*|[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*)")


def _labels(spec: WorkloadSpec) -> dict[str, str]:
    return {"app.kubernetes.io/name": spec.name, "app.kubernetes.io/part-of": "datagora"}


def _ident(spec: WorkloadSpec) -> str:
    return spec.name.replace("-", "_")


# -- rendering -----------------------------------------------------------------------------------------------


def render_kubernetes(spec: WorkloadSpec) -> list[dict[str, Any]]:
    """The workload as three Kubernetes objects (JSON-ready dicts, apply order): a ConfigMap holding the spec,
    a Deployment running ``spec.command`` in ``spec.image`` with the spec mounted at ``/etc/datagora`` and the
    requested CPU / memory as requests and limits, and a Service on ``spec.port``."""
    labels = _labels(spec)
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{spec.name}-config", "labels": labels},
        "data": {CONFIG_KEY: spec.to_json()},
    }
    resources = {"cpu": spec.resources.cpu, "memory": spec.resources.memory}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": spec.name, "labels": labels},
        "spec": {
            "replicas": spec.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {
                            "name": "workload",
                            "image": spec.image,
                            "command": list(spec.command),
                            "args": [f"{CONFIG_MOUNT}/{CONFIG_KEY}"],
                            "ports": [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}],
                            "resources": {"requests": resources, "limits": resources},
                            "volumeMounts": [{"name": "config", "mountPath": CONFIG_MOUNT, "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "config", "configMap": {"name": f"{spec.name}-config"}}],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": spec.name, "labels": labels},
        "spec": {
            "selector": labels,
            "ports": [{"name": "http", "port": spec.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return [config_map, deployment, service]


def render_terraform(spec: WorkloadSpec) -> dict[str, Any]:
    """The same workload as a Terraform configuration in JSON syntax (write it as ``<name>.tf.json``) for the
    ``hashicorp/kubernetes`` provider: ``kubernetes_config_map``, ``kubernetes_deployment`` and
    ``kubernetes_service`` resources; variables ``kubeconfig_path`` and ``namespace``; output ``service_name``."""
    ident = _ident(spec)
    labels = _labels(spec)
    metadata = {"name": spec.name, "namespace": "${var.namespace}", "labels": labels}
    resources = {"cpu": spec.resources.cpu, "memory": spec.resources.memory}
    return {
        "terraform": {"required_version": ">= 1.5", "required_providers": {"kubernetes": dict(KUBERNETES_PROVIDER)}},
        "variable": {
            "kubeconfig_path": {"type": "string", "default": "~/.kube/config", "description": "kubeconfig to use"},
            "namespace": {"type": "string", "default": "default", "description": "namespace of the workload"},
        },
        "provider": {"kubernetes": {"config_path": "${var.kubeconfig_path}"}},
        "resource": {
            "kubernetes_config_map": {
                ident: {
                    "metadata": {**metadata, "name": f"{spec.name}-config"},
                    "data": {CONFIG_KEY: spec.to_json()},
                }
            },
            "kubernetes_deployment": {
                ident: {
                    "metadata": metadata,
                    "spec": {
                        "replicas": spec.replicas,
                        "selector": {"match_labels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {
                                "container": [
                                    {
                                        "name": "workload",
                                        "image": spec.image,
                                        "command": list(spec.command),
                                        "args": [f"{CONFIG_MOUNT}/{CONFIG_KEY}"],
                                        "port": [{"name": "http", "container_port": spec.port, "protocol": "TCP"}],
                                        "resources": {"requests": resources, "limits": resources},
                                        "volume_mount": [
                                            {"name": "config", "mount_path": CONFIG_MOUNT, "read_only": True}
                                        ],
                                    }
                                ],
                                "volume": [
                                    {
                                        "name": "config",
                                        "config_map": {"name": f"${{kubernetes_config_map.{ident}.metadata[0].name}}"},
                                    }
                                ],
                            },
                        },
                    },
                }
            },
            "kubernetes_service": {
                ident: {
                    "metadata": metadata,
                    "spec": {
                        "selector": labels,
                        "port": [{"name": "http", "port": spec.port, "target_port": "http", "protocol": "TCP"}],
                    },
                }
            },
        },
        "output": {"service_name": {"value": f"${{kubernetes_service.{ident}.metadata[0].name}}"}},
    }


# -- Kubernetes validation -----------------------------------------------------------------------------------


class _Body:
    """What ``ApiClient.deserialize`` reads: a response whose ``data`` is JSON text."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.data = json.dumps(doc)


def _differences(rendered: Any, back: Any, where: str) -> Iterator[str]:
    if isinstance(rendered, Mapping) and isinstance(back, Mapping):
        for key in rendered:
            if key not in back:
                yield f"{where}.{key}: not a field of this object"
            else:
                yield from _differences(rendered[key], back[key], f"{where}.{key}")
    elif isinstance(rendered, list) and isinstance(back, list) and len(rendered) == len(back):
        for index, (a, b) in enumerate(zip(rendered, back, strict=True)):
            yield from _differences(a, b, f"{where}[{index}]")
    elif rendered != back:
        yield f"{where}: {rendered!r} is not a valid value here"


def validate_kubernetes(documents: list[dict[str, Any]]) -> list[Any]:
    """Check rendered Kubernetes objects offline (see the module docstring for exactly what) and return them as
    the ``kubernetes`` client's model objects. Raises :class:`ValidationError` listing every problem found."""
    from kubernetes.client import ApiClient  # models only; no cluster is contacted

    api = ApiClient()
    problems: list[str] = []
    models: list[Any] = []
    by_kind: dict[str, dict[str, Any]] = {}
    for index, doc in enumerate(documents):
        kind = doc.get("kind")
        where = f"{kind or 'object'} #{index + 1}"
        if kind not in _MODELS:
            problems.append(f"{where}: kind must be one of {', '.join(_MODELS)}")
            continue
        version, model = _MODELS[kind]
        if doc.get("apiVersion") != version:
            problems.append(f"{where}: apiVersion must be {version!r} for a {kind}")
        try:
            obj = api.deserialize(_Body(doc), model)
        except (ValueError, TypeError) as exc:
            problems.append(f"{where}: {exc}")
            continue
        problems.extend(_differences(doc, api.sanitize_for_serialization(obj), where))
        name = (doc.get("metadata") or {}).get("name", "")
        if not isinstance(name, str) or len(name) > 63 or not DNS_LABEL.match(name):
            problems.append(f"{where}: metadata.name {name!r} is not an RFC 1123 label")
        models.append(obj)
        by_kind[kind] = doc
    if not problems:
        problems.extend(_cross_checks(by_kind))
    if problems:
        raise ValidationError("Kubernetes manifests: " + "; ".join(problems))
    return models


def _cross_checks(by_kind: Mapping[str, dict[str, Any]]) -> Iterator[str]:
    missing = [kind for kind in _MODELS if kind not in by_kind]
    if missing:
        yield f"missing {', '.join(missing)}"
        return
    deployment, service, config_map = by_kind["Deployment"], by_kind["Service"], by_kind["ConfigMap"]
    pod_labels = deployment["spec"]["template"]["metadata"].get("labels") or {}
    selector = deployment["spec"]["selector"].get("matchLabels") or {}
    if not selector or any(pod_labels.get(k) != v for k, v in selector.items()):
        yield "Deployment: spec.selector.matchLabels does not match the pod template's labels"
    wanted = service["spec"].get("selector") or {}
    if not wanted or any(pod_labels.get(k) != v for k, v in wanted.items()):
        yield "Service: spec.selector selects no pod of the Deployment"
    pod = deployment["spec"]["template"]["spec"]
    port_names = {p.get("name") for c in pod["containers"] for p in c.get("ports", [])}
    port_numbers = {p.get("containerPort") for c in pod["containers"] for p in c.get("ports", [])}
    for port in service["spec"].get("ports", []):
        target = port.get("targetPort", port.get("port"))
        if target not in port_names and target not in port_numbers:
            yield f"Service: targetPort {target!r} is not a port of the Deployment's containers"
    for volume in pod.get("volumes", []):
        ref = (volume.get("configMap") or {}).get("name")
        if ref is not None and ref != config_map["metadata"]["name"]:
            yield f"Deployment: volume {volume.get('name')!r} names ConfigMap {ref!r}, which is not rendered"
    volume_names = {v.get("name") for v in pod.get("volumes", [])}
    for container in pod["containers"]:
        for mount in container.get("volumeMounts", []):
            if mount.get("name") not in volume_names:
                yield f"Deployment: container {container.get('name')!r} mounts unknown volume {mount.get('name')!r}"


# -- Terraform validation ------------------------------------------------------------------------------------


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def validate_terraform(config: Mapping[str, Any], spec: WorkloadSpec | None = None) -> None:
    """Check a Terraform JSON configuration offline (see the module docstring for what is and is not checked);
    with ``spec``, also that its Kubernetes resources carry what :func:`render_kubernetes` renders from it.
    Raises :class:`ValidationError` listing every problem found."""
    problems: list[str] = []
    unknown = sorted(set(config) - _TOP_LEVEL)
    if unknown:
        problems.append(f"unknown top-level block(s) {', '.join(unknown)}")
    declared_resources: set[str] = set()
    used_providers: set[str] = set()
    for block in ("resource", "data"):
        for rtype, named in (config.get(block) or {}).items():
            if not _IDENTIFIER.match(rtype) or not isinstance(named, Mapping):
                problems.append(f"{block} {rtype!r}: not a resource type holding named resources")
                continue
            used_providers.add(rtype.split("_", 1)[0])
            for rname, body in named.items():
                if not _IDENTIFIER.match(rname):
                    problems.append(f"{block} {rtype}.{rname}: {rname!r} is not a valid name")
                if not isinstance(body, Mapping):
                    problems.append(f"{block} {rtype}.{rname}: body must be an object")
                declared_resources.add(f"{'data.' if block == 'data' else ''}{rtype}.{rname}")
    variables = config.get("variable") or {}
    for vname, body in variables.items():
        if not _IDENTIFIER.match(vname) or not isinstance(body, Mapping) or "type" not in body:
            problems.append(f"variable {vname!r}: needs a valid name and a type")
    for oname, body in (config.get("output") or {}).items():
        if not _IDENTIFIER.match(oname) or not isinstance(body, Mapping) or "value" not in body:
            problems.append(f"output {oname!r}: needs a valid name and a value")
    required = ((config.get("terraform") or {}).get("required_providers")) or {}
    configured = config.get("provider") or {}
    for provider in sorted(used_providers):
        source = (required.get(provider) or {}).get("source", "")
        if not isinstance(source, str) or "/" not in source:
            problems.append(f"provider {provider!r} is used but not in terraform.required_providers with a source")
        if provider not in configured:
            problems.append(f"provider {provider!r} is used but has no provider block")
    for text in _strings({k: v for k, v in config.items() if k != "terraform"}):
        for expression in _INTERPOLATION.findall(text):
            found = _REFERENCE.match(expression.strip())
            if found is None:
                problems.append(f"unsupported expression ${{{expression}}}")
                continue
            ref = found.group(1)
            if ref.startswith("var."):
                if ref[4:] not in variables:
                    problems.append(f"${{{expression}}} names undeclared variable {ref[4:]!r}")
            elif ref not in declared_resources:
                problems.append(f"${{{expression}}} names undeclared resource {ref!r}")
    if spec is not None and not problems:
        problems.extend(_agrees_with_spec(config, spec))
    if problems:
        raise ValidationError("Terraform configuration: " + "; ".join(problems))


def _agrees_with_spec(config: Mapping[str, Any], spec: WorkloadSpec) -> Iterator[str]:
    ident = _ident(spec)
    resources = config.get("resource") or {}
    try:
        deployment = resources["kubernetes_deployment"][ident]["spec"]
        container = deployment["template"]["spec"]["container"][0]
        service = resources["kubernetes_service"][ident]["spec"]
        config_map = resources["kubernetes_config_map"][ident]["data"][CONFIG_KEY]
    except (KeyError, IndexError, TypeError) as exc:
        yield f"missing the workload's resources ({exc})"
        return
    expected = {
        "image": spec.image,
        "command": list(spec.command),
        "replicas": spec.replicas,
        "requests": {"cpu": spec.resources.cpu, "memory": spec.resources.memory},
        "container port": spec.port,
        "service port": spec.port,
        "labels": _labels(spec),
    }
    actual = {
        "image": container.get("image"),
        "command": container.get("command"),
        "replicas": deployment.get("replicas"),
        "requests": (container.get("resources") or {}).get("requests"),
        "container port": (container.get("port") or [{}])[0].get("container_port"),
        "service port": (service.get("port") or [{}])[0].get("port"),
        "labels": (deployment.get("selector") or {}).get("match_labels"),
    }
    for key, value in expected.items():
        if actual[key] != value:
            yield f"kubernetes_deployment/service {key} is {actual[key]!r}, the spec says {value!r}"
    if config_map != spec.to_json():
        yield "kubernetes_config_map does not hold the spec"
