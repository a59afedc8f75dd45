"""The Automation API driver (issue 6 §2) and `python -m brickwall env up|preview|destroy`, offline: fakes that
record every call stand in for pulumi.automation stacks, and a fake `pulumi` executable stands in for the CLI
under the real pulumi.automation objects."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import stat
import sys
import threading
from collections.abc import Callable, Mapping, MutableMapping
from ipaddress import IPv4Network
from pathlib import Path
from typing import Any

import pytest
from pulumi import automation as auto

import stacks
from brickwall import cli, driver, exits
from brickwall.driver import Driver, DriverError, IdempotencyError, OperationError, StackMissingError
from brickwall.ledger import Ledger, LedgerError
from brickwall.project import PROJECT_DIR
from components.spec import EnvironmentSpec, SpecError

# Plain, not secret: the Databricks account id the account provider needs (required stack config).
ACCOUNT = {"BRICKWALL_DATABRICKS_ACCOUNT_ID": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}
SECRETS = {
    "BRICKWALL_OAUTH2_CLIENT_SECRET": "s-oauth-client",
    "BRICKWALL_OAUTH2_COOKIE_SECRET": "s-cookie-0123456789abcdef",
}


@pytest.fixture(autouse=True)
def _account_id_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI reads os.environ: the account id is there as CI's repository variable puts it."""
    for key, value in ACCOUNT.items():
        monkeypatch.setenv(key, value)


# --- fakes -----------------------------------------------------------------------------------------------

class FakePreview:
    def __init__(self, summary: Mapping[Any, int]):
        self.change_summary = dict(summary)


class FakeUp:
    def __init__(self) -> None:
        self.outputs = {"workspaceUrl": auto.OutputValue("adb-1.azuredatabricks.net", False),
                        "token": auto.OutputValue("t0ps3cret", True)}


class FakeWorkspace:
    def __init__(self, backend: FakeBackend):
        self.backend = backend

    def remove_stack(self, stack_name: str) -> None:
        self.backend.record(stack_name, "remove_stack")
        self.backend.stacks.discard(stack_name)


class FakeStack:
    def __init__(self, backend: FakeBackend, name: str):
        self.backend, self._name = backend, name
        self._workspace = FakeWorkspace(backend)
        self.config: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return self._name

    @property
    def workspace(self) -> FakeWorkspace:
        return self._workspace

    def set_all_config(self, config: MutableMapping[str, Any], *, path: bool = False) -> None:
        self.backend.record(self._name, "set_all_config", path=path, keys=sorted(config))
        self.config.update({k: (v.value, v.secret, path) for k, v in config.items()})

    def up(self, *, on_output: Callable[[str], Any] | None = None) -> Any:
        self.backend.record(self._name, "up")
        if self.backend.fail_up:
            raise auto.CommandError(auto.CommandResult("Updating (pr-1)", "error: the subscription is not registered", 255))
        if on_output:
            on_output(f"Updating ({self._name})")
            on_output("Resources: + 60 created")
        return FakeUp()

    def preview(self, *, on_output: Callable[[str], Any] | None = None) -> FakePreview:
        self.backend.record(self._name, "preview")
        if on_output:
            on_output(f"Previewing update ({self._name})")
        return FakePreview(self.backend.preview_summary)

    def destroy(self, *, on_output: Callable[[str], Any] | None = None) -> Any:
        self.backend.record(self._name, "destroy")
        if self.backend.fail_destroy:
            raise auto.CommandError(auto.CommandResult("", "error: deleting the VNet: InUseSubnetCannotBeDeleted", 255))
        return None


class FakeBackend:
    """A stack factory that records every call (thread-safe), and what the ledger and spec file held at each one."""

    def __init__(self, state_dir: Path, preview_summary: Mapping[Any, int] | None = None, *, existing: tuple[str, ...] = ()):
        self.state_dir = state_dir
        self.preview_summary = preview_summary if preview_summary is not None else {auto.OpType.SAME: 64}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.stacks: set[str] = set(existing)
        self.made: dict[str, FakeStack] = {}
        self.fail_up = self.fail_destroy = False
        self._lock = threading.Lock()

    def record(self, name: str, op: str, **details: Any) -> None:
        in_ledger = any(e.name == name for e in Ledger(self.state_dir).list())
        spec_written = (self.state_dir / "specs" / f"{name}.json").exists()
        with self._lock:
            self.calls.append((name, op, {**details, "in_ledger": in_ledger, "spec_written": spec_written}))

    def ops(self, name: str) -> list[str]:
        return [op for n, op, _ in self.calls if n == name]

    def __call__(self, name: str, create: bool) -> FakeStack:
        self.record(name, "create_or_select" if create else "select")
        with self._lock:
            if name not in self.stacks:
                if not create:
                    raise StackMissingError(name)
                self.stacks.add(name)
            return self.made.setdefault(name, FakeStack(self, name))


