"""`python -m brickwall` end to end, as a user runs it.

Subprocess runs are few (each costs a few seconds): one `plan --stack dev` (shared by the tree, plan-file and
determinism tests) and `spec --stack prod`; the rest call the same entry point in-process (`cli.main(argv)`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import stacks
from brickwall import cli, exits, planfile, project
from brickwall.engine import Recording
from components.spec import EnvironmentSpec

ROOT = Path(__file__).resolve().parent.parent
PLAN_RESOURCE_KEYS = {
    "urn", "type", "name", "parent", "custom", "provider", "protect",
    "retainOnDelete", "deletedWith", "ignoreChanges", "dependencies", "inputs",
}
Run = subprocess.CompletedProcess[str]


def brickwall(*args: str) -> Run:
    """One real `python -m brickwall` process from the repository root."""
    return subprocess.run(
        [sys.executable, "-m", "brickwall", *args], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> Run:
    """`cli.main(args)`, the entry point `python -m brickwall` calls, in this process: its exit code and output."""
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(["brickwall", *args], code, captured.out, captured.err)


def _no_traceback(result: Run) -> None:
    """User errors and successes alike never show a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


@pytest.fixture(scope="module")
def dev_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """`plan --stack dev --save FILE` in a process of its own."""
    path = tmp_path_factory.mktemp("plans") / "first" / "dev.json"
    return brickwall("plan", "--stack", "dev", "--save", str(path)), path


@pytest.fixture(scope="module")
def prod_spec_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    result = brickwall("spec", "--stack", "prod")
    path = tmp_path_factory.mktemp("spec") / "prod.json"
    path.write_text(result.stdout)
    return result, path


def test_plan_prints_the_resource_tree_and_summary(dev_plan: tuple[Run, Path]) -> None:
    result, first = dev_plan
    assert result.returncode == 0, result.stderr
    _no_traceback(result)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("brickwall plan: stack dev, tier dev, westeurope")
    assert "SecureDatabricksEnvironment dev" in lines
    assert any(line.lstrip().startswith("Workspace dev-") for line in lines), result.stdout
    assert any(line.lstrip().startswith("VirtualNetwork ") for line in lines), result.stdout
    summaries = [line for line in lines if line.startswith("dev:")]
    assert len(summaries) == 1, result.stdout
    assert "resources" in summaries[0] and "max cluster nodes" in summaries[0]
    assert f"plan file written to {first}" in result.stdout


def test_plan_file_has_the_documented_shape(dev_plan: tuple[Run, Path]) -> None:
    result, first = dev_plan
    assert result.returncode == 0, result.stderr
    plan = json.loads(first.read_text())
    assert plan["project"] == "brickwall"
    assert plan["stack"] == "dev"
    resources = plan["resources"]
    assert isinstance(resources, list) and resources
    urns = [r["urn"] for r in resources]
    assert urns == sorted(urns)
    assert len(set(urns)) == len(urns)
    for entry in resources:
        assert set(entry) == PLAN_RESOURCE_KEYS, entry["urn"]
        assert entry["urn"].startswith("urn:pulumi:dev::brickwall::")
        assert isinstance(entry["inputs"], dict)
        assert isinstance(entry["dependencies"], list) and entry["dependencies"] == sorted(entry["dependencies"])
    assert [r["name"] for r in resources if r["type"] == "brickwall:environment:SecureDatabricksEnvironment"] == ["dev"]
    assert len([r for r in resources if r["type"] == "azure-native:databricks:Workspace"]) == 1


def test_plan_is_deterministic_across_runs(dev_plan: tuple[Run, Path], capsys: pytest.CaptureFixture[str],
                                           shared_renders: None, tmp_path: Path) -> None:
    """The process's plan file and output are byte for byte those of the same command in-process over this test
    session's own render of dev (tests/conftest.py)."""
    result, first = dev_plan
    second = tmp_path / "dev.json"
    again = in_process(capsys, "plan", "--stack", "dev", "--save", str(second))
    assert result.returncode == 0 and again.returncode == 0, result.stderr + again.stderr
    assert first.read_bytes() == second.read_bytes()
    assert again.stdout.replace(str(second), "FILE") == result.stdout.replace(str(first), "FILE")


def test_spec_json_validates_back_to_the_stack_spec(prod_spec_json: tuple[Run, Path]) -> None:
    result, _ = prod_spec_json
    assert result.returncode == 0, result.stderr
    _no_traceback(result)
    data = json.loads(result.stdout)
    assert data["name"] == "prod" and data["tier"] == "prod"
    assert EnvironmentSpec.model_validate(data) == stacks.load("prod")


