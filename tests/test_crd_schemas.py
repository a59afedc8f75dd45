"""Every exported Traefik and cert-manager custom resource is valid against its CRD's OpenAPI schema, offline.

`validate_manifests` (tests/k8s_checks.py) skips custom resources: Kubernetes' own schemas do not cover them. Here
tests/crd/validate.js (node) checks them against the CRD schemas that the pinned npm packages in tests/crd/package.json
ship precompiled, and also reports fields the schema does not declare (the API server would prune them). The module
fixture installs those packages itself (`npm ci`, from the committed package-lock.json) when tests/crd/node_modules is
missing or older than the lock file, so the suite's usual command runs it on a fresh clone.

Schema versions (why these packages: tests/crd/validate.js): the Traefik schemas are the CRDs of Traefik Helm chart
39.0.8 (Traefik v3.6), the cert-manager schemas the CRDs of cert-manager v1.20.2. Both are newer than the pinned
charts (Traefik chart 37.1.1, i.e. v3.5; cert-manager v1.18.2), so a field added after those versions would pass here;
no npm package ships those exact CRDs.

Besides prod as configured, prod with one ACME route is exported too, so the ACME Issuer is validated as well.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from brickwall import export
from brickwall.engine import Recording
from tests.k8s_checks import documents, is_custom_resource
from tests.node_tools import NODE_TIMEOUT, node_with_packages, tail

CRD_DIR = Path(__file__).resolve().parent / "crd"
VALIDATOR = CRD_DIR / "validate.js"
SCHEMA_GROUPS = ("traefik.io", "cert-manager.io")  # the API groups whose objects the program creates


@pytest.fixture(scope="module")
def node() -> str:
    """node, with the pinned schema packages installed in tests/crd (npm ci when missing or stale)."""
    return node_with_packages(CRD_DIR, "CRD schema validation")


def validate(node: str, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """validate.js's result per object: apiVersion, kind, name, namespace, errors."""
    done = subprocess.run([node, str(VALIDATOR)], input=json.dumps(objects), cwd=CRD_DIR, capture_output=True,
                          text=True, timeout=NODE_TIMEOUT, check=False)
    assert done.returncode == 0, f"validate.js exited {done.returncode}\n{tail(done.stderr)}"
    results: list[dict[str, Any]] = json.loads(done.stdout)
    assert len(results) == len(objects)
    return results


def custom_resources(export_dir: Path) -> list[dict[str, Any]]:
    return [obj for path in sorted((export_dir / "kubernetes").rglob("*.yaml")) for obj in documents(path)
            if is_custom_resource(obj)]


def registered_custom_kinds(rec: Recording) -> Counter[tuple[str, str]]:
    """(apiVersion, kind) -> how many objects the program registered, read from the registrations themselves."""
    kinds: Counter[tuple[str, str]] = Counter()
    for reg in rec.registrations:
        if export.is_kubernetes_object(reg):
            head = {"apiVersion": str(reg.inputs["apiVersion"]), "kind": str(reg.inputs["kind"])}
            if is_custom_resource(head):
                kinds[head["apiVersion"], head["kind"]] += 1
    return kinds


@pytest.fixture(scope="module")
def recordings(prod: Recording, prod_ingress_variant: Recording) -> dict[str, Recording]:
    """prod, and prod with its first route on an ACME certificate (adds the Issuer: tests/conftest.py)."""
    return {"prod": prod, "prod-acme": prod_ingress_variant}


