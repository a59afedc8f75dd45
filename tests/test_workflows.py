"""The CI workflows (.github/workflows), checked offline.

Structure (triggers, least-privilege permissions, actions pinned by commit SHA, timeouts, no secret in a
script), every `python -m brickwall ...` they run parsed by the real argument parser, the policy configs they
name, the test command against the README's, actionlint over every file, and the shell that decides the
pull-request gate run for real (the guardrail step over `dev`, the gate over every outcome).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from brickwall import cli, exits
from brickwall.errors import UsageError
from tests import tool_env
from tests.docs import doc, readme

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
# Every action a workflow may use (pinned by SHA, version in the line's comment).
ALLOWED_ACTIONS = {"actions/checkout", "actions/setup-python", "actions/github-script", "actions/upload-artifact",
                   "azure/login", "pulumi/actions"}
# The only job permissions any workflow grants, and only where the job needs them.
ALLOWED_PERMISSIONS = {("contents", "read"), ("pull-requests", "write"), ("id-token", "write"), ("issues", "write")}
# `env` subcommands the workflows call that another change adds: parsed strictly as soon as the parser has them.
PENDING_ENV_COMMANDS = {"up", "preview", "destroy"}


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), path
    return data


def triggers(wf: dict[str, Any]) -> dict[str, Any]:
    """`on:` parses as the boolean True under YAML 1.1 (PyYAML); accept either key."""
    keys: dict[Any, Any] = wf  # PyYAML's keys are not all strings here
    on = keys.get("on", keys.get(True))
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return dict.fromkeys(on)
    assert isinstance(on, dict), f"no triggers: {wf}"
    return on


def jobs(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return wf["jobs"]


def steps(wf: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in jobs(wf).values() for s in job.get("steps", [])]


def step(wf: dict[str, Any], name_start: str) -> dict[str, Any]:
    found = [s for s in steps(wf) if str(s.get("name", "")).startswith(name_start)]
    assert len(found) == 1, f"one step named {name_start!r}, found {len(found)}"
    return found[0]


def action(uses: str) -> str:
    return uses.split("@", 1)[0]


@pytest.fixture(scope="module")
def wfs() -> dict[str, dict[str, Any]]:
    return {p.name: load(p) for p in FILES}


def test_the_four_workflows_exist(wfs: dict[str, dict[str, Any]]) -> None:
    assert {"pr.yml", "preview.yml", "ephemeral.yml", "audit.yml"} <= set(wfs)
    assert "pull_request" in triggers(wfs["pr.yml"])
    assert "pull_request" in triggers(wfs["preview.yml"])
    eph = triggers(wfs["ephemeral.yml"])
    assert {"labeled", "closed", "unlabeled"} <= set(eph["pull_request"]["types"])
    crons = [c["cron"] for c in eph["schedule"]]
    assert crons and all(len(c.split()) == 5 for c in crons)


def test_no_pull_request_target(wfs: dict[str, dict[str, Any]]) -> None:
    """pull_request_target runs with a write token and secrets: none of ours uses it, so no PR head is checked
    out with them."""
    for name, wf in wfs.items():
        assert "pull_request_target" not in triggers(wf), name
        assert "workflow_run" not in triggers(wf), name


def test_permissions_least_privilege(wfs: dict[str, dict[str, Any]]) -> None:
    for name, wf in wfs.items():
        top = wf.get("permissions")
        assert top is not None, f"{name}: no top-level permissions (the default token would be broad)"
        assert isinstance(top, dict) and set(top.items()) <= {("contents", "read")}, f"{name}: top-level {top}"
        for job_name, job in jobs(wf).items():
            perms = job.get("permissions", top)
            assert isinstance(perms, dict), f"{name}/{job_name}: permissions {perms!r} (write-all/read-all?)"
            assert set(perms.items()) <= ALLOWED_PERMISSIONS, f"{name}/{job_name}: {perms}"
            uses = [action(s["uses"]) for s in job.get("steps", []) if "uses" in s]
            comments = any(s.get("uses", "").startswith("actions/github-script") for s in job.get("steps", [])) or any(
                str((s.get("with") or {}).get("comment-on-pr", "")).lower() == "true" for s in job.get("steps", []))
            assert (perms.get("pull-requests") == "write") == comments, f"{name}/{job_name}: pull-requests write iff it comments"
            assert (perms.get("id-token") == "write") == ("azure/login" in uses), f"{name}/{job_name}: id-token iff Azure OIDC"
            issues = any(re.search(r"\bgh (issue|label) ", s.get("run", "")) for s in job.get("steps", []))
            assert (perms.get("issues") == "write") == issues, f"{name}/{job_name}: issues write iff it posts an issue"


def test_every_action_pinned_by_sha_with_version_comment() -> None:
    for path in FILES:
        pinned = 0
        for line in path.read_text().splitlines():
            m = re.match(r"^\s*(?:-\s*)?uses:\s*(\S+)\s*(#.*)?$", line)
            if not m:
                continue
            ref, comment = m.group(1), m.group(2) or ""
            assert SHA_PIN.match(ref), f"{path.name}: {ref} is not pinned to a 40-hex commit SHA"
            assert action(ref) in ALLOWED_ACTIONS, f"{path.name}: {action(ref)} is not an allowed action"
            assert re.match(r"#\s*v\d+(\.\d+)*$", comment.strip()), f"{path.name}: {ref} needs a `# vX.Y.Z` comment"
            pinned += 1
        assert pinned, path.name
    # One version per action across all files.
    shas: dict[str, set[str]] = {}
    for wf in map(load, FILES):
        for s in steps(wf):
            if "uses" in s:
                shas.setdefault(action(s["uses"]), set()).add(s["uses"])
    assert all(len(v) == 1 for v in shas.values()), shas


def test_jobs_have_timeouts_and_runs_have_concurrency(wfs: dict[str, dict[str, Any]]) -> None:
    for name, wf in wfs.items():
        assert wf.get("concurrency", {}).get("group"), f"{name}: no concurrency group"
        for job_name, job in jobs(wf).items():
            t = job.get("timeout-minutes")
            assert isinstance(t, int) and 0 < t <= 180, f"{name}/{job_name}: timeout-minutes {t!r}"
    # Never cancel a running `up`/`destroy`: it would leave resources behind.
    assert wfs["ephemeral.yml"]["concurrency"]["cancel-in-progress"] is False


def test_no_expression_or_secret_in_scripts() -> None:
    """Scripts read values from `env:` only: no `${{ }}` is pasted into shell (no injection from a branch name or
    title, no secret in a command line or log)."""
    for path in FILES:
        for s in steps(load(path)):
            if "run" in s:
                assert "${{" not in s["run"], f"{path.name}: {s.get('name')}: expression inside a script"
            for k, v in (s.get("with") or {}).items():
                assert "secrets." not in str(v) or k in {"github-token"}, f"{path.name}: secret passed to {k}"
        text = path.read_text()
        for secret in re.findall(r"secrets\.([A-Z_]+)", text):
            assert not re.search(rf"echo[^\n]*{secret}", text), f"{path.name}: {secret} echoed"
        assert "set -x" not in text, f"{path.name}: set -x prints every expanded command"


def _brickwall_commands() -> list[tuple[str, list[str]]]:
    """Every `python -m brickwall ...` in a script: line continuations joined, cut at the first shell operator or
    redirection, shell variables ($X, ${X}, "pr-$N") replaced by a placeholder word."""
    found = []
    for path in FILES:
        for s in steps(load(path)):
            script = s.get("run", "").replace("\\\n", " ")
            for m in re.finditer(r"-m brickwall\b([^\n;|&)]*)", script):
                tokens = shlex.split(re.sub(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?", "X", m.group(1)))
                cut = next((i for i, t in enumerate(tokens) if re.match(r"^\d*[<>]", t)), len(tokens))
                found.append((f"{path.name}: python -m brickwall{m.group(1)}", tokens[:cut]))
    return found


def test_brickwall_commands_are_real_subcommands_and_flags() -> None:
    parser = cli.parser()
    sub_action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    env_parser = sub_action.choices["env"]
    env_action = next(a for a in env_parser._actions if isinstance(a, argparse._SubParsersAction))
    env_commands = set(env_action.choices)
    commands = _brickwall_commands()
    assert len(commands) >= 10
    seen: set[str] = set()
    for where, argv in commands:
        if argv[:1] == ["env"] and argv[1] in PENDING_ENV_COMMANDS and argv[1] not in env_commands:
            seen.add(f"env {argv[1]} (pending)")
            continue
        try:
            args = parser.parse_args(argv)
        except UsageError as exc:
            pytest.fail(f"{where}: {exc}")
        seen.add(args.command if args.command != "env" else f"env {args.env_command}")
    assert {"plan", "check", "diff", "report", "env list", "runners", "reach", "audit"} <= seen
    assert {"env up", "env preview", "env destroy"} <= {s.removesuffix(" (pending)") for s in seen}


def _runners_json() -> list[dict[str, Any]]:
    """What `python -m brickwall runners --json` prints: the matrix of preview.yml."""
    result = subprocess.run([sys.executable, "-m", "brickwall", "runners", "--json"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120, check=True)
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def test_policy_pack_configs_named_exist(wfs: dict[str, dict[str, Any]]) -> None:
    preview = jobs(wfs["preview.yml"])["preview"]
    assert preview["strategy"]["matrix"] == {"include": "${{ fromJSON(needs.stacks.outputs.include) }}"}
    stacks = [row["stack"] for row in _runners_json()]
    import stacks as stack_modules

    assert stacks == list(stack_modules.KNOWN_STACKS)
    run = step(wfs["preview.yml"], "pulumi preview")
    w = run["with"]
    assert run["uses"].startswith("pulumi/actions@")
    assert (w["command"], w["diff"], w["policyPacks"], w["comment-on-pr"]) == ("preview", True, "policies", True)
    assert w["stack-name"] == "${{ matrix.stack }}"
    # No per-tier config file: the pack reads the tier from the resources' `tier` tag (brickwall_rules.base.tier_of).
    assert "policyPackConfigs" not in w
    for tier in ("dev", "staging", "prod"):  # the shipped overrides still name a tier each
        config = ROOT / "policies" / f"config.{tier}.json"
        assert {v["tier"] for v in json.loads(config.read_text()).values()} == {tier}
    assert "vars.AZURE_CLIENT_ID" in preview["if"] and preview["permissions"]["id-token"] == "write"
    login = step(wfs["preview.yml"], "Azure login")["with"]
    assert set(login) == {"client-id", "tenant-id", "subscription-id"}  # federated: no client secret
    assert preview["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"


def test_pr_test_command_is_the_readmes(wfs: dict[str, dict[str, Any]]) -> None:
    m = re.search(r"Run the whole test suite:\s*```sh\n(.+?)\n```", readme(), re.S)
    assert m, "README's test command"
    parts = [p.strip() for p in m.group(1).split("&&")]
    assert parts[0] == "python3 -m venv .venv"
    install = f"python -m venv .venv && {parts[1]}"  # setup-python's interpreter is `python`
    pr = wfs["pr.yml"]
    assert step(pr, "Install")["run"].strip() == install
    assert step(pr, "Tests")["run"].strip() == parts[2]
    assert m.group(1).strip() in (ROOT / ".ci" / "run").read_text()
    checkout = step(pr, "Check out the pull request")["with"]
    assert checkout["fetch-depth"] == 0 and checkout["persist-credentials"] is False
    setup = step(pr, "Set up Python")["with"]
    assert (setup["python-version"], setup["cache"]) == ("3.11", "pip")


def _actionlint() -> str:
    """actionlint from its own tool environment (tests/tool_env.py, pinned in tests/tools/actionlint.txt)."""
    return str(tool_env.executable("actionlint", "actionlint"))


def test_actionlint_finds_nothing() -> None:
    result = subprocess.run([_actionlint(), "-no-color", *map(str, FILES)], capture_output=True, text=True, timeout=120,
                            check=False, cwd=ROOT, env=tool_env.environ())
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The linter really lints: an undefined job in `needs` and a bad expression are findings."""
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [nope]\n"
                   "    steps:\n      - run: echo ${{ github.event.nope( }}\n")
    result = subprocess.run([_actionlint(), "-no-color", str(bad)], capture_output=True, text=True, timeout=120,
                            check=False, cwd=tmp_path, env=tool_env.environ())
    assert result.returncode == 1
    assert "nope" in result.stdout


