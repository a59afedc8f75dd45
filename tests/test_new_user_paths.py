"""The paths a new user walks (issue #14): bad input gets a clear message and the documented exit code
(brickwall/exits.py), never a traceback; environments are discovered; a stack of any name is judged by its tier;
subnets can be pinned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from brickwall import cli, exits, export, planfile, project
from brickwall.cli.errors import FAILURES
from brickwall.engine import Recording
from brickwall.project import StackConfigError, read_stack_file
from tests.docs import doc, readme

ROOT = Path(__file__).resolve().parent.parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_the_readme_carries_the_one_exit_code_table() -> None:
    assert exits.markdown_table() in readme()
    assert [e.code for e in exits.TABLE] == list(range(9))


def test_the_cli_turns_errors_into_the_tables_codes() -> None:
    """brickwall/cli/errors.py is the one map from errors to codes: each of its codes is in the table, and every
    code of the table but AUDIT_FINDINGS (a result the audit returns, like diff's FLAGGED) is some error's."""
    codes = {e.code for e in exits.TABLE}
    assert {f.code for f in FAILURES} <= codes
    assert codes - {f.code for f in FAILURES} == {exits.AUDIT_FINDINGS}
    # An error is matched by the first row of its class: a subclass's row comes before its base's.
    for i, row in enumerate(FAILURES):
        assert not any(issubclass(row.error, earlier.error) for earlier in FAILURES[:i]), row.error


def test_a_spec_file_that_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "qa.yaml"
    spec.write_bytes("name: qa\nregion: westeurope\n# caf\xe9\n".encode("latin-1"))
    code, _, err = run(capsys, "spec", "--spec", str(spec))
    assert code == exits.INVALID
    assert "not UTF-8 text (byte" in err and "save the spec as UTF-8" in err


def test_a_missing_spec_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "plan", "--spec", str(tmp_path / "nope.yaml"))
    assert code == exits.USAGE
    assert f"cannot read the spec file {tmp_path / 'nope.yaml'}: No such file or directory" in err
    code, _, err = run(capsys, "spec", "--spec", str(tmp_path))  # a directory
    assert code == exits.USAGE and "cannot read the spec file" in err


@pytest.mark.parametrize(("text", "line"), [
    ("name: qa\ntier: dev\nname: qa2\n", "found the key 'name' twice (first on line 1)"),
    ("name: qa\nnetwork:\n  address_space: 10.1.0.0/16\n  address_space: 10.2.0.0/16\n",
     "found the key 'address_space' twice (first on line 3)"),
])
def test_duplicate_keys_in_a_yaml_spec_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     text: str, line: str) -> None:
    spec = tmp_path / "qa.yaml"
    spec.write_text(text)
    code, _, err = run(capsys, "spec", "--spec", str(spec))
    assert code == exits.INVALID and line in err


def test_duplicate_keys_in_a_json_spec_are_rejected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "qa.json"
    spec.write_text('{"name": "qa", "name": "qa2"}')
    code, _, err = run(capsys, "spec", "--spec", str(spec))
    assert code == exits.INVALID and "the key 'name' appears twice in one object" in err


@pytest.mark.parametrize(("text", "message"), [
    ("config:\n  brickwall:x: [unclosed\n", "not a valid YAML stack file"),
    ("config:\n  - a\n  - b\n", "`config` must be a mapping of key: value, not list"),
    ("- just a list\n", "a stack file holds one mapping with a `config:` key, not list"),
])
def test_a_broken_stack_file_is_invalid_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(text)
    with pytest.raises(StackConfigError, match=message):
        read_stack_file(tmp_path / "stacks" / "Pulumi.dev.yaml")
    monkeypatch.setattr(project, "PROJECT_DIR", tmp_path)
    code, _, err = run(capsys, "plan", "--stack", "dev")
    assert code == exits.INVALID
    assert f"error: invalid stack config: stacks/Pulumi.dev.yaml: {message}" in err.replace("\n", " ") or message in err


def test_a_plaintext_client_secret_in_a_stack_file_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "stacks").mkdir()
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    (tmp_path / "stacks" / "Pulumi.dev.yaml").write_text(
        "config:\n  brickwall:databricksClientSecret: hunter2\n  brickwall:oauth2CookieSecret:\n    secure: AAAB\n")
    assert project.plaintext_secrets("dev", tmp_path) == ["brickwall:databricksClientSecret"]
    # The program warns too, at `pulumi preview`/`up` (a plain value is not a secret to the engine).
    rec = project.run("dev", extra_config={"brickwall:databricksClientSecret": "hunter2"})
    warnings = [m for level, m in rec.diagnostics if level == "warning" and "databricksClientSecret" in m]
    assert warnings and "pulumi config set --secret databricksClientSecret" in warnings[0] and "hunter2" not in warnings[0]
    rec = project.run("dev", extra_config={"brickwall:databricksClientSecret": "hunter2"},
                      extra_secret_keys=["brickwall:databricksClientSecret"])
    assert not [m for level, m in rec.diagnostics if level == "warning" and "databricksClientSecret" in m]


@pytest.mark.usefixtures("shared_renders")
def test_outputs_that_cannot_be_written_are_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a_file = tmp_path / "report.txt"
    a_file.write_text("not a directory")
    code, _, err = run(capsys, "report", "--stack", "dev", "--out", str(a_file))
    assert code == exits.USAGE and str(a_file) in err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, _, err = run(capsys, "plan", "--stack", "dev", "--format", "json", "--output", str(locked / "dev.json"))
        if code == exits.OK:  # running as root: permissions do not bind; a path under a file fails for everyone
            code, _, err = run(capsys, "plan", "--stack", "dev", "--format", "json", "--output", str(a_file / "dev.json"))
        assert code == exits.USAGE and ("dev.json" in err or str(a_file) in err)
    finally:
        locked.chmod(0o700)


def test_typed_stack_errors_carry_the_full_field_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typed stack builds nested models one at a time; its error still names the path in the spec and the line."""
    import stacks
    import stacks.dev as dev
    from components.spec import SpecError
    from components.spec.access import IpAccessSpec

    def broken() -> object:
        return IpAccessSpec(break_glass=("10.0.0.0/8",), ci_egress=("not-a-cidr",))

    monkeypatch.setattr(dev, "build", broken)
    with pytest.raises(SpecError) as caught:
        stacks.load("dev")
    paths = {p.dotted for p in caught.value.problems}
    assert paths == {"access.ip_access.break_glass", "access.ip_access.ci_egress"}
    assert all("stacks/dev.py" not in p.reason or "IpAccessSpec" in p.reason for p in caught.value.problems)


@pytest.fixture
def render_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Within one test, commands that render the same stack and spec file read one render (`project.run` with the
    same arguments renders once): what they do with a render is under test, not rendering it again."""
    real, seen = project.run, {}

    def run(stack: str, spec_file: object = None, project_dir: object = None, **kwargs: object) -> Recording:
        key = (stack, None if spec_file is None else str(Path(str(spec_file)).resolve()), str(project_dir), repr(sorted(kwargs.items())))
        if key not in seen:
            seen[key] = real(stack, spec_file, project_dir, **kwargs)  # type: ignore[arg-type]
        return seen[key]

    monkeypatch.setattr(project, "run", run)


@pytest.mark.parametrize("base", ["dev", "staging"])
def test_a_stack_of_any_name_is_judged_by_its_spec_tier(base: str, tmp_path: Path, render_once: None,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """`check` and `report` judge a spec by its own tier, whatever the stack is called: the policy pack reads the
    tier from the resources' `tier` tag (and, for untagged types, from the stack's tagged resources). The two
    commands read one render of the spec (render_once)."""
    import stacks

    data = stacks.load(base).model_dump(mode="json")
    data["name"] = "qa"
    spec = tmp_path / "qa.json"
    spec.write_text(json.dumps(data))
    code, out, _ = run(capsys, "check", "--spec", str(spec), "--stack", "qa")
    assert code == exits.OK, out
    code, _, err = run(capsys, "report", "--spec", str(spec), "--stack", "qa", "--out", str(tmp_path / "report"))
    assert code == exits.OK, err
    report = (tmp_path / "report" / "report.md").read_text()
    assert f"- tier: `{base}`" in report and "MANDATORY" not in report.split("## ")[0]


def test_stacks_are_discovered_from_their_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import stacks

    assert stacks.KNOWN_STACKS == stacks.discover() == ("dev", "prod", "staging")
    (tmp_path / "qa.py").write_text("def build():\n    return None\n")
    (tmp_path / "helpers.py").write_text("X = 1\n")  # no build(): not an environment
    (tmp_path / "config.py").write_text("def build():\n    pass\n")  # the stack-config module, never an environment
    assert stacks.discover(tmp_path) == ("qa",)
    code, out, _ = run(capsys, "stacks")
    assert code == exits.OK and out.split() == list(stacks.KNOWN_STACKS)
    code, _, err = run(capsys, "plan", "--stack", "qa")
    assert code == exits.USAGE
    assert "the stacks are dev, prod, staging" in err and "write stacks/qa.py with a build()" in err


def test_the_readme_example_spec_renders_and_passes_every_policy(capsys: pytest.CaptureFixture[str]) -> None:
    import jsonschema
    import yaml

    example = (ROOT / "docs" / "examples" / "qa.yaml").read_text()
    assert f"```yaml\n{example}```" in readme()
    # The schema `spec --schema` prints accepts it and refuses a misspelt field; the validator then takes over.
    code, out, _ = run(capsys, "spec", "--schema")
    schema = json.loads(out)
    assert code == exits.OK and schema["$schema"].endswith("2020-12/schema")
    jsonschema.validate(yaml.safe_load(example), schema)
    with pytest.raises(jsonschema.ValidationError, match="adress_space"):
        jsonschema.validate({**yaml.safe_load(example), "network": {"adress_space": "10.40.0.0/20"}}, schema)
    code, out, err = run(capsys, "check", "--spec", str(ROOT / "docs" / "examples" / "qa.yaml"), "--stack", "qa")
    assert code == exits.OK, out + err
    assert "stack qa: " in out and " rules ran: 0 violation(s)" in out


def test_every_subnet_can_be_pinned_and_a_pin_moves_nothing() -> None:
    """Pinned to the ranges the sizes gave, the plan's subnets are the same; resizing one then moves no other."""
    from pydantic import ValidationError

    import stacks
    from components.spec import EnvironmentSpec

    data = stacks.load("prod").model_dump(mode="json")
    plan = stacks.load("prod").network.plan
    pinned = {"host_cidr": str(plan["host"]), "container_cidr": str(plan["container"]),
              "private_endpoint_cidr": str(plan["private_endpoints"]), "aks_cidr": str(plan["aks"])}
    data["network"]["subnets"] = pinned
    spec = EnvironmentSpec.model_validate(data)
    assert spec.network.plan.subnets == plan.subnets
    assert spec.network.subnets.aks_subnet_prefix == plan["aks"].prefixlen
    # Widen the endpoint subnet inside free room: nothing else moves.
    data["network"]["subnets"] = {**pinned, "private_endpoint_cidr": "10.30.18.0/26"}
    widened = EnvironmentSpec.model_validate(data).network.plan
    assert {k: v for k, v in widened.subnets.items() if k != "private_endpoints"} == \
        {k: v for k, v in plan.subnets.items() if k != "private_endpoints"}
    # A size and a range for the same subnet: one problem, at its path.
    data["network"]["subnets"] = {**pinned, "aks_prefix_length": 23}
    with pytest.raises(ValidationError) as caught:
        EnvironmentSpec.model_validate(data)
    [error] = caught.value.errors()
    assert error["loc"] == ("network", "subnets", "aks_cidr")
    assert "give the AKS subnet as a size or as a range, not both" in error["msg"]


