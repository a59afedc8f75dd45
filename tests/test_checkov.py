"""checkov on prod's export: its Kubernetes checks on every exported object and its ARM checks on the template fail
on nothing but the documented skips in tests/checkov-skips.yaml, each with a reason and each still triggered.

checkov runs as a subprocess (one per framework) with no API key (no platform upload or policy download),
`--no-guide` and BC_SKIP_MAPPING=TRUE (no guideline look-up), and with its sockets cut off besides: its banner's
update check (update_checker) or anything else that would reach out fails at once instead, so a run never depends
on the network.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from brickwall import export
from brickwall.engine import Recording

SKIPS_FILE = Path(__file__).with_name("checkov-skips.yaml")
CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")

# checkov's own `main`, with every way out to the network closed first.
_LAUNCH = """
import socket, sys
def _offline(*args, **kwargs):
    raise OSError("checkov runs offline in brickwall's tests")
socket.socket.connect = socket.socket.connect_ex = _offline
socket.create_connection = socket.getaddrinfo = _offline
from checkov.main import run
sys.exit(run())
"""


def run_checkov(target: Path, framework: str) -> dict[str, Any]:
    """checkov's JSON report of `framework` on a directory (`-d`) or one file (`-f`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BC_", "CKV_", "PRISMA_"))}
    env["BC_SKIP_MAPPING"] = "TRUE"
    where = "-d" if target.is_dir() else "-f"
    cmd = [sys.executable, "-c", _LAUNCH, where, str(target), "--framework", framework, "--no-guide", "-o", "json"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    # 0: nothing failed, 1: some check failed; anything else is checkov itself failing.
    assert result.returncode in (0, 1), f"checkov exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    report = json.loads(result.stdout)
    assert isinstance(report, dict) and report.get("check_type") == framework, result.stdout[:500]
    return report


def failures(report: dict[str, Any]) -> dict[str, set[str]]:
    """Failed check id -> the resources it failed on."""
    failed: dict[str, set[str]] = {}
    for check in report["results"]["failed_checks"]:
        failed.setdefault(check["check_id"], set()).add(check["resource"])
    return failed


def unexplained(report: dict[str, Any], skips: dict[str, str]) -> list[str]:
    return sorted(f"{c['check_id']} {c['check_name']!r} on {c['resource']} ({c['file_path']})"
                  for c in report["results"]["failed_checks"] if c["check_id"] not in skips)


def load_skips() -> dict[str, dict[str, str]]:
    skips = yaml.safe_load(SKIPS_FILE.read_text())
    assert isinstance(skips, dict)
    return skips


@pytest.fixture(scope="module")
def exported(prod: Recording, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prod-export-checkov")
    export.write_export(prod, out)
    return out


@pytest.fixture(scope="module")
def kubernetes_report(exported: Path) -> dict[str, Any]:
    return run_checkov(exported / export.KUBERNETES_DIR, "kubernetes")


@pytest.fixture(scope="module")
def arm_report(exported: Path) -> dict[str, Any]:
    return run_checkov(exported / export.AZURE_DIR / export.ARM_TEMPLATE, "arm")


def test_every_skip_is_a_check_id_with_a_reason() -> None:
    skips = load_skips()
    assert set(skips) == {"kubernetes", "arm"}
    for framework, listed in skips.items():
        assert isinstance(listed, dict) and listed, framework
        for check_id, reason in listed.items():
            assert CHECK_ID.match(check_id), f"{framework}: {check_id!r} is not a checkov check id"
            assert isinstance(reason, str) and len(reason.split()) >= 8, f"{framework}: {check_id} needs a reason"


def test_checkov_scans_every_exported_kubernetes_object(exported: Path, kubernetes_report: dict[str, Any]) -> None:
    objects = sorted((exported / export.KUBERNETES_DIR).rglob("*.yaml"))  # one object a file
    summary = kubernetes_report["summary"]
    assert len(objects) > 40
    assert summary["resource_count"] == len(objects)
    assert summary["parsing_errors"] == 0 and kubernetes_report["results"]["parsing_errors"] == []
    assert summary["passed"] > 200
    # Every workload was checked, not only the simple objects.
    checked = {c["resource"] for c in kubernetes_report["results"]["passed_checks"]}
    assert {"Deployment.databricks-apps.sql-gateway", "Deployment.ingress.oauth2-proxy"} <= checked


def test_kubernetes_checks_fail_only_on_documented_skips(kubernetes_report: dict[str, Any]) -> None:
    assert unexplained(kubernetes_report, load_skips()["kubernetes"]) == []


def test_no_kubernetes_skip_is_stale(kubernetes_report: dict[str, Any]) -> None:
    assert set(load_skips()["kubernetes"]) - set(failures(kubernetes_report)) == set()


def test_checkov_reports_a_weak_pod_spec(tmp_path: Path) -> None:
    """The harness sees failures: a privileged, root pod on a `latest` image fails the checks prod passes."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "weak", "namespace": "default"},
           "spec": {"containers": [{"name": "weak", "image": "nginx:latest",
                                    "securityContext": {"privileged": True, "runAsUser": 0}}]}}
    (tmp_path / "pod.yaml").write_text(yaml.safe_dump(pod))
    report = run_checkov(tmp_path, "kubernetes")
    failed = failures(report)
    # Privileged, root, a `latest` image, no probes.
    for check_id in ("CKV_K8S_16", "CKV_K8S_40", "CKV_K8S_14", "CKV_K8S_8", "CKV_K8S_9"):
        assert failed.get(check_id) == {"Pod.default.weak"}, check_id
    assert unexplained(report, load_skips()["kubernetes"])


def test_images_are_pinned_by_tag(exported: Path) -> None:
    """The premise of the CKV_K8S_43 (digest) skip: every exported container names an explicit, non-latest tag."""
    images = []
    for path in (exported / export.KUBERNETES_DIR).rglob("*.yaml"):
        obj = yaml.safe_load(path.read_text())
        spec = obj.get("spec") or {}
        pod = spec if obj["kind"] == "Pod" else (spec.get("template") or {}).get("spec") or {}
        images += [c["image"] for c in [*pod.get("containers", []), *pod.get("initContainers", [])]]
    assert len(images) >= 3
    for image in images:
        name, _, tag = image.rpartition("/")[2].partition(":")
        assert name and tag and tag != "latest" and "@" not in image, image


def test_checkov_scans_the_arm_template(exported: Path, arm_report: dict[str, Any]) -> None:
    template = json.loads((exported / export.AZURE_DIR / export.ARM_TEMPLATE).read_text())
    # checkov keys ARM resources by type and name (prod declares one private DNS zone name in two resource groups).
    assert arm_report["summary"]["resource_count"] == len({(r["type"], r["name"]) for r in template["resources"]})
    assert arm_report["summary"]["parsing_errors"] == 0
    assert arm_report["summary"]["passed"] >= 15


def test_arm_checks_fail_only_on_documented_skips(arm_report: dict[str, Any]) -> None:
    assert unexplained(arm_report, load_skips()["arm"]) == []


def test_no_arm_skip_is_stale(arm_report: dict[str, Any]) -> None:
    assert set(load_skips()["arm"]) - set(failures(arm_report)) == set()


def test_arm_skips_premises(exported: Path) -> None:
    """CKV_AZURE_6 and CKV_AZURE_8 are skipped because every cluster is private and has no dashboard add-on."""
    template = json.loads((exported / export.AZURE_DIR / export.ARM_TEMPLATE).read_text())
    clusters = [r for r in template["resources"] if r["type"] == "Microsoft.ContainerService/managedClusters"]
    assert clusters
    for cluster in clusters:
        properties = cluster["properties"]
        assert properties["apiServerAccessProfile"]["enablePrivateCluster"] is True, cluster["name"]
        major, minor = (int(part) for part in properties["kubernetesVersion"].split(".")[:2])
        assert (major, minor) >= (1, 19), cluster["name"]
        dashboard = (properties.get("addonProfiles") or {}).get("kubeDashboard") or {}
        assert not dashboard.get("enabled"), cluster["name"]
