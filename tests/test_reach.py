"""`python -m brickwall reach` (the preflight of CI jobs on a private workspace) and `runners` (which stacks need a
private runner), offline: the resolver, the TCP connector and the backend's outputs are injected fakes, so every
outcome (private and connecting, public, not resolving, refused, timed out, first deployment) runs here without a
network. The spec decides what is private; the tests change the spec and watch the answer change.
"""

from __future__ import annotations

import argparse
import json
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import stacks
from brickwall import cli, exits, reach
from brickwall.cli import reach as reach_command
from brickwall.cli.errors import exit_code
from components.private_link import DATABRICKS_ZONE
from tests.docs import readme

HOST = "adb-1234567890123456.7.azuredatabricks.net"
FRONT_END_IP = "10.130.0.4"  # prod's transit VNet is 10.130.0.0/24; its endpoint subnet the first /27


class Resolver:
    def __init__(self, answer: list[str] | OSError):
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        if isinstance(self.answer, OSError):
            raise self.answer
        return list(self.answer)


class Connector:
    def __init__(self, failures: Mapping[str, OSError] | None = None):
        self.failures = dict(failures or {})
        self.tried: list[tuple[str, int, float]] = []

    def __call__(self, address: str, port: int, timeout: float) -> None:
        self.tried.append((address, port, timeout))
        if address in self.failures:
            raise self.failures[address]


def _args(*argv: str) -> argparse.Namespace:
    return cli.parser().parse_args(["reach", *argv])


def _reach(*argv: str, **fakes: Any) -> int:
    """The command as `main` runs it (what it raises turned into its exit code and message), with fakes."""
    return exit_code(lambda: reach_command.run(_args(*argv), **fakes))