def _gate(**env: str) -> int:
    script = step(load(WORKFLOWS / "pr.yml"), "Gate")["run"]
    full = {"PATH": os.environ["PATH"], "APPROVAL_LABEL": "approved-replacement", "MANDATORY_FAILED": "", "FLAGGED": "",
            "BROKEN": "", "APPROVED": "false", **env}
    return subprocess.run(["bash", "-c", script], env=full, capture_output=True, text=True, timeout=30, check=False).returncode


def test_gate_fails_on_mandatory_failure_and_unapproved_flags() -> None:
    pr = load(WORKFLOWS / "pr.yml")
    assert load(WORKFLOWS / "pr.yml")["env"]["APPROVAL_LABEL"] == "approved-replacement"
    assert "labeled" in triggers(pr)["pull_request"]["types"]  # adding the label re-runs the gate
    assert _gate() == 0
    assert _gate(MANDATORY_FAILED="prod") == 1
    assert _gate(MANDATORY_FAILED="prod", APPROVED="true") == 1  # the label approves replacements, not policy failures
    assert _gate(FLAGGED="staging prod") == 1
    assert _gate(FLAGGED="staging prod", APPROVED="true") == 0
    assert _gate(BROKEN="dev (plan)", APPROVED="true") == 1


def test_guardrail_step_runs_for_real(tmp_path: Path) -> None:
    """The guardrail script of pr.yml over `dev`, with the repository itself as the base branch: plans written,
    check and diff pass, the report and diff land in the job summary, the outputs say nothing failed."""
    python = ROOT / ".venv" / "bin" / "python"
    assert python.exists(), "the README's install (.venv) is what the workflow runs"
    script = step(load(WORKFLOWS / "pr.yml"), "Render, check, diff and report")["run"]
    out, summary, outputs = tmp_path / "out", tmp_path / "summary.md", tmp_path / "outputs"
    env = {**os.environ, "STACKS": "dev", "BASE_DIR": str(ROOT), "OUT": str(out), "GITHUB_WORKSPACE": str(ROOT),
           "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)}
    result = subprocess.run(["bash", "-e", "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert dict(line.split("=", 1) for line in outputs.read_text().splitlines()) == {
        "mandatory_failed": "", "flagged": "", "broken": ""}
    for f in ("head.json", "base.json", "check.txt", "diff.md", "report.md"):
        assert (out / "dev" / f).is_file(), f
    # The base branch is this repository: two processes rendered the same plan, byte for byte.
    assert (out / "dev" / "head.json").read_bytes() == (out / "dev" / "base.json").read_bytes()
    text = summary.read_text()
    assert "## `dev`" in text and "nothing flagged" in text and "```mermaid" in text


def test_sweep_lists_expired_environments(tmp_path: Path) -> None:
    """The sweep's one-liner names exactly the expired ledger entries."""
    from brickwall.ledger import Entry, Ledger

    script = step(load(WORKFLOWS / "ephemeral.yml"), "Destroy every expired environment")["run"]
    snippet = re.search(r"-c '([^']+)'", script)
    assert snippet
    now = datetime.now(UTC)
    Ledger(tmp_path).seed([
        Entry("pr-1", "staging", ("10.64.0.0/16",), (now - timedelta(days=4)).isoformat(), (now - timedelta(hours=1)).isoformat(), "a", "1"),
        Entry("pr-2", "staging", ("10.65.0.0/16",), now.isoformat(), (now + timedelta(hours=5)).isoformat(), "b", "2"),
    ])
    result = subprocess.run([sys.executable, "-c", snippet.group(1), str(tmp_path)], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    assert result.stdout.split() == ["pr-1"]


def test_ephemeral_commands(wfs: dict[str, dict[str, Any]]) -> None:
    eph = jobs(wfs["ephemeral.yml"])
    assert set(eph) == {"runner", "up", "destroy", "sweep"}
    up = step(wfs["ephemeral.yml"], "env up")["run"]
    assert 'env up "pr-$PR_NUMBER" --base "$BASE_STACK" --pull-request "$PR_NUMBER"' in up and "--owner" in up
    assert wfs["ephemeral.yml"]["env"]["BASE_STACK"] == "staging"
    assert "'closed'" in eph["destroy"]["if"] and "'unlabeled'" in eph["destroy"]["if"]
    assert "'test-env'" in eph["up"]["if"]
    assert "schedule" in eph["sweep"]["if"]
    # Trusted code destroys: the base branch, not the pull request's head.
    checkout = eph["destroy"]["steps"][0]
    assert checkout["with"]["ref"] == "${{ github.event.pull_request.base.ref }}"


# --- private workspaces: the runner that can see them, and the preflight ----------------------------------------

PRIVATE_RUNS_ON = "fromJSON(vars.PRIVATE_RUNNER_LABELS || '[\"self-hosted\"]')"
REACH = re.compile(r"-m brickwall reach\b")


def _index(job: dict[str, Any], pred: Any) -> int:
    found = [i for i, s in enumerate(job["steps"]) if pred(s)]
    assert len(found) == 1, found
    return found[0]


def _run_step(script: str, env: dict[str, str], tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """A workflow step's script for real (bash -e, as GitHub runs it), from the repository root; its $GITHUB_OUTPUT."""
    python = ROOT / ".venv" / "bin" / "python"
    assert python.exists(), "the README's install (.venv) is what the workflow runs"
    outputs = tmp_path / "outputs"
    outputs.write_text("")
    full = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "GITHUB_OUTPUT": str(outputs), **env}
    result = subprocess.run(["bash", "-e", "-c", script], env=full, cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    return result, dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)


def test_preview_matrix_and_runner_come_from_the_specs(wfs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """The `stacks` job's step, run for real, writes the matrix `runners --json` derives from the specs; each stack's
    preview runs on PRIVATE_RUNNER_LABELS when its workspace is private, on a GitHub-hosted runner otherwise."""
    pv = jobs(wfs["preview.yml"])
    assert pv["stacks"]["outputs"]["include"] == "${{ steps.runners.outputs.include }}"
    assert pv["preview"]["needs"] == "stacks" and pv["preview"]["if"] == pv["stacks"]["if"]
    result, outputs = _run_step(step(wfs["preview.yml"], "Runners per stack")["run"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(outputs["include"]) == _runners_json()
    assert [(r["stack"], r["private"]) for r in json.loads(outputs["include"])] == [
        ("dev", False), ("prod", True), ("staging", True)]
    assert pv["preview"]["runs-on"] == f"${{{{ matrix.private && {PRIVATE_RUNS_ON} || 'ubuntu-latest' }}}}"
    assert pv["stacks"]["runs-on"] == "ubuntu-latest"  # no credentials, nothing private: any runner


def test_preview_runs_the_preflight_before_pulumi_preview(wfs: dict[str, dict[str, Any]]) -> None:
    job = jobs(wfs["preview.yml"])["preview"]
    steps_ = job["steps"]
    cli_install = _index(job, lambda s: str(s.get("name", "")).startswith("Install the Pulumi CLI"))
    login = _index(job, lambda s: str(s.get("name", "")).startswith("Azure login"))
    preflight = _index(job, lambda s: bool(REACH.search(s.get("run", ""))))
    preview = _index(job, lambda s: (s.get("with") or {}).get("command") == "preview")
    assert max(cli_install, login) < preflight < preview
    pre = steps_[preflight]
    assert '-m brickwall reach --stack "$STACK"' in pre["run"]
    assert pre["env"] == {"STACK": "${{ matrix.stack }}", "BRICKWALL_BACKEND": "${{ vars.PULUMI_BACKEND_URL }}"}
    assert steps_[cli_install]["with"]["pulumi-version"] == steps_[preview]["with"]["pulumi-version"]


def test_the_preflight_step_passes_a_public_stack_and_fails_in_one_annotated_line(wfs: dict[str, dict[str, Any]],
                                                                                   tmp_path: Path) -> None:
    """The preflight script for real: dev (public) passes without touching the network; prod against a backend
    this machine cannot read (no passphrase) fails with the command's exit code and one error annotation."""
    script = step(wfs["preview.yml"], "Preflight")["run"]
    result, _ = _run_step(script, {"STACK": "dev"}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines() == [
        "dev: workspace.public_network_access Enabled: its front end answers on the Internet; any runner reaches it, "
        "no private network needed"]
    result, _ = _run_step(script, {"STACK": "prod", "BRICKWALL_BACKEND": f"file://{tmp_path}/state"}, tmp_path)
    assert result.returncode == exits.USAGE, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("::error title=preflight prod::error: prod: no passphrase")


def test_ephemeral_jobs_run_where_the_base_workspace_is_reachable(wfs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """The `runner` job (trusted base-branch code) says from the base's spec whether stamps are private; up, destroy
    and sweep run on PRIVATE_RUNNER_LABELS then, and call the preflight before they deploy or destroy."""
    eph = jobs(wfs["ephemeral.yml"])
    runner = eph["runner"]
    assert runner["steps"][0]["with"]["ref"] == "${{ github.event.pull_request.base.ref }}"
    assert runner["outputs"]["private"] == "${{ steps.runner.outputs.private }}"
    result, outputs = _run_step(step(wfs["ephemeral.yml"], "Does the base's workspace need a private runner")["run"],
                                {"BASE_STACK": wfs["ephemeral.yml"]["env"]["BASE_STACK"]}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert outputs == {"private": "true"}  # staging's workspace is private
    for name in ("dev", "prod"):
        result, outputs = _run_step(step(wfs["ephemeral.yml"], "Does the base's workspace need a private runner")["run"],
                                    {"BASE_STACK": name}, tmp_path)
        assert outputs == {"private": "true" if name == "prod" else "false"}
    expected = f"${{{{ needs.runner.outputs.private == 'true' && {PRIVATE_RUNS_ON} || 'ubuntu-latest' }}}}"
    for name in ("up", "destroy", "sweep"):
        assert eph[name]["needs"] == "runner", name
        assert eph[name]["runs-on"] == expected, name
    for name, acts in (("up", "env up"), ("destroy", "env destroy")):
        job = eph[name]
        preflight = _index(job, lambda s: bool(REACH.search(s.get("run", ""))))
        acting = _index(job, lambda s, a=acts: f"-m brickwall {a}" in s.get("run", ""))
        ledger = _index(job, lambda s: str(s.get("name", "")).startswith("Fetch the ledger"))
        assert ledger < preflight < acting, name
        assert ('reach --stack "pr-$PR_NUMBER" --base "$BASE_STACK" --state-dir "$STATE_DIR"'
                in job["steps"][preflight]["run"]), name
    sweep = step(wfs["ephemeral.yml"], "Destroy every expired environment")["run"]
    assert 0 <= sweep.index('reach --stack "$name"') < sweep.index('env destroy "$name"')


def test_the_runner_variable_is_documented() -> None:
    assert "`PRIVATE_RUNNER_LABELS`" in doc("ci")
    for path in (WORKFLOWS / "preview.yml", WORKFLOWS / "ephemeral.yml"):
        assert "PRIVATE_RUNNER_LABELS" in path.read_text().split("name:", 1)[0], f"{path.name}: header comment"


# --- the standing audit (audit.yml): daily per deployed stack, the rolling issue, the key-version refresh ----------

AUDIT = WORKFLOWS / "audit.yml"


def test_audit_runs_daily_and_on_demand(wfs: dict[str, dict[str, Any]]) -> None:
    on = triggers(wfs["audit.yml"])
    assert set(on) == {"schedule", "workflow_dispatch"}  # no pull request ever runs it
    crons = [c["cron"] for c in on["schedule"]]
    assert len(crons) == 1
    minute, hour, dom, month, dow = crons[0].split()
    assert minute.isdigit() and 0 <= int(minute) < 60 and hour.isdigit() and 0 <= int(hour) < 24
    assert (dom, month, dow) == ("*", "*", "*")  # once a day, every day
    # A queued run waits: a `pulumi up` is never cancelled mid-way.
    assert wfs["audit.yml"]["concurrency"]["cancel-in-progress"] is False


def test_audit_matrix_and_runner_come_from_the_specs(wfs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """The `stacks` job's step, run for real, writes the matrix `runners --json` derives from the specs; each stack's
    audit runs on PRIVATE_RUNNER_LABELS when its workspace is private, as preview.yml's preview does."""
    au = jobs(wfs["audit.yml"])
    assert set(au) == {"stacks", "audit"}
    assert au["stacks"]["outputs"]["include"] == "${{ steps.runners.outputs.include }}"
    assert au["stacks"]["runs-on"] == "ubuntu-latest" and au["stacks"]["permissions"] == {"contents": "read"}
    job = au["audit"]
    assert job["needs"] == "stacks" and job["if"] == au["stacks"]["if"]
    assert "vars.AZURE_CLIENT_ID" in job["if"] and "vars.PULUMI_BACKEND_URL" in job["if"]
    assert job["strategy"] == {"fail-fast": False, "matrix": {"include": "${{ fromJSON(needs.stacks.outputs.include) }}"}}
    assert job["runs-on"] == jobs(wfs["preview.yml"])["preview"]["runs-on"]
    assert job["runs-on"] == f"${{{{ matrix.private && {PRIVATE_RUNS_ON} || 'ubuntu-latest' }}}}"
    assert step(wfs["audit.yml"], "Runners per stack")["run"] == step(wfs["preview.yml"], "Runners per stack")["run"]
    result, outputs = _run_step(step(wfs["audit.yml"], "Runners per stack")["run"], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(outputs["include"]) == _runners_json()
    assert [r["stack"] for r in json.loads(outputs["include"])] == ["dev", "prod", "staging"]
    assert "PRIVATE_RUNNER_LABELS" in AUDIT.read_text().split("name:", 1)[0]  # the header says so


def test_audit_job_signs_in_with_oidc_and_least_permissions(wfs: dict[str, dict[str, Any]]) -> None:
    job = jobs(wfs["audit.yml"])["audit"]
    assert job["permissions"] == {"contents": "read", "id-token": "write", "issues": "write"}
    assert wfs["audit.yml"]["permissions"] == {}
    login = step(wfs["audit.yml"], "Azure login")
    assert set(login["with"]) == {"client-id", "tenant-id", "subscription-id"}  # federated: no client secret
    assert login["uses"] == step(wfs["preview.yml"], "Azure login")["uses"]
    env = job["env"]
    assert env["ARM_USE_OIDC"] == "true" and env["ARM_CLIENT_ID"] == "${{ vars.AZURE_CLIENT_ID }}"
    assert "ARM_CLIENT_SECRET" not in AUDIT.read_text()
    assert env["STACK"] == "${{ matrix.stack }}" and env["BRICKWALL_BACKEND"] == "${{ vars.PULUMI_BACKEND_URL }}"
    # The preflight before the audit, after the login and the CLI the audit reads the workspaceUrl output with.
    order = {n: _index(job, lambda s, n=n: str(s.get("name", "")).startswith(n))
             for n in ("Azure login", "Install the Pulumi CLI", "Preflight", "Audit", "Post the report")}
    assert order["Azure login"] < order["Preflight"] < order["Audit"] < order["Post the report"]
    assert order["Install the Pulumi CLI"] < order["Audit"]
    assert step(wfs["audit.yml"], "Preflight")["run"] == step(wfs["preview.yml"], "Preflight")["run"]
    assert '-m brickwall audit --stack "$STACK" --format markdown --output "$REPORT"' in step(wfs["audit.yml"], "Audit")["run"]


def _fake_audit(tmp_path: Path, status: int) -> Path:
    """A stand-in for `.venv/bin/python -m brickwall audit` (exit codes as brickwall/exits.py): writes a report
    to --output on 0 and 7, one error line per refused API on stderr otherwise, as the audit command does."""
    work = tmp_path / f"work-{status}"
    (work / ".venv" / "bin").mkdir(parents=True)
    fake = work / ".venv" / "bin" / "python"
    fake.write_text(f"""#!/usr/bin/env bash
out=""
while [ $# -gt 0 ]; do [ "$1" = --output ] && out="$2"; shift; done
case {status} in
  0) printf '#### brickwall audit: `dev`\\n\\nno findings\\n' > "$out" ;;
  7) printf '#### brickwall audit: `dev`\\n\\n| high | setting-drifted |\\n' > "$out" ;;
  *) echo "error: dev: cannot read token management: 403 grant workspace admin" >&2 ;;
esac
exit {status}
""")
    fake.chmod(0o755)
    return work


def _audit_step(wfs: dict[str, dict[str, Any]], tmp_path: Path, status: int) -> tuple[subprocess.CompletedProcess[str],
                                                                                      dict[str, str], Path]:
    work = _fake_audit(tmp_path, status)
    outputs, summary = work / "outputs", work / "summary.md"
    outputs.write_text("")
    env = {"PATH": os.environ["PATH"], "STACK": "dev", "REPORT": "audit-dev.md", "GITHUB_OUTPUT": str(outputs),
           "GITHUB_STEP_SUMMARY": str(summary)}
    # GitHub runs a `run:` step as `bash -e {0}` with pipefail (the default shell on Linux).
    result = subprocess.run(["bash", "-eo", "pipefail", "-c", step(wfs["audit.yml"], "Audit")["run"]], env=env,
                            cwd=work, capture_output=True, text=True, timeout=60, check=False)
    return result, dict(line.split("=", 1) for line in outputs.read_text().splitlines()), work


def test_audit_exit_7_is_a_report_and_8_fails_the_job(wfs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    from brickwall import exits

    fail = step(wfs["audit.yml"], "Fail when the audit could not read")
    for status in (exits.OK, exits.AUDIT_FINDINGS, exits.AUDIT_UNREADABLE, exits.UNREACHABLE):
        result, outputs, work = _audit_step(wfs, tmp_path, status)
        # The audit step itself never fails: the report is posted first, then the last step decides.
        assert result.returncode == 0, result.stdout + result.stderr
        assert outputs == {"status": str(status)}
        report = (work / "audit-dev.md").read_text()
        assert (work / "summary.md").read_text() == report
        if status in (exits.OK, exits.AUDIT_FINDINGS):
            assert "::error" not in result.stdout
        else:
            assert f"could not complete (exit {status})" in report and "cannot read token management" in report
            assert "::error title=audit dev::error: dev: cannot read token management" in result.stdout
    # The last step runs whatever failed before it, skips 0 and 7, and exits with the audit's code otherwise.
    assert fail["if"].startswith("always()")
    assert "steps.audit.outputs.status != '0'" in fail["if"] and "steps.audit.outputs.status != '7'" in fail["if"]
    assert fail["env"] == {"STATUS": "${{ steps.audit.outputs.status }}"}
    for status in (exits.AUDIT_UNREADABLE, exits.UNREACHABLE):
        result = subprocess.run(["bash", "-e", "-c", fail["run"]], env={"PATH": os.environ["PATH"], "STACK": "dev",
                                "STATUS": str(status)}, capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == status
        assert result.stdout.startswith(f"::error title=audit dev::the audit of dev exited {status}")
    job = jobs(wfs["audit.yml"])["audit"]
    assert _index(job, lambda s: s is fail) == len(job["steps"]) - 1


FAKE_GH = """#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$GH_LOG"
if [ "$1 $2" = "issue list" ]; then printf '%s' "$FAKE_ISSUES"; fi
"""


def _post(wfs: dict[str, dict[str, Any]], tmp_path: Path, status: int, issues: list[dict[str, Any]],
          report: str = "#### brickwall audit: `prod`\n\n| high | setting-drifted |\n") -> tuple[list[str], Path]:
    """The posting script for real against a fake `gh` that records each call and answers `issue list`."""
    work = tmp_path / f"post-{len(list(tmp_path.iterdir()))}"
    (work / "bin").mkdir(parents=True)
    gh = work / "bin" / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    (work / "audit-prod.md").write_text(report)
    log = work / "gh.log"
    env = {"PATH": f"{work / 'bin'}:{os.environ['PATH']}", "STACK": "prod", "REPORT": "audit-prod.md",
           "STATUS": str(status), "AUDIT_LABEL": "brickwall-audit", "RUN_URL": "https://github.com/o/r/actions/runs/1",
           "GH_LOG": str(log), "FAKE_ISSUES": json.dumps(issues)}
    result = subprocess.run(["bash", "-e", "-c", step(wfs["audit.yml"], "Post the report")["run"]], env=env, cwd=work,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return log.read_text().splitlines(), work


def test_audit_report_goes_to_one_rolling_issue_per_stack(wfs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    import hashlib

    post = step(wfs["audit.yml"], "Post the report")
    assert post["if"] == "always() && steps.audit.outputs.status != ''"
    assert post["env"]["GH_TOKEN"] == "${{ github.token }}" and post["env"]["GH_REPO"] == "${{ github.repository }}"
    report = "#### brickwall audit: `prod`\n\n| high | setting-drifted |\n"
    digest = hashlib.sha256(report.encode()).hexdigest()
    listing = "issue list --label brickwall-audit --state all --limit 100 --json number,title,state,body"
    other = {"number": 3, "title": "brickwall audit: staging", "state": "OPEN", "body": f"<!-- brickwall-audit digest:{digest} -->"}

    # Findings, no issue yet (another stack's issue is not this one's): the label, then one new issue.
    calls, work = _post(wfs, tmp_path, 7, [other])
    assert calls == [listing, "label create brickwall-audit --force --color B60205 --description brickwall audit: live "
                     "drift from the spec", "issue create --title brickwall audit: prod --label brickwall-audit "
                     "--body-file body.md"]
    body = (work / "body.md").read_text()
    assert body.startswith(f"<!-- brickwall-audit digest:{digest} -->\n\n{report}")
    assert body.rstrip().endswith("Run: https://github.com/o/r/actions/runs/1")

    # The same findings again: nothing posted.
    same = {"number": 9, "title": "brickwall audit: prod", "state": "OPEN", "body": body}
    assert _post(wfs, tmp_path, 7, [other, same])[0] == [listing]
    # Different findings: the body replaced and one comment (the notification).
    changed = {**same, "body": "<!-- brickwall-audit digest:0123abcd -->\n\nold report"}
    calls, _ = _post(wfs, tmp_path, 7, [changed])
    assert calls[1:] == ["issue edit 9 --body-file body.md",
                         "issue comment 9 --body The audit of `prod` changed (exit 7): the report above is new. "
                         "https://github.com/o/r/actions/runs/1"]
    # Findings back after a clean spell: the newest issue of the title reopened, then updated.
    closed = {**same, "state": "CLOSED"}
    calls, _ = _post(wfs, tmp_path, 7, [{**closed, "number": 2}, closed])
    assert calls[1:3] == ["issue reopen 9", "issue edit 9 --body-file body.md"] and len(calls) == 4
    # Clean: an open issue is closed with a comment; with none open, nothing at all is posted.
    calls, _ = _post(wfs, tmp_path, 0, [same], report="#### brickwall audit: `prod`\n\nno findings\n")
    assert calls[1:] == ["issue close 9 --comment Clean again: the audit of `prod` found nothing. "
                         "https://github.com/o/r/actions/runs/1"]
    assert _post(wfs, tmp_path, 0, [closed, other])[0] == [listing]
    assert _post(wfs, tmp_path, 0, [])[0] == [listing]
    # Could not read (8): the state changed, so the issue says why.
    calls, work = _post(wfs, tmp_path, 8, [same], report="**The audit could not complete (exit 8):**\n")
    assert calls[1] == "issue edit 9 --body-file body.md" and "exit 8" in calls[2]
    assert "could not complete (exit 8)" in (work / "body.md").read_text()
    # A huge report still fits an issue body (65536 characters at most).
    calls, work = _post(wfs, tmp_path, 7, [], report="| high | x |\n" * 20000)
    assert len((work / "body.md").read_text()) <= 60000 and calls[-1].startswith("issue create")


def test_audit_refreshes_key_versions_then_gates(wfs: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """After the audit, stacks whose spec uses customer-managed keys run `pulumi up --refresh` (Pulumi's action, the
    SHA the other workflows pin) and then the idempotency gate: a second preview that fails on any change."""
    job = jobs(wfs["audit.yml"])["audit"]
    keys = step(wfs["audit.yml"], "Customer-managed keys")
    up = step(wfs["audit.yml"], "pulumi up --refresh")
    gate = step(wfs["audit.yml"], "Idempotency gate")
    order = [_index(job, lambda s, x=x: s is x) for x in (step(wfs["audit.yml"], "Audit"), keys, up, gate)]
    assert order == sorted(order)
    preview_action = step(wfs["preview.yml"], "pulumi preview")["uses"]
    assert up["uses"] == gate["uses"] == preview_action
    assert up["with"]["command"] == "up" and up["with"]["refresh"] is True
    assert gate["with"]["command"] == "preview" and gate["with"]["expect-no-changes"] is True
    assert "refresh" not in gate["with"]
    for s in (up, gate):
        assert s["with"]["stack-name"] == "${{ matrix.stack }}"
        assert s["with"]["pulumi-version"] == "${{ steps.versions.outputs.pulumi }}"
        assert s["with"]["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        assert s["with"]["policyPacks"] == "policies" and s["with"]["suppress-outputs"] is True
        assert s["if"] == ("steps.keys.outputs.cmk == 'true' && github.ref == 'refs/heads/main' "
                           "&& vars.BRICKWALL_SCHEDULED_UP == 'true'")
    # Why, in the workflow itself: ARM "create if not exist" never moves a pinned key version.
    text = AUDIT.read_text()
    assert "create if not exist" in text and "docs/audit-data-keys.md" in text
    # The step for real: which stacks hold customer-managed keys, from their specs.
    import stacks as stack_modules

    for name in stack_modules.KNOWN_STACKS:
        result, outputs = _run_step(keys["run"], {"STACK": name}, tmp_path)
        assert result.returncode == 0, result.stderr
        assert outputs == {"cmk": str(stack_modules.load(name).encryption.customer_managed_keys).lower()}
    assert _run_step(keys["run"], {"STACK": "prod"}, tmp_path)[1] == {"cmk": "true"}
    assert _run_step(keys["run"], {"STACK": "dev"}, tmp_path)[1] == {"cmk": "false"}


def test_audit_workflow_is_documented(wfs: dict[str, dict[str, Any]]) -> None:
    minute, hour = triggers(wfs["audit.yml"])["schedule"][0]["cron"].split()[:2]
    when = f"{int(hour):02d}:{int(minute):02d} UTC"
    ci = doc("ci")
    assert "**`audit.yml`**" in ci and "brickwall-audit" in ci and when in ci
    assert "Four GitHub Actions workflows" in ci and len(FILES) == 4
    audit = doc("audit")
    assert "audit.yml" in audit and "pulumi up --refresh" in audit and when in audit
    assert "scheduled workflow" not in audit.split("what is not yet read", 1)[1]  # no longer "still to come"