def _driver(tmp_path: Path, backend: FakeBackend, *, environ: Mapping[str, str] | None = None,
            lines: list[str] | None = None, project_dir: Path | None = None) -> Driver:
    out = lines.append if lines is not None else (lambda _line: None)
    return Driver(backend, state_dir=tmp_path, environ=environ if environ is not None else dict(ACCOUNT), out=out,
                  project_dir=project_dir)


def _ingress_base() -> EnvironmentSpec:
    """Staging with prod's ingress tier: a base that needs secrets (OAuth2 proxy, connector credentials)."""
    data = stacks.load("staging").model_dump(mode="json")
    data["ingress"] = stacks.load("prod").model_dump(mode="json")["ingress"]
    return EnvironmentSpec.model_validate(data)


# --- up ---------------------------------------------------------------------------------------------------

def test_up_allocates_writes_the_spec_then_selects_configures_deploys_and_previews(tmp_path: Path) -> None:
    backend, lines = FakeBackend(tmp_path), list[str]()
    result = _driver(tmp_path, backend, lines=lines).up("pr-1", "staging", owner="alice", pull_request="1")

    assert backend.ops("pr-1") == ["create_or_select", "set_all_config", "set_all_config", "up", "preview"]
    first = backend.calls[0][2]
    assert first["in_ledger"] and first["spec_written"]  # allocated and written before the stack is touched
    entry = Ledger(tmp_path).list()[0]
    assert (entry.name, entry.base, entry.owner, entry.pull_request) == ("pr-1", "staging", "alice", "1")
    assert result.entry == entry and result.spec_file == (tmp_path / "specs" / "pr-1.json").resolve()
    # the spec file is the stamp, loadable exactly as __main__.py loads brickwall:specFile
    spec = stacks.load_file(result.spec_file)
    assert spec.name == "pr-1" and spec.stamping.ephemeral
    assert [spec.network.address_space, spec.private_link.transit.address_space] == list(entry.cidrs)  # type: ignore[union-attr]
    assert spec.tags["pull-request"] == "1" and spec.tags["stamped-from"] == "staging"
    # progress streamed, the gate reported, outputs returned with secrets masked
    assert "Updating (pr-1)" in lines and "Previewing update (pr-1)" in lines
    assert any("passed the idempotency gate" in line for line in lines)
    assert result.outputs == {"workspaceUrl": "adb-1.azuredatabricks.net", "token": "[secret]"}


def test_up_sets_the_spec_file_and_the_base_stack_config(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path)
    _driver(tmp_path, backend).up("pr-2", "staging", owner="ci")
    config = backend.made["pr-2"].config
    assert config == {
        "brickwall:specFile": (str((tmp_path / "specs" / "pr-2.json").resolve()), False, False),
        "brickwall:databricksAccountId": (ACCOUNT["BRICKWALL_DATABRICKS_ACCOUNT_ID"], False, False),
        # stacks/Pulumi.staging.yaml's list value, set by path as `pulumi config set --path` would
        "pulumi:disable-default-providers[0]": ("*", False, True),
    }
    # the real ConfigValue objects (what pulumi.automation's set_all_config reads .value and .secret of)
    assert isinstance(driver.automation_config_value("x", True), auto.ConfigValue)


