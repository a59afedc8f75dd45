"""Offline checks on exported Kubernetes manifests, for any test that exports a recording.

- `validate_manifests(paths)`: every typed object validated strictly (unknown fields are errors) against the
  Kubernetes 1.33 OpenAPI schemas that kubernetes-validate ships; custom resources (no schema there) are skipped.
- `allowed_flows(manifest_dir)`: what the NetworkPolicies allow between the exported workloads, computed by
  network-config-analyzer (`nca --connectivity`), as a set of `Flow(src, dst, port)`.

Both tools run from tool environments of their own (tests/tool_env.py, pinned in tests/tools/<tool>.txt), so their
pins never have to resolve with the project's: kubernetes-validate runs this file as a script (one process for all
the paths of a call), nca as `python -m nca` (it keeps global state and edits PATH, a subprocess either way).

Flow endpoints are "namespace/workload" (a Deployment, StatefulSet, DaemonSet... or bare Pod) or an IP range
("0.0.0.0/0", "10.0.0.0/8", or "a.b.c.d-e.f.g.h" when not one CIDR); `port` is "TCP/8080", "UDP/53",
"TCP/8000-8010", "TCP/*" (every port of the protocol), "*/443" (every protocol) or "*" (all connections).
Connections from a workload to itself are not listed (nca leaves them out). When a policy selects kube-dns by its
usual labels and no such pod was exported, nca adds one, "kube-system/kube-dns-livesim".
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

import yaml

try:  # the project's tests import this file for its helpers; the tool environment runs it as a script
    from tests import tool_env
except ImportError:
    tool_env = None  # type: ignore[assignment]

K8S_VERSION = "1.33"


class Flow(NamedTuple):
    src: str
    dst: str
    port: str


def documents(path: Path) -> list[Any]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def is_custom_resource(obj: dict[str, Any]) -> bool:
    """An object of a CRD: its API group is a domain outside Kubernetes' own (*.k8s.io) groups."""
    api_version = str(obj.get("apiVersion", ""))
    group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return "." in group and not group.endswith(".k8s.io")


def validate_manifests(paths: Iterable[Path], version: str = K8S_VERSION) -> list[str]:
    """Problems found validating every object in `paths` strictly against Kubernetes `version` ([] when clean)."""
    files = [str(path) for path in paths]
    if not files:
        return []
    cmd = [str(tool_env.python("kubernetes-validate")), __file__, version, *files]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, env=tool_env.environ())
    if result.returncode != 0:
        raise RuntimeError(f"kubernetes-validate exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    problems = json.loads(result.stdout)
    assert isinstance(problems, list)
    return problems


def _validate_here(paths: Iterable[Path], version: str) -> list[str]:
    """validate_manifests' work, inside the kubernetes-validate tool environment."""
    import kubernetes_validate  # only the tool environment has it

    problems: list[str] = []
    for path in paths:
        for obj in documents(path):
            if not isinstance(obj, dict) or "apiVersion" not in obj or "kind" not in obj:
                problems.append(f"{path}: not a Kubernetes object: {obj!r:.80}")
                continue
            what = f"{obj['kind']}/{(obj.get('metadata') or {}).get('name', '?')}"
            if is_custom_resource(obj):
                continue  # no schema to check a CRD's objects against
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = ".".join(str(p) for p in exc.path) or "<root>"
                problems.append(f"{path}: {what}: {where}: {exc.message}")
            except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.InvalidSchemaError) as exc:
                problems.append(f"{path}: {what}: {exc.message}")
    return problems


# --- network-config-analyzer ---------------------------------------------------------------------------------

_LINE = re.compile(r"^(?P<src>\S+) => (?P<dst>\S+) : (?P<conn>.+)$")
_CUBE = re.compile(r"\{([^{}]*)\}")
_DIMENSION = re.compile(r"(protocols|src_ports|dst_ports|methods|paths|hosts):")