def test_spec_json_fed_back_plans_like_the_stack(dev: Recording, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec_file, plan_file = tmp_path / "dev.json", tmp_path / "plan.json"
    assert in_process(capsys, "spec", "--stack", "dev", "--output", str(spec_file)).returncode == 0
    result = in_process(capsys, "plan", "--spec", str(spec_file), "--stack", "dev", "--save", str(plan_file))
    assert result.returncode == 0, result.stderr
    _no_traceback(result)
    assert "\nSecureDatabricksEnvironment dev\n" in result.stdout
    assert any(line.startswith("dev:") for line in result.stdout.splitlines()), result.stdout
    # The printed spec is the stack's spec, so the program registers exactly what the stack itself does.
    assert plan_file.read_text() == planfile.dumps(planfile.to_plan(dev))


def test_unknown_stack_is_a_usage_error_naming_the_known_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    result = in_process(capsys, "plan", "--stack", "qa")
    assert result.returncode == 2
    _no_traceback(result)
    assert "'qa'" in result.stderr
    for known in ("dev", "staging", "prod"):
        assert known in result.stderr
    assert result.stdout == ""


def test_no_arguments_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    result = in_process(capsys)
    assert result.returncode == 2
    _no_traceback(result)
    assert result.stderr.startswith("error:")
    assert result.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [pytest.param(["frobnicate"], id="bad-subcommand"), pytest.param(["plan"], id="plan-without-stack-or-spec"),
     pytest.param(["spec", "--stack", "dev", "--format", "toml"], id="bad-format")],
)
def test_usage_errors_in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """The same entry point as the subprocess, in-process to keep the suite fast."""
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error:")
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_invalid_spec_file_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = stacks.load("dev").model_dump(mode="json")
    data["name"] = "Dev"
    data["region"] = "mars"
    data["naming"]["prefix"] = "1x"
    data["network"]["subnets"]["bogus"] = 1
    data["workspace"]["sku"] = "standard"
    spec_file = tmp_path / "bad.yaml"
    spec_file.write_text(yaml.safe_dump(data))
    result = in_process(capsys, "plan", "--stack", "dev", "--spec", str(spec_file))
    assert result.returncode == 1
    _no_traceback(result)
    paths = ["name", "region", "naming.prefix", "network.subnets.bogus", "workspace.sku"]
    problem_lines = [line for line in result.stderr.splitlines() if line.startswith("  - ")]
    assert sorted(line[4:].split(": ", 1)[0] for line in problem_lines) == sorted(paths), result.stderr
    assert str(spec_file) in result.stderr
    assert f"{len(paths)} problem(s)" in result.stderr
    assert "SecureDatabricksEnvironment" not in result.stdout


def test_missing_spec_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no-such-spec.yaml"
    result = in_process(capsys, "spec", "--spec", str(missing))
    assert result.returncode == 2  # a usage error (a path that does not exist), not an invalid spec
    _no_traceback(result)
    assert str(missing) in result.stderr
    assert "cannot read the spec file" in result.stderr
    assert "No such file or directory" in result.stderr
    assert result.stdout == ""


def test_a_bug_in_the_program_is_an_internal_error_with_its_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from brickwall.engine import ProgramError

    def broken(stack: str, spec_file: object = None) -> None:
        try:
            {}["missing-key"]
        except KeyError as exc:
            raise ProgramError(exc) from exc

    monkeypatch.setattr(project, "run", broken)
    assert cli.main(["plan", "--stack", "dev"]) == exits.INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" in err and "missing-key" in err and "internal error" in err


@pytest.mark.usefixtures("shared_renders")
def test_plan_notes_that_ip_lists_on_a_private_workspace_are_defence_in_depth(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--stack", "staging"]) == exits.OK
    out = capsys.readouterr().out
    assert "note: IP access lists only see public traffic" in out
    assert "WorkspaceAccessControl staging-access" in out
    assert "IpAccessList staging-access-allow-break-glass (break-glass): ALLOW 52.174.20.0/28" in out


def _raising(exc: BaseException) -> Callable[[], int]:
    def command() -> int:
        raise exc
    return command


def test_the_error_table_gives_codes_and_messages_and_lets_a_bug_through(capsys: pytest.CaptureFixture[str]) -> None:
    """brickwall/cli/errors.py: the first row an error is an instance of gives its code and its message; an error no
    other row names is a bug: its traceback and INTERNAL (not Python's exit 1, which means INVALID here)."""
    from brickwall import audit
    from brickwall.cli.errors import InternalError, exit_code
    from brickwall.errors import Unreachable, UsageError

    assert exit_code(lambda: exits.FLAGGED) == exits.FLAGGED
    assert exit_code(_raising(UsageError("give --stack NAME"))) == exits.USAGE
    assert exit_code(_raising(Unreachable("prod: no answer"))) == exits.UNREACHABLE
    assert exit_code(_raising(audit.Unreadable(["prod: cannot read tokens", "prod: cannot read groups"]))) == exits.AUDIT_UNREADABLE
    assert exit_code(_raising(FileNotFoundError(2, "No such file or directory", "out/x.json"))) == exits.USAGE
    assert exit_code(_raising(InternalError("cannot export stack dev: no ARM type"))) == exits.INTERNAL
    assert capsys.readouterr().err.splitlines() == [
        "error: give --stack NAME", "error: prod: no answer", "error: prod: cannot read tokens",
        "error: prod: cannot read groups", "error: out/x.json: No such file or directory",
        "internal error: cannot export stack dev: no ARM type"]
    assert exit_code(_raising(KeyError("a bug"))) == exits.INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "raise exc" in err
    assert err.splitlines()[-1] == "internal error: KeyError: 'a bug'; please report it with the traceback above"
    with pytest.raises(KeyboardInterrupt):  # not an Exception: Python's own handling (exit 130 on a terminal)
        exit_code(_raising(KeyboardInterrupt()))
