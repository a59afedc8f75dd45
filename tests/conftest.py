"""Each environment is built once per test session and shared by every test that reads it."""

from __future__ import annotations

import copy
import fcntl
import pickle
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

import stacks
from brickwall import planfile, project
from brickwall.engine import Recording
from components.spec import EnvironmentSpec
from tests import node_tools, tool_env

_RECORDINGS: dict[str, Recording] = {}
_RUN = project.run  # the real one: `shared_renders` stands in for project.run in the tests that ask for it


# The files that take longest (tens of seconds each: subprocess smoke tests, whole-workflow runs, many checks over
# whole plans), slowest first. pytest-xdist hands out files in collection order (`--dist loadfile` with
# `--no-loadscope-reorder`, pyproject.toml): started first, they run beside the many short files instead of
# leaving one worker alone with them at the end. Only the order changes.
SLOW_FIRST = ("test_policies.py", "test_workflows.py", "test_benchmark.py", "test_standing_audit.py",
              "test_standing_audit_azure.py", "test_invalid_ingress.py", "test_reachability.py", "test_cli.py",
              "test_diff.py", "test_export.py", "test_stamping.py", "test_report.py", "test_audit_kubernetes.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: each file keeps its order
    _build_tool_environments(items)


def _build_tool_environments(items: list[pytest.Item]) -> None:
    """When the collected tests run a scanner (their module uses tests/tool_env.py, itself or through k8s_checks or
    test_checkov), build the stale tool environments in the background while the stacks render; likewise the npm
    packages of the node checks (a module naming a directory with a package-lock.json: tests/kql, crd, mermaid). A
    test that needs one before it is ready waits on its lock (so do parallel workers: one builds, the others wait)."""
    users = {"tests.tool_env", "tests.k8s_checks", "tests.test_checkov"}
    values = [value for module in {getattr(item, "module", None) for item in items} if module is not None
              for value in vars(module).values()]
    if any(getattr(value, "__name__", None) in users for value in values):
        threading.Thread(target=tool_env.build_stale, name="tool-env-build", daemon=True).start()
    packages = sorted({value for value in values if isinstance(value, Path) and (value / "package-lock.json").is_file()})
    if packages:
        threading.Thread(target=node_tools.install_stale, args=(packages,), name="npm-install", daemon=True).start()


T = TypeVar("T")
_SHARED_DIR: list[Path] = []  # under pytest-xdist: the run's temp directory every worker sees (set by `_shared_dir`)


@pytest.fixture(scope="session", autouse=True)
def _shared_dir(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> None:
    """pytest-xdist gives each worker `<run>/popen-gwN` as its base temp: their parent is the run's own."""
    if worker_id != "master":
        _SHARED_DIR.append(tmp_path_factory.getbasetemp().parent)


def shared(key: str, build: Callable[[], T]) -> T:
    """`build()`, made once per test run: under pytest-xdist the first worker to need `key` builds it and leaves it
    pickled in the run's directory; the others wait on its lock and read that. Without workers, just `build()`."""
    if not _SHARED_DIR:
        return build()
    path = _SHARED_DIR[0] / f"shared-{key}.pickle"
    with open(path.with_suffix(".lock"), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if path.exists():
            found: T = pickle.loads(path.read_bytes())
            return found
        value = build()
        part = path.with_suffix(".part")
        part.write_bytes(pickle.dumps(value))
        part.replace(path)
        return value


def recording_of(stack: str) -> Recording:
    if stack not in _RECORDINGS:
        _RECORDINGS[stack] = shared(f"render-{stack}", lambda: _RUN(stack))
    return _RECORDINGS[stack]


@pytest.fixture
def shared_renders(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process CLI tests (`cli.main([...])`) get a stack's render from the session instead of rendering it again:
    `project.run(stack)` with nothing else (no spec file, no extra config, not a preview) returns the session's
    recording of that stack; any other call renders for real. For tests of what a command does with a render, not
    of rendering (those call project.run or the subprocess smoke tests)."""

    def run(stack: str, spec_file: Any = None, project_dir: Any = None, **kwargs: Any) -> Recording:
        if spec_file is None and project_dir is None and not kwargs:
            return recording_of(stack)
        return _RUN(stack, spec_file, project_dir, **kwargs)

    monkeypatch.setattr(project, "run", run)


@pytest.fixture(scope="session", params=stacks.KNOWN_STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def rec(stack: str) -> Recording:
    return recording_of(stack)


@pytest.fixture(scope="session")
def spec(stack: str) -> EnvironmentSpec:
    return stacks.load(stack)


@pytest.fixture(scope="session")
def prod() -> Recording:
    return recording_of("prod")


@pytest.fixture(scope="session")
def staging() -> Recording:
    return recording_of("staging")


@pytest.fixture(scope="session")
def dev() -> Recording:
    return recording_of("dev")


@pytest.fixture(scope="session")
def prod_again(prod: Recording) -> Recording:
    """A second, independent render of prod (after the session's first): what the determinism tests compare."""
    return _RUN("prod")


@pytest.fixture(scope="session")
def prod_preview() -> Recording:
    """prod as its first `pulumi preview` sees it (outputs only Azure computes, the workspace URL and identities, stay
    unknown): shared by the preview tests (tests/test_keys.py, tests/test_access.py)."""
    return shared("render-prod-preview", lambda: _RUN("prod", preview=True))


@pytest.fixture(scope="session")
def prod_plan(prod: Recording) -> dict:
    return planfile.to_plan(prod)


@pytest.fixture(scope="session")
def bastion_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, EnvironmentSpec]:
    """Staging with bastion.enabled: the Bastion component and its rules' tests share this one render."""
    data = copy.deepcopy(stacks.load("staging").model_dump(mode="json"))
    data["bastion"]["enabled"] = True
    path = tmp_path_factory.mktemp("staging-bastion") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return shared("render-staging-bastion", lambda: project.run("staging", spec_file=path)), stacks.load_file(path)


@pytest.fixture(scope="session")
def prod_ingress_variant(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """One render of prod with independent ingress changes, each read by its own tests: the first route on an ACME
    certificate (a public load balancer and a contact email: adds the Issuer; tests/test_crd_schemas.py), a catch-all
    route `/` with five methods on the jobs host and the stack config value kubeloginMode set to workloadidentity
    (tests/test_ingress.py)."""
    data = copy.deepcopy(stacks.load("prod").model_dump(mode="json"))
    data["ingress"]["routes"][0]["certificate_issuer"] = "acme"
    data["ingress"]["load_balancer"] = "public"
    data["ingress"]["acme_email"] = "platform@contoso.com"
    data["ingress"]["routes"].append({**data["ingress"]["routes"][1], "name": "jobs-root", "path": "/",
                                      "methods": ["GET", "HEAD", "POST", "PUT", "PATCH"]})
    path = tmp_path_factory.mktemp("prod-ingress-variant") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return shared("render-prod-ingress-variant", lambda: project.run(
        "prod", spec_file=path, extra_config={"brickwall:kubeloginMode": "workloadidentity"}))


# A hub the toolkit creates for staging: clear of staging's VNets, its stamping pool and the other stacks' ranges.
CREATED_HUB_RANGE = "10.140.0.0/24"


def with_created_firewall_hub(data: dict[str, Any], address_space: str = CREATED_HUB_RANGE) -> dict[str, Any]:
    """`data` (a spec as JSON data) with egress through an Azure Firewall in a hub the toolkit creates. Composable with
    other feature switches (the all-features variant for ARM validation): it touches only network.egress."""
    data = copy.deepcopy(data)
    data["network"]["egress"] = {**data["network"].get("egress", {}), "mode": "firewall", "firewall_private_ip": None,
                                 "hub": {"create": True, "address_space": [address_space]}}
    return data


@pytest.fixture(scope="session")
def firewall_hub_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, EnvironmentSpec]:
    """Staging with firewall egress through a hub the toolkit creates (prod is the existing-hub case)."""
    data = with_created_firewall_hub(stacks.load("staging").model_dump(mode="json"))
    path = tmp_path_factory.mktemp("staging-firewall-hub") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return shared("render-staging-firewall-hub", lambda: project.run("staging", spec_file=path)), stacks.load_file(path)


@pytest.fixture(scope="session")
def all_features_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, EnvironmentSpec]:
    """Prod with every optional feature switched on: Bastion and the jump host, a user node pool on prod's AKS, SQL,
    customer-managed keys, the SIEM export, the monitoring private link scope and firewall egress through a hub the
    toolkit creates. What the ARM validation holds against Azure's schemas."""
    data = with_created_firewall_hub(stacks.load("prod").model_dump(mode="json"))
    data["bastion"] = {**stacks.load("staging").model_dump(mode="json")["bastion"], "enabled": True}
    data["ingress"]["aks"]["user_pool"] = {"name": "ingress", "min_count": 2, "max_count": 4}
    path = tmp_path_factory.mktemp("prod-all-features") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return shared("render-prod-all-features", lambda: project.run("prod", spec_file=path)), stacks.load_file(path)