def run_nca(manifest_dir: Path, *args: str) -> str:
    """Run `nca <args> -r manifest_dir` and return its query output (the file it writes; stdout is chatter).

    `-r` gives nca every namespace, workload and policy under the directory (recursively), so it never falls
    back to a live cluster through kubectl.
    """
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "nca.out"
        cmd = [str(tool_env.python("network-config-analyzer")), "-m", "nca", *args, "-r", str(manifest_dir), "-f", str(out)]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False, env=tool_env.environ())
        if result.returncode != 0 or not out.exists():
            raise RuntimeError(f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
        return out.read_text()


def _endpoint(text: str) -> str:
    text = re.sub(r"\[[A-Za-z]+\]$", "", text)  # ns/name[Deployment] -> ns/name
    if "-" in text and "/" not in text:  # an IP range "first-last"
        first, last = (ipaddress.ip_address(part) for part in text.split("-", 1))
        networks = list(ipaddress.summarize_address_range(first, last))  # type: ignore[type-var]
        return str(networks[0]) if len(networks) == 1 else text
    return text


def _ports(connection: str) -> set[str]:
    if connection == "All connections":
        return {"*"}
    cubes = _CUBE.findall(connection)
    if not cubes or _CUBE.sub("", connection).strip(",") or connection.startswith("All but"):
        raise ValueError(f"unsupported nca connection syntax: {connection!r}")
    ports: set[str] = set()
    for cube in cubes:
        marks = list(_DIMENSION.finditer(cube))
        dims = {m.group(1): cube[m.end(): nxt.start() if nxt else None].strip().rstrip(",")
                for m, nxt in zip(marks, [*marks[1:], None], strict=True)}
        if set(dims) - {"protocols", "dst_ports"}:
            raise ValueError(f"unsupported nca connection dimensions in {connection!r}")
        protocols = [p.strip() for p in dims.get("protocols", "*").split(",")]
        port_list = [p.strip() for p in dims.get("dst_ports", "*").split(",")]
        ports |= {f"{protocol}/{port}" for protocol in protocols for port in port_list}
    return ports


def parse_connectivity(text: str) -> set[Flow]:
    """Parse nca's `--connectivity -o txt_no_fw_rules` output ("src => dst : connection" lines)."""
    flows: set[Flow] = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise ValueError(f"unexpected nca output line: {line!r}")
        src, dst = _endpoint(match["src"]), _endpoint(match["dst"])
        flows |= {Flow(src, dst, port) for port in _ports(match["conn"])}
    return flows


def stand_in_pod(namespace: str, name: str, labels: dict[str, str]) -> dict[str, Any]:
    """A Pod standing in for a workload the export cannot show (a Helm chart's, rendered by the provider)."""
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"containers": [{"name": name, "image": "stand-in"}]}}


def allowed_flows(manifest_dir: Path, stand_ins: Iterable[dict[str, Any]] = ()) -> set[Flow]:
    """Every connection the NetworkPolicies under `manifest_dir` allow between its workloads and IP ranges.

    Policies only show flows between workloads that exist: Helm charts' pods are not in the export, so pass
    `stand_in_pod(...)`s with their labels to see what the policies allow them (they are analysed from a copy).
    """
    pods = list(stand_ins)
    if not pods:
        return parse_connectivity(run_nca(manifest_dir, "--connectivity", "-o", "txt_no_fw_rules"))
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "manifests"
        shutil.copytree(manifest_dir, copy)
        (copy / "_stand-ins.yaml").write_text(yaml.safe_dump_all(pods, sort_keys=True))
        return parse_connectivity(run_nca(copy, "--connectivity", "-o", "txt_no_fw_rules"))


if __name__ == "__main__":  # `python k8s_checks.py VERSION PATH...` in the kubernetes-validate tool environment
    json.dump(_validate_here([Path(p) for p in sys.argv[2:]], sys.argv[1]), sys.stdout)