def test_base_secrets_come_from_the_environment_marked_secret_and_never_reach_a_file(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / "stacks").mkdir(parents=True)
    shutil.copy(PROJECT_DIR / "Pulumi.yaml", project / "Pulumi.yaml")
    (project / "stacks" / "Pulumi.staging.yaml").write_text(
        "config:\n  azure-native:location: westeurope\n  brickwall:databricksClientId: 0000-app\n"
        "  brickwall:databricksClientSecret:\n    secure: AAABAKJ0c2VjcmV0\n")
    environ = {**ACCOUNT, **SECRETS, "BRICKWALL_DATABRICKS_CLIENT_SECRET": "s-databricks"}
    backend = FakeBackend(tmp_path / "state")
    _driver(tmp_path / "state", backend, environ=environ, project_dir=project).up("pr-3", "staging", owner="ci",
                                                                                   base=_ingress_base())
    config = backend.made["pr-3"].config
    assert {k: v[1] for k, v in config.items() if k != "brickwall:specFile"} == {
        "azure-native:location": False, "brickwall:databricksClientId": False,
        "brickwall:databricksClientSecret": True, "brickwall:oauth2ClientSecret": True,
        "brickwall:databricksAccountId": False,
        "brickwall:oauth2CookieSecret": True}  # connectors sign in with workload identity: no credential to set
    assert config["brickwall:databricksClientSecret"][0] == "s-databricks"
    written = "".join(p.read_text() for p in (tmp_path / "state").rglob("*") if p.is_file())
    assert not any(secret in written for secret in (*SECRETS.values(), "s-databricks"))


def test_a_missing_secret_variable_is_reported_before_anything_is_allocated(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path)
    environ = {**ACCOUNT, **{k: v for k, v in SECRETS.items() if k != "BRICKWALL_OAUTH2_COOKIE_SECRET"}}
    with pytest.raises(DriverError, match=r"BRICKWALL_OAUTH2_COOKIE_SECRET \(brickwall:oauth2CookieSecret, secret\)"):
        _driver(tmp_path, backend, environ=environ).up("pr-4", "staging", owner="ci", base=_ingress_base())
    assert backend.calls == [] and Ledger(tmp_path).list() == [] and not (tmp_path / "specs").exists()


@pytest.mark.parametrize(("key", "var"), [
    ("brickwall:databricksClientSecret", "BRICKWALL_DATABRICKS_CLIENT_SECRET"),
    ("kubeconfig", "BRICKWALL_KUBECONFIG"),
    ("brickwall:kubeloginMode", "BRICKWALL_KUBELOGIN_MODE"),
    ("brickwall:oauth2ClientSecret", "BRICKWALL_OAUTH2_CLIENT_SECRET"),
])
def test_config_keys_map_to_environment_variables(key: str, var: str) -> None:
    assert driver.config_env_var(key) == var


def test_the_idempotency_gate_fails_on_a_non_empty_second_preview_and_keeps_the_entry(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path, {auto.OpType.SAME: 60, auto.OpType.UPDATE: 2, auto.OpType.REPLACE: 1})
    with pytest.raises(IdempotencyError) as err:
        _driver(tmp_path, backend).up("pr-5", "staging", owner="ci")
    assert err.value.changes == {"update": 2, "replace": 1}
    assert "2 to update" in str(err.value) and "env destroy pr-5" in str(err.value)
    assert backend.ops("pr-5")[-2:] == ["up", "preview"]
    assert [e.name for e in Ledger(tmp_path).list()] == ["pr-5"]
    assert (tmp_path / "specs" / "pr-5.json").exists()


def test_the_gate_ignores_unchanged_and_zero_counts(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path, {"same": 60, "update": 0})
    _driver(tmp_path, backend).up("pr-6", "staging", owner="ci")
    assert [e.name for e in Ledger(tmp_path).list()] == ["pr-6"]


def test_a_failed_up_keeps_the_ledger_entry_and_says_how_to_destroy(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path)
    backend.fail_up = True
    with pytest.raises(OperationError) as err:
        _driver(tmp_path, backend).up("pr-7", "staging", owner="ci")
    assert "the subscription is not registered" in str(err.value)
    assert "env destroy pr-7 --yes" in str(err.value)
    assert backend.ops("pr-7") == ["create_or_select", "set_all_config", "set_all_config", "up"]  # no preview
    assert [e.name for e in Ledger(tmp_path).list()] == ["pr-7"]


def test_up_again_updates_the_same_allocation(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path)
    drv = _driver(tmp_path, backend)
    first = drv.up("pr-8", "staging", owner="ci")
    spec = (tmp_path / "specs" / "pr-8.json").read_text()
    second = drv.up("pr-8", "staging", owner="someone-else")
    assert second.entry == first.entry and len(Ledger(tmp_path).list()) == 1
    assert (tmp_path / "specs" / "pr-8.json").read_text() == spec  # the stamp is a function of the ledger entry
    assert backend.ops("pr-8").count("up") == 2
    with pytest.raises(LedgerError, match="stamped from staging, not"):
        drv.up("pr-8", "staging", owner="ci", base=EnvironmentSpec.model_validate(
            {**stacks.load("staging").model_dump(mode="json"), "name": "qa"}))