@pytest.fixture(scope="module")
def exported(recordings: dict[str, Recording], tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Every custom resource each recording exports."""
    out = {}
    for name, rec in recordings.items():
        directory = tmp_path_factory.mktemp(f"{name}-export")
        export.write_export(rec, directory)
        out[name] = custom_resources(directory)
    return out


@pytest.fixture(scope="module")
def results(node: str, exported: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {name: validate(node, objects) for name, objects in exported.items()}


def test_every_custom_resource_matches_its_crd_schema(results: dict[str, list[dict[str, Any]]]) -> None:
    problems = [f"{name}: {r['kind']} {r['namespace'] or '_cluster'}/{r['name']}: {error}"
                for name, rs in results.items() for r in rs for error in r["errors"]]
    assert problems == []


def test_every_traefik_and_cert_manager_kind_the_program_creates_was_validated(
        recordings: dict[str, Recording], results: dict[str, list[dict[str, Any]]]) -> None:
    for name, rec in recordings.items():
        created = registered_custom_kinds(rec)
        validated = Counter((r["apiVersion"], r["kind"]) for r in results[name])
        assert validated == created, name  # every object the program creates, each exported once, none left out
        groups = {api.split("/")[0] for api, _ in created}
        assert groups <= set(SCHEMA_GROUPS), f"{name}: custom resources of groups without a schema: {groups}"
    kinds = {r["kind"] for rs in results.values() for r in rs}
    assert kinds == {"IngressRoute", "Middleware", "TLSOption", "ServersTransport",
                     "Certificate", "Issuer", "ClusterIssuer"}
    assert Counter(r["kind"] for r in results["prod-acme"])["Issuer"] == 1
    assert "Issuer" not in {r["kind"] for r in results["prod"]}


def _parent(obj: Any, dotted: str) -> Any:
    """The list or mapping holding `dotted`'s last segment (KeyError/IndexError when a parent is missing)."""
    for part in dotted.split(".")[:-1]:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    return obj


def broken(objects: list[dict[str, Any]], kind: str, dotted: str, value: Any) -> dict[str, Any]:
    """A copy of the first `kind` object where `dotted`'s parent exists, with `dotted` set to `value` (None deletes)."""
    for obj in objects:
        if obj["kind"] != kind:
            continue
        obj = copy.deepcopy(obj)
        try:
            holder = _parent(obj, dotted)
        except (KeyError, IndexError):
            continue
        last = dotted.rsplit(".", 1)[-1]
        key = int(last) if isinstance(holder, list) else last
        if value is None:
            del holder[key]
        else:
            holder[key] = value
        return obj
    raise AssertionError(f"no exported {kind} has {dotted.rsplit('.', 1)[0]}")


# (kind, dotted path edited, new value, the path the error must name, a fragment of the error)
BROKEN = [
    ("IngressRoute", "spec.routes.0.kind", "Bogus", "/spec/routes/0/kind", "allowed values"),
    ("IngressRoute", "spec.tls.secretName", ["jobs-tls"], "/spec/tls/secretName", "must be string"),
    ("TLSOption", "spec.minVersion", 12, "/spec/minVersion", "must be string"),
    ("ServersTransport", "spec.insecureSkipVerify", "false", "/spec/insecureSkipVerify", "must be boolean"),
    ("Middleware", "spec.headers.stsIncludeSubdomain", True, "/spec/headers/stsIncludeSubdomain", "unknown field"),
    ("Certificate", "spec.privateKey.rotationPolicy", "Sometimes", "/spec/privateKey/rotationPolicy", "allowed values"),
    ("Certificate", "spec.usages.0", "server-auth", "/spec/usages/0", "allowed values"),
    ("Certificate", "spec.secretName", None, "/spec", "secretName"),
    ("ClusterIssuer", "spec.ca.secretNam", "brickwall-ca", "/spec/ca/secretNam", "unknown field"),
]


@pytest.mark.parametrize(("kind", "dotted", "value", "where", "fragment"), BROKEN,
                         ids=[f"{b[0]}-{b[1]}" for b in BROKEN])
def test_a_broken_custom_resource_is_reported(node: str, exported: dict[str, list[dict[str, Any]]], kind: str,
                                              dotted: str, value: Any, where: str, fragment: str) -> None:
    obj = broken(exported["prod"], kind, dotted, value)
    [result] = validate(node, [obj])
    assert result["kind"] == kind
    assert any(error.startswith(f"{where}: ") and fragment in error for error in result["errors"]), result["errors"]


def test_an_object_without_a_schema_is_reported_not_passed(node: str) -> None:
    unknown = {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRouteHTTP", "metadata": {"name": "x"}, "spec": {}}
    [result] = validate(node, [unknown])
    assert result["errors"] and "no CRD schema" in result["errors"][0]


def test_the_schemas_are_the_documented_crd_releases(node: str) -> None:
    """The pinned packages are generated from these CRD files (their "crd-generate" inputs; for traefik.io the last
    chart's CRDs win): update the notes above and in tests/crd/validate.js together with the packages."""
    packages = CRD_DIR / "node_modules" / "@kubernetes-models"

    def inputs(package: str) -> list[str]:
        return list(json.loads((packages / package / "package.json").read_text())["crd-generate"]["input"])

    traefik = [url.split("/")[5] for url in inputs("traefik") if "/traefik.io_" in url]
    assert traefik[-1] == "v39.0.8"  # a traefik-helm-chart tag
    docs = {link for path in (packages / "traefik" / "traefik.io" / "v1alpha1").glob("*.d.ts")
            for link in re.findall(r"doc\.traefik\.io/traefik/(v\d+\.\d+)", path.read_text())}
    assert docs == {"v3.6"}
    cert_manager = [url for url in inputs("cert-manager") if "/cert-manager/cert-manager/" in url]
    assert cert_manager == ["https://github.com/cert-manager/cert-manager/releases/download/v1.20.2/cert-manager.crds.yaml"]