@pytest.mark.parametrize(("space", "ok"), [("10.40.0.0/20", True), ("172.20.0.0/20", True), ("192.168.0.0/20", True),
                                           ("100.64.0.0/20", True), ("20.40.0.0/20", False), ("8.8.0.0/20", False)])
def test_a_vnet_outside_the_private_ranges_needs_an_explicit_opt_in(space: str, ok: bool) -> None:
    from pydantic import ValidationError

    from components.spec import NetworkSpec

    if ok:
        assert NetworkSpec(address_space=space).address_space == space
        return
    with pytest.raises(ValidationError) as caught:
        NetworkSpec(address_space=space)
    [error] = caught.value.errors()
    assert error["loc"] == ("address_space",) and "outside the private ranges" in error["msg"]
    assert NetworkSpec(address_space=space, allow_public_address_space=True).address_space == space


def test_the_docs_rule_count_is_the_packs() -> None:
    """Numbers in the docs are tested, never stale (the count moved from the README to docs/guardrails.md)."""
    import re

    from brickwall import check

    [count] = re.findall(r"^(\d+) rules in all", doc("guardrails"), re.M)
    assert int(count) == len(check.load_policies())


def test_one_command_line_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--format and --output mean the same everywhere; saved plans feed check, report and plan; --version; help has
    a description and an example; check says how many rules ran."""
    from brickwall import __version__, check

    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"brickwall {__version__}"
    for command in ("plan", "check", "diff", "report", "spec", "export", "stacks", "env", "runners", "reach", "audit"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        text = capsys.readouterr().out
        assert "example:\n  python -m brickwall " + command in text, command
        if command in ("plan", "check", "diff", "spec", "stacks", "audit"):
            assert "--format" in text and "--output FILE" in text, command

    saved = tmp_path / "dev.json"
    code, out, _ = run(capsys, "plan", "--stack", "dev", "--format", "json", "--output", str(saved))
    assert code == exits.OK and out == ""
    plan = json.loads(saved.read_text())
    assert plan["stack"] == "dev"
    code, out, _ = run(capsys, "plan", "--plan", str(saved))  # the tree of a saved plan, nothing re-rendered
    assert code == exits.OK and "SecureDatabricksEnvironment dev" in out
    code, out, _ = run(capsys, "check", "--plan", str(saved), "--format", "json", "--output", "-")
    result = json.loads(out)
    assert code == exits.OK and result["ok"] is True and result["rules"] == len(check.load_policies())
    code, out, _ = run(capsys, "check", "--plan", str(saved))
    assert f"{len(check.load_policies())} rules ran: 0 violation(s)" in out
    code, out, _ = run(capsys, "report", "--plan", str(saved), "--output", str(tmp_path / "report"))
    assert code == exits.OK and (tmp_path / "report" / "report.md").is_file()
    code, out, _ = run(capsys, "diff", str(saved), str(saved), "--format", "json", "--output", str(tmp_path / "d.json"))
    assert code == exits.OK and json.loads((tmp_path / "d.json").read_text())["flagged"] is False
    code, out, _ = run(capsys, "stacks", "--format", "json")
    assert json.loads(out) == ["dev", "prod", "staging"]
    code, out, _ = run(capsys, "env", "list", "--state-dir", str(tmp_path / "state"), "--format", "json")
    assert code == exits.OK and json.loads(out) == []
    # A saved plan of a stack that is not a known one needs the spec the report reads its matrix from.
    plan["stack"] = "qa"
    other = tmp_path / "qa.json"
    other.write_text(json.dumps(plan))
    code, _, err = run(capsys, "report", "--plan", str(other), "--output", str(tmp_path / "r2"))
    assert code == exits.USAGE and "give the spec it was rendered from with --spec FILE" in err


def test_export_from_a_saved_plan_is_the_export_of_the_run(prod: Recording, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A plan file keeps each secret's shape (never its value), so `export --plan` writes the same files as a run.
    The session's prod render stands in for `plan --format json` and `export --stack prod` (what both do after
    rendering: planfile.dumps of its plan, export.write_export of the recording); `export --plan` runs for real."""
    saved = tmp_path / "prod.json"
    saved.write_text(planfile.dumps(planfile.to_plan(prod)))
    export.write_export(prod, tmp_path / "live")
    assert run(capsys, "export", "--plan", str(saved), "--output", str(tmp_path / "saved"))[0] == exits.OK
    live = {p.relative_to(tmp_path / "live"): p.read_bytes() for p in (tmp_path / "live").rglob("*") if p.is_file()}
    again = {p.relative_to(tmp_path / "saved"): p.read_bytes() for p in (tmp_path / "saved").rglob("*") if p.is_file()}
    assert live and live == again
    text = saved.read_text()
    assert '"[secret]"' in text and "offline-placeholder-secret-value" not in text