def _run(capsys: pytest.CaptureFixture[str], argv: list[str], *, resolve: Resolver, connect: Connector,
         outputs: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[int, list[str]]:
    """Run the command as the CLI would, with fakes; every line it printed, on either stream."""
    asked: list[str] = []

    def read(stack: str) -> Mapping[str, Any] | None:
        asked.append(stack)
        return (outputs or {}).get(stack)

    code = _reach(*argv, resolve=resolve, connect=connect, outputs=read)
    out = capsys.readouterr()
    return code, [line for line in (out.out + out.err).splitlines() if line]


def test_private_and_connecting_passes_naming_the_endpoint_subnet(capsys: pytest.CaptureFixture[str]) -> None:
    resolve, connect = Resolver([FRONT_END_IP]), Connector()
    code, lines = _run(capsys, ["--stack", "prod"], resolve=resolve, connect=connect,
                       outputs={"prod": {"workspaceUrl": HOST, "maxClusterNodes": 2043}})
    assert code == exits.OK
    assert len(lines) == 1
    assert lines[0].startswith(f"prod: {HOST} resolves to {FRONT_END_IP} (private, in the transit endpoint subnet 10.130.0.0/27)")
    assert resolve.asked == [HOST]
    assert connect.tried == [(FRONT_END_IP, 443, reach.TIMEOUT_SECONDS)]


def test_a_url_with_scheme_and_path_is_reduced_to_its_host(capsys: pytest.CaptureFixture[str]) -> None:
    resolve = Resolver([FRONT_END_IP])
    code, _ = _run(capsys, ["--stack", "prod", "--url", f"https://{HOST.upper()}/?o=1"], resolve=resolve, connect=Connector())
    assert code == exits.OK and resolve.asked == [HOST]


def test_resolving_public_fails_in_one_line_saying_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    connect = Connector()
    code, lines = _run(capsys, ["--stack", "prod", "--url", HOST], resolve=Resolver(["20.38.85.1"]), connect=connect)
    assert code == exits.UNREACHABLE == 6
    assert len(lines) == 1
    line = lines[0]
    assert f"prod: {HOST} resolves to 20.38.85.1 (public)" in line
    assert DATABRICKS_ZONE in line and "transit VNet" in line and "dns_link_vnet_ids" in line
    assert reach.RUNNER_VARIABLE in line and "PRIVATE_RUNNER_LABELS" in line
    assert connect.tried == []  # a public address is never tried: the workspace refuses public traffic anyway


def test_one_public_address_among_private_ones_is_public(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _run(capsys, ["--stack", "prod", "--url", HOST], resolve=Resolver([FRONT_END_IP, "2603:1020::1"]),
                       connect=Connector())
    assert code == exits.UNREACHABLE and "2603:1020::1 (public)" in lines[0]


def test_not_resolving_fails_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    gaierror = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    code, lines = _run(capsys, ["--stack", "staging", "--url", HOST], resolve=Resolver(gaierror), connect=Connector())
    assert code == exits.UNREACHABLE
    assert len(lines) == 1
    assert f"staging: {HOST} does not resolve from this runner (Name or service not known)" in lines[0]
    assert "PRIVATE_RUNNER_LABELS" in lines[0]


@pytest.mark.parametrize(("failure", "said"), [
    (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
    (TimeoutError("timed out"), "timed out after 2 s"),
    (OSError(113, "No route to host"), "No route to host"),
])
def test_private_but_not_connecting_fails_naming_the_path_not_dns(capsys: pytest.CaptureFixture[str], failure: OSError,
                                                                  said: str) -> None:
    connect = Connector({FRONT_END_IP: failure})
    code, lines = _run(capsys, ["--stack", "prod", "--url", HOST, "--timeout", "2"], resolve=Resolver([FRONT_END_IP]),
                       connect=connect)
    assert code == exits.UNREACHABLE
    assert len(lines) == 1
    assert f"{FRONT_END_IP}:443 {said}" in lines[0]
    assert "DNS is right, the path is not" in lines[0]
    assert connect.tried == [(FRONT_END_IP, 443, 2.0)]


def test_the_next_address_is_tried_when_one_does_not_connect(capsys: pytest.CaptureFixture[str]) -> None:
    other = "10.130.0.5"
    connect = Connector({FRONT_END_IP: TimeoutError()})
    code, lines = _run(capsys, ["--stack", "prod", "--url", HOST], resolve=Resolver([FRONT_END_IP, other]), connect=connect)
    assert code == exits.OK and f"resolves to {other}" in lines[0]
    assert [t[0] for t in connect.tried] == [FRONT_END_IP, other]


def test_first_deployment_has_no_url_and_passes_saying_so(capsys: pytest.CaptureFixture[str]) -> None:
    resolve = Resolver([FRONT_END_IP])
    cases: list[dict[str, dict[str, Any]]] = [{}, {"prod": {}}]
    for outputs in cases:  # no stack in the backend; a stack that was never deployed
        code, lines = _run(capsys, ["--stack", "prod"], resolve=resolve, connect=Connector(), outputs=outputs)
        assert code == exits.OK
        assert len(lines) == 1 and lines[0].startswith("prod: first deployment (no workspaceUrl output in the backend yet)")
    assert resolve.asked == []


def test_a_public_workspace_needs_no_private_network_and_touches_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    resolve, connect = Resolver(OSError("must not be called")), Connector()
    code, lines = _run(capsys, ["--stack", "dev"], resolve=resolve, connect=connect, outputs={"dev": {"workspaceUrl": HOST}})
    assert code == exits.OK
    assert lines == ["dev: workspace.public_network_access Enabled: its front end answers on the Internet; "
                     "any runner reaches it, no private network needed"]
    assert resolve.asked == [] and connect.tried == []


def test_privacy_comes_from_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """prod's spec with public network access Enabled (a spec file, rendered under the name prod) no longer needs a
    private network: the answer follows the field, not the stack's name."""
    data = stacks.load("dev").model_dump(mode="json")
    data["workspace"]["public_network_access"] = "Disabled"
    data["private_link"].update({"frontend": True, "browser_authentication": "this_workspace",
                                 "transit": {"address_space": "10.140.0.0/24"}})
    private_dev = tmp_path / "dev-private.json"
    private_dev.write_text(json.dumps(data))
    code, lines = _run(capsys, ["--stack", "dev", "--spec", str(private_dev), "--url", HOST],
                       resolve=Resolver(["20.38.85.1"]), connect=Connector())
    assert code == exits.UNREACHABLE and "(public)" in lines[0]
    code, lines = _run(capsys, ["--stack", "dev", "--spec", str(private_dev), "--url", HOST],
                       resolve=Resolver(["10.140.0.4"]), connect=Connector())
    assert code == exits.OK and "in the transit endpoint subnet 10.140.0.0/27" in lines[0]


def test_a_stamped_environment_is_judged_by_its_stamped_spec_or_its_base(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "state"
    # Not yet stamped (first `env up`): the base decides, and without a URL it is a first deployment.
    code, lines = _run(capsys, ["--stack", "pr-7", "--base", "staging", "--state-dir", str(state)],
                       resolve=Resolver([]), connect=Connector())
    assert code == exits.OK and lines[0].startswith("pr-7: first deployment")
    # Stamped: its own spec, with its own transit range.
    data = stacks.load("staging").model_dump(mode="json")
    data["private_link"]["transit"]["address_space"] = "10.66.0.0/24"
    (state / "specs").mkdir(parents=True)
    (state / "specs" / "pr-7.json").write_text(json.dumps(data))
    code, lines = _run(capsys, ["--stack", "pr-7", "--base", "staging", "--state-dir", str(state)],
                       resolve=Resolver(["10.66.0.4"]), connect=Connector(), outputs={"pr-7": {"workspaceUrl": HOST}})
    assert code == exits.OK and "in the transit endpoint subnet 10.66.0.0/27" in lines[0]


def test_a_stamped_name_without_its_base_is_a_usage_error() -> None:
    assert cli.main(["reach", "--stack", "pr-7"]) == exits.USAGE


def test_an_unreadable_backend_is_an_environment_error_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No passphrase for a self-managed backend: exit 2 before the Pulumi CLI is even looked for."""
    code = _reach("--stack", "prod", "--backend", f"file://{tmp_path}", resolve=Resolver([]), connect=Connector(), environ={})
    err = capsys.readouterr().err.strip().splitlines()
    assert code == exits.USAGE and len(err) == 1 and "PULUMI_CONFIG_PASSPHRASE" in err[0]


class _Output:
    def __init__(self, value: Any, secret: bool = False):
        self.value, self.secret = value, secret


class _Stack:
    def __init__(self, outputs: dict[str, _Output] | Exception):
        self._outputs = outputs

    def outputs(self) -> dict[str, _Output]:
        if isinstance(self._outputs, Exception):
            raise self._outputs
        return self._outputs


def test_the_backend_reader_maps_stacks_and_failures(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The real reader over a fake Automation API factory: a missing stack is a first deployment, the outputs'
    values are read, and a backend that fails is an environment error (exit 2) in one line, never a traceback."""
    from brickwall import driver

    stacks_in_backend: dict[str, _Stack] = {
        "prod": _Stack({"workspaceUrl": _Output(HOST), "subnets": _Output({"host": "10.30.0.0/21"})}),
        "staging": _Stack(RuntimeError("code: 255\n stdout: \n stderr: error: failed to decrypt: incorrect passphrase\n")),
    }
    seen: list[tuple[str, str | None]] = []

    def factory(backend: str, *, secrets_provider: str | None = None) -> driver.StackFactory:
        seen.append((backend, secrets_provider))

        def select(name: str, create: bool) -> Any:
            assert create is False  # the preflight never creates a stack
            if name not in stacks_in_backend:
                raise driver.StackMissingError(name)
            return stacks_in_backend[name]
        return select

    monkeypatch.setattr(driver, "automation_stack_factory", factory)
    read = reach.backend_outputs("azblob://state", None)
    assert read("prod") == {"workspaceUrl": HOST, "subnets": {"host": "10.30.0.0/21"}}
    assert read("pr-9") is None
    with pytest.raises(driver.DriverError, match="cannot read the outputs of staging in azblob://state: "
                                                 "error: failed to decrypt: incorrect passphrase"):
        read("staging")
    assert seen == [("azblob://state", None)]

    environ = {"PULUMI_CONFIG_PASSPHRASE": "x", "PULUMI_BACKEND_URL": "azblob://state"}
    code = _reach("--stack", "staging", resolve=Resolver([]), connect=Connector(), environ=environ)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == exits.USAGE and len(err) == 1 and "incorrect passphrase" in err[0]
    code = _reach("--stack", "prod", resolve=Resolver([FRONT_END_IP]), connect=Connector(), environ=environ)
    assert code == exits.OK and HOST in capsys.readouterr().out


def test_no_pulumi_cli_is_an_environment_error_in_one_line(monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    from brickwall import driver

    def no_cli(backend: str, *, secrets_provider: str | None = None) -> driver.StackFactory:
        raise driver.CliMissingError(driver.install_hint())

    monkeypatch.setattr(driver, "automation_stack_factory", no_cli)
    code = _reach("--stack", "prod", "--backend", "azblob://state", resolve=Resolver([]), connect=Connector(),
                  environ={"PULUMI_CONFIG_PASSPHRASE": "x"})
    err = capsys.readouterr().err.strip().splitlines()
    assert code == exits.USAGE and len(err) == 1
    assert "the Pulumi CLI is not on PATH" in err[0] and "curl -fsSL https://get.pulumi.com" in err[0]


def test_the_exit_code_is_in_the_one_table() -> None:
    assert exits.UNREACHABLE not in {exits.OK, exits.INVALID, exits.USAGE, exits.FLAGGED,
                                        exits.INTERNAL, exits.OPERATION_FAILED}
    assert "6 (UNREACHABLE, brickwall/exits.py)" in (reach.__doc__ or "")
    [row] = [e for e in exits.TABLE if e.code == exits.UNREACHABLE]
    assert "this machine cannot reach the stack's private workspace" in row.meaning and "reach" in row.commands
    assert f"| `6` | {row.meaning} | {row.commands} |" in readme()


# --- runners ---------------------------------------------------------------------------------------------------

def test_runners_json_is_one_line_derived_from_each_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["runners", "--json"]) == exits.OK
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # one line: it goes into $GITHUB_OUTPUT as is
    assert json.loads(out) == [
        {"stack": "dev", "tier": "dev", "private": False},
        {"stack": "prod", "tier": "prod", "private": True},
        {"stack": "staging", "tier": "staging", "private": True},
    ]


def test_runners_follow_the_spec_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = stacks.load("dev").model_dump(mode="json")
    data["workspace"]["public_network_access"] = "Disabled"
    data["private_link"].update({"frontend": True, "browser_authentication": "this_workspace",
                                 "transit": {"address_space": "10.140.0.0/24"}})
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(data))
    assert cli.main(["runners", "--spec", str(path), "--json"]) == exits.OK
    assert json.loads(capsys.readouterr().out) == [{"stack": "dev", "tier": "dev", "private": True}]


def test_runners_table_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["runners", "--stack", "staging"]) == exits.OK
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["STACK", "TIER", "RUNNER", "WHY"]
    assert out[1].split()[:3] == ["staging", "staging", "private"]
    assert cli.main(["runners", "--stack", "nope"]) == exits.USAGE