@pytest.mark.parametrize("name", ["staging", "prod", "dev"])
def test_the_projects_own_stacks_are_never_stamped_or_destroyed(tmp_path: Path, name: str) -> None:
    backend = FakeBackend(tmp_path, existing=(name,))
    drv = _driver(tmp_path, backend)
    for attempt in (lambda: drv.up(name, "staging", owner="ci"), lambda: drv.destroy(name), lambda: drv.preview(name)):
        with pytest.raises(DriverError, match="one of the project's own stacks"):
            attempt()
    assert backend.calls == []


def test_a_bad_name_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError):
        _driver(tmp_path, FakeBackend(tmp_path)).up("PR_1", "staging", owner="ci")


# --- preview and destroy ------------------------------------------------------------------------------------

def test_preview_reports_the_change_summary_of_an_environment_in_the_ledger(tmp_path: Path) -> None:
    backend, lines = FakeBackend(tmp_path), list[str]()
    drv = _driver(tmp_path, backend, lines=lines)
    drv.up("pr-9", "staging", owner="ci")
    backend.preview_summary = {auto.OpType.SAME: 60, auto.OpType.UPDATE: 1}
    assert drv.preview("pr-9") == {"same": 60, "update": 1}
    assert backend.ops("pr-9")[-4:] == ["select", "set_all_config", "set_all_config", "preview"]
    assert lines[-1] == "brickwall env preview: pr-9: 60 same, 1 update"
    with pytest.raises(LedgerError, match="no environment 'pr-99'"):
        drv.preview("pr-99")


def test_destroy_destroys_removes_the_stack_then_frees_the_ledger_and_the_spec(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path)
    drv = _driver(tmp_path, backend)
    up = drv.up("pr-10", "staging", owner="ci")
    released = drv.destroy("pr-10")
    assert released == up.entry
    tail = [(op, d["in_ledger"]) for n, op, d in backend.calls if n == "pr-10"][-3:]
    assert tail == [("select", True), ("destroy", True), ("remove_stack", True)]  # the ledger is freed last
    assert Ledger(tmp_path).list() == [] and not up.spec_file.exists() and "pr-10" not in backend.stacks
    # its blocks are free again: the next environment gets them
    assert drv.up("pr-11", "staging", owner="ci").entry.cidrs == up.entry.cidrs


def test_a_failed_destroy_keeps_the_stack_and_the_ledger_entry(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path)
    drv = _driver(tmp_path, backend)
    drv.up("pr-12", "staging", owner="ci")
    backend.fail_destroy = True
    with pytest.raises(OperationError, match="InUseSubnetCannotBeDeleted"):
        drv.destroy("pr-12")
    assert "remove_stack" not in backend.ops("pr-12")
    assert [e.name for e in Ledger(tmp_path).list()] == ["pr-12"] and (tmp_path / "specs" / "pr-12.json").exists()


def test_destroy_of_an_entry_whose_stack_never_got_created_frees_it(tmp_path: Path) -> None:
    Ledger(tmp_path).allocate("pr-13", stacks.load("staging"), owner="ci")
    backend = FakeBackend(tmp_path)
    _driver(tmp_path, backend).destroy("pr-13")
    assert backend.ops("pr-13") == ["select"] and Ledger(tmp_path).list() == []


def test_destroy_of_a_name_not_in_the_ledger_touches_nothing(tmp_path: Path) -> None:
    backend = FakeBackend(tmp_path, existing=("pr-14",))
    with pytest.raises(LedgerError, match="no environment 'pr-14'"):
        _driver(tmp_path, backend).destroy("pr-14")
    assert backend.calls == []


# --- concurrency through the driver ---------------------------------------------------------------------

def _assert_distinct(state_dir: Path, names: list[str], configs: dict[str, str]) -> None:
    entries = {e.name: e for e in Ledger(state_dir).list()}
    assert sorted(entries) == sorted(names)
    nets = [IPv4Network(c) for e in entries.values() for c in e.cidrs]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1:])
    for name in names:  # each stack deploys its own stamp, on its own allocation
        spec = stacks.load_file(configs[name])
        assert spec.name == name and spec.network.address_space == entries[name].cidrs[0]


def test_threads_bringing_environments_up_at_once_get_distinct_allocations(tmp_path: Path) -> None:
    backend, errors = FakeBackend(tmp_path), []
    names = [f"t-{i}" for i in range(10)]
    start = threading.Barrier(len(names))

    def work(name: str) -> None:
        try:
            start.wait()
            _driver(tmp_path, backend).up(name, "staging", owner="thread")
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _assert_distinct(tmp_path, names, {n: backend.made[n].config["brickwall:specFile"][0] for n in names})
    assert all(backend.ops(n) == ["create_or_select", "set_all_config", "set_all_config", "up", "preview"] for n in names)


def _up_in_process(args: tuple[str, str]) -> tuple[str, list[str], str]:
    state_dir, name = args
    backend = FakeBackend(Path(state_dir))
    Driver(backend, state_dir=state_dir, environ=dict(ACCOUNT), out=lambda _line: None).up(name, "staging", owner="proc")
    return name, backend.ops(name), backend.made[name].config["brickwall:specFile"][0]


def test_processes_bringing_environments_up_at_once_get_distinct_allocations(tmp_path: Path) -> None:
    names = [f"p-{i}" for i in range(8)]
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_up_in_process, [(str(tmp_path), n) for n in names])
    assert all(ops == ["create_or_select", "set_all_config", "set_all_config", "up", "preview"] for _, ops, _ in results)
    _assert_distinct(tmp_path, names, {n: spec_file for n, _, spec_file in results})


# --- the command line -------------------------------------------------------------------------------------

@pytest.fixture
def fake_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Any]:
    """`env up|preview|destroy` with a recording stack factory in place of pulumi.automation."""
    seen: dict[str, Any] = {}

    def factory(backend: str, *, secrets_provider: str | None = None) -> FakeBackend:
        seen.update(backend=backend, secrets_provider=secrets_provider)
        if "fake" not in seen:  # one backend for every command of a test: the stacks it holds outlive a command
            seen["fake"] = FakeBackend(tmp_path, seen.get("summary"))
        seen["fake"].fail_up = seen.get("fail_up", False)
        return seen["fake"]

    monkeypatch.setattr(driver, "automation_stack_factory", factory)
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "test-passphrase")
    monkeypatch.delenv("BRICKWALL_BACKEND", raising=False)
    monkeypatch.delenv("BRICKWALL_SECRETS_PROVIDER", raising=False)
    return seen


def test_env_up_preview_destroy_end_to_end(tmp_path: Path, fake_cli: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    state = ["--state-dir", str(tmp_path)]
    assert cli.main(["env", "up", "pr-21", "--base", "staging", "--owner", "ci", "--pull-request", "21", *state]) == exits.OK
    out = capsys.readouterr().out
    assert fake_cli["backend"] == f"file://{(tmp_path / 'state').resolve()}"  # the default backend, under the state dir
    assert "Updating (pr-21)" in out and "passed the idempotency gate" in out and "workspaceUrl: adb-1" in out
    assert cli.main(["env", "list", *state]) == exits.OK and "pr-21" in capsys.readouterr().out
    assert cli.main(["env", "preview", "pr-21", *state]) == exits.OK
    assert "pr-21: 64 same" in capsys.readouterr().out
    assert cli.main(["env", "destroy", "pr-21", "--yes", *state]) == exits.OK
    assert fake_cli["fake"].ops("pr-21") == ["create_or_select", "set_all_config", "set_all_config", "up", "preview",
                                             "select", "set_all_config", "set_all_config", "preview",
                                             "select", "destroy", "remove_stack"]
    assert Ledger(tmp_path).list() == []


def test_env_up_exits_3_when_the_idempotency_gate_fails(tmp_path: Path, fake_cli: dict[str, Any],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    fake_cli["summary"] = {"same": 10, "update": 1}
    assert cli.main(["env", "up", "pr-22", "--base", "staging", "--state-dir", str(tmp_path)]) == exits.FLAGGED
    err = capsys.readouterr().err
    assert "FLAGGED: idempotency gate" in err and "Traceback" not in err


def test_env_up_exits_5_when_pulumi_fails(tmp_path: Path, fake_cli: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    fake_cli["fail_up"] = True
    assert cli.main(["env", "up", "pr-23", "--base", "staging", "--state-dir", str(tmp_path)]) == exits.OPERATION_FAILED
    err = capsys.readouterr().err
    assert "`up` of pr-23 failed" in err and "env destroy pr-23 --yes" in err and "Traceback" not in err


def test_without_a_passphrase_env_up_exits_2_before_allocating(tmp_path: Path, fake_cli: dict[str, Any],
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    for var in driver.PASSPHRASE_ENVS:
        monkeypatch.delenv(var, raising=False)
    assert cli.main(["env", "up", "pr-24", "--base", "staging", "--state-dir", str(tmp_path)]) == exits.USAGE
    err = capsys.readouterr().err
    assert "PULUMI_CONFIG_PASSPHRASE" in err and "Traceback" not in err
    assert Ledger(tmp_path).list() == []
    # Pulumi Cloud keeps the secrets itself; a secrets provider replaces the passphrase
    assert cli.main(["env", "up", "pr-24", "--base", "staging", "--state-dir", str(tmp_path),
                     "--backend", "https://api.pulumi.com"]) == exits.OK
    assert fake_cli["backend"] == "https://api.pulumi.com"
    monkeypatch.setenv("BRICKWALL_SECRETS_PROVIDER", "azurekeyvault://kv.vault.azure.net/keys/pulumi")
    monkeypatch.setenv("BRICKWALL_BACKEND", "azblob://brickwall-state")
    assert cli.main(["env", "up", "pr-25", "--base", "staging", "--state-dir", str(tmp_path)]) == exits.OK
    assert fake_cli["backend"] == "azblob://brickwall-state"
    assert fake_cli["secrets_provider"] == "azurekeyvault://kv.vault.azure.net/keys/pulumi"


@pytest.mark.parametrize(("argv", "code", "fragment"), [
    (["env", "up", "pr-1", "--base", "staging", "--backend", "ftp://x"], exits.USAGE, "give a URL"),
    (["env", "up", "pr-1", "--base", "qa"], exits.USAGE, "unknown stack"),
    (["env", "up", "pr-1", "--base", "prod"], exits.INVALID, "stamping.pool"),
    (["env", "up", "staging", "--base", "staging"], exits.USAGE, "own stacks"),
    (["env", "up", "pr-1"], exits.USAGE, "--base"),
    (["env", "preview", "pr-404"], exits.USAGE, "no environment 'pr-404'"),
    (["env", "destroy", "pr-404", "--yes"], exits.USAGE, "no environment 'pr-404'"),
    (["env", "destroy", "pr-404"], exits.USAGE, "pass --yes"),
])
def test_env_deploy_errors_have_the_cli_exit_codes(argv: list[str], code: int, fragment: str, tmp_path: Path,
                                                   fake_cli: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with open(os.devnull) as devnull:
        monkeypatch.setattr(sys, "stdin", devnull)  # not a terminal: destroy needs --yes
        assert cli.main([*argv, "--state-dir", str(tmp_path)]) == code
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert Ledger(tmp_path).list() == []


# --- the real pulumi.automation objects, without the real CLI ---------------------------------------------

def test_without_the_pulumi_cli_env_up_exits_2_with_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "x")
    code = cli.main(["env", "up", "pr-31", "--base", "staging", "--state-dir", str(tmp_path / "state")])
    err = capsys.readouterr().err
    assert code == exits.USAGE and "Traceback" not in err
    assert "Pulumi CLI is not on PATH" in err and "curl -fsSL https://get.pulumi.com | sh -s -- --version 3." in err
    assert not (tmp_path / "state").exists()  # nothing allocated, nothing written


def test_the_real_pulumi_command_missing_is_the_same_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the PATH check (a stale `which`), pulumi.automation's own PulumiCommand fails to start the CLI."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(shutil, "which", lambda _cmd: "/usr/local/bin/pulumi")
    with pytest.raises(FileNotFoundError):
        auto.PulumiCommand()
    with pytest.raises(driver.CliMissingError, match=r"get\.pulumi\.com"):
        driver.automation_stack_factory(f"file://{tmp_path}/state")
    assert not (tmp_path / "state").exists()


def test_the_workspace_options_use_the_project_directory_and_the_backend(tmp_path: Path) -> None:
    opts = driver.workspace_options("azblob://state", project_dir=PROJECT_DIR, secrets_provider="azurekeyvault://kv/keys/k")
    assert isinstance(opts, auto.LocalWorkspaceOptions)
    assert opts.work_dir == str(PROJECT_DIR) and (Path(opts.work_dir) / "Pulumi.yaml").exists()
    assert opts.env_vars is not None and opts.env_vars["PULUMI_BACKEND_URL"] == "azblob://state"
    assert opts.secrets_provider == "azurekeyvault://kv/keys/k"
    assert opts.project_settings is None  # the project's Pulumi.yaml is never rewritten
    assert driver.resolve_backend(None, tmp_path, {}) == f"file://{tmp_path.resolve()}/state"
    assert driver.resolve_backend(None, tmp_path, {"BRICKWALL_BACKEND": "https://api.pulumi.com"}) == "https://api.pulumi.com"
    assert driver.resolve_backend("azblob://c", tmp_path, {"BRICKWALL_BACKEND": "https://api.pulumi.com"}) == "azblob://c"


FAKE_PULUMI = """#!{python}
import json, os, sys
args = sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(json.dumps({{"args": args, "cwd": os.getcwd(), "backend": os.environ.get("PULUMI_BACKEND_URL")}}) + "\\n")
if args == ["version"]:
    print("v3.272.0")
elif "select" in args and not os.path.exists({made!r}):
    sys.stderr.write("error: no stack named 'pr-41' found\\n")
    sys.exit(255)
elif "init" in args:
    open({made!r}, "w").close()
"""


def test_the_real_automation_stack_gets_the_driver_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in `pulumi` executable records the command lines the real pulumi.automation objects run for the
    driver: select (not found) then init, config set-all (plain, secret, by path) and stack rm, all in the
    project directory with the backend in PULUMI_BACKEND_URL."""
    bin_dir, log, made = tmp_path / "bin", tmp_path / "calls.jsonl", tmp_path / "stack-made"
    bin_dir.mkdir()
    script = bin_dir / "pulumi"
    script.write_text(FAKE_PULUMI.format(python=sys.executable, log=str(log), made=str(made)))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    backend = f"file://{tmp_path / 'state'}"

    factory = driver.automation_stack_factory(backend, secrets_provider="passphrase")
    assert (tmp_path / "state").is_dir()
    stack = factory("pr-41", True)
    assert isinstance(stack, auto.Stack)
    drv = Driver(factory, state_dir=tmp_path, environ={**ACCOUNT, "BRICKWALL_DATABRICKS_CLIENT_SECRET": "s3"})
    drv._configure(stack, drv.stack_config("pr-41", "staging", stacks.load("staging")))
    stack.workspace.remove_stack("pr-41")

    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert {c["cwd"] for c in calls} == {str(PROJECT_DIR)}
    assert all(c["backend"] == backend for c in calls if c["args"] != ["version"])
    commands = [[a for a in c["args"] if a != "--non-interactive"] for c in calls if c["args"] != ["version"]]
    spec_file = str((tmp_path / "specs" / "pr-41.json").resolve())
    assert commands == [
        ["stack", "select", "--stack", "pr-41"],
        ["stack", "init", "pr-41", "--secrets-provider", "passphrase"],
        ["config", "set-all", "--stack", "pr-41", "--plaintext", f"brickwall:specFile={spec_file}",
         "--plaintext", f"brickwall:databricksAccountId={ACCOUNT['BRICKWALL_DATABRICKS_ACCOUNT_ID']}",
         "--secret", "brickwall:databricksClientSecret=s3"],
        ["config", "set-all", "--stack", "pr-41", "--path", "--plaintext", "pulumi:disable-default-providers[0]=*"],
        ["stack", "rm", "--yes", "pr-41"],
    ]


def test_env_up_validates_the_stamped_spec_before_allocating(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stamped spec that would not validate stops `env up` before the ledger holds anything."""
    from components.spec import Problem
    from components.spec import stamp as stamping

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise SpecError("environment pr-9", [Problem(("name",), "refused for the test")])

    monkeypatch.setattr(stamping, "stamp", refuse)
    backend = FakeBackend(tmp_path)
    drv = _driver(tmp_path, backend)
    with pytest.raises(SpecError, match="refused for the test"):
        drv.up("pr-9", "staging", owner="ci")
    assert drv.ledger.list() == [] and "pr-9" not in backend.made
