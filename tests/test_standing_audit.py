"""`python -m brickwall audit`: the real databricks-sdk WorkspaceClient against a local HTTPS server.

The server (127.0.0.1, TLS with a throwaway CA the SDK trusts through REQUESTS_CA_BUNDLE: databricks-sdk builds a
plain requests.Session and has no CA option of its own, databricks/sdk/_base_client.py) serves the JSON fixtures under
tests/audit_fixtures/ at the API paths the SDK calls, pages the SCIM lists two resources at a time and the clusters
by next_page_token, and answers 401 to a request without the bearer token. Nothing patches the SDK. The plan is the
session's rendering of prod (conftest `prod_plan`), saved and passed with --plan.
"""

from __future__ import annotations

import http.server
import json
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from brickwall import audit, cli, exits
from brickwall.cli import audit as audit_command
from brickwall.cli.errors import exit_code
from brickwall.errors import UsageError
from tests.tls import certificates, serving

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "audit_fixtures"
TOKEN = "dapi-audit-fixture-bearer-0123456789abcdef"
DEPLOYER = "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b60"
# Secret values planted in the drift fixtures (a registry password, a storage key in spark_conf): never printed.
# A job cluster's environment variable and a notebook parameter in the drifted jobs: never printed either.
PLANTED = ("fixture-registry-password-DO-NOT-PRINT", "fixture-storage-key-DO-NOT-PRINT", TOKEN,
           "fixture-job-env-secret-DO-NOT-PRINT", "fixture-job-parameter-secret-DO-NOT-PRINT")
SCIM_PAGE = 2
ROUTES = {  # API path -> fixture name (databricks-sdk 0.162.0 service/{compute,settings,iam,jobs}.py)
    "/api/2.1/clusters/list": "clusters",
    "/api/2.0/policies/clusters/list": "policies",
    "/api/2.0/token-management/tokens": "tokens",
    "/api/2.0/preview/scim/v2/Groups": "groups",
    "/api/2.0/preview/scim/v2/ServicePrincipals": "service-principals",
    "/api/2.0/ip-access-lists": "ip-access-lists",
    "/api/2.0/workspace-conf": "workspace-conf",
    "/api/2.2/jobs/list": "jobs",
    "/api/2.0/preview/scim/v2/Users": "users",
}


# --- the throwaway CA and the server -----------------------------------------------------------------------------

class Workspace:
    """What the fake workspace serves: a fixture set (files in `sets`, first match wins), and per-path faults."""

    def __init__(self, plan: dict[str, Any]) -> None:
        self.sets: list[str] = ["clean"]
        self.forbidden: dict[str, str] = {}  # path -> message (403)
        self.unknown_keys: set[str] = set()  # workspace-conf keys this workspace does not know (400 "Invalid keys")
        self.requests: list[tuple[str, str]] = []
        self.planned = {r["inputs"]["name"]: r["inputs"] for r in plan["resources"]
                        if r["type"] == "databricks:index/clusterPolicy:ClusterPolicy"}

    def fixture(self, name: str) -> tuple[str, Any] | None:
        for s in self.sets:
            for ext in ("json", "txt"):
                path = FIXTURES / s / f"{name}.{ext}"
                if path.is_file():
                    return ext, (self._fill(json.loads(path.read_text())) if ext == "json" else path.read_text())
        return None

    def _fill(self, value: Any) -> Any:
        """Fixture templates: ${days_ago:N} (epoch ms N days before now), ${planned_definition:NAME} and
        ${planned_overrides:NAME} (the plan's policy JSON, so the clean set follows the planners)."""
        if isinstance(value, dict):
            return {k: self._fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._fill(v) for v in value]
        if isinstance(value, str) and (m := re.fullmatch(r"\$\{(\w+):(.*)\}", value)):
            kind, arg = m.groups()
            if kind == "days_ago":
                return int((time.time() - float(arg) * 86400) * 1000)
            return self.planned[arg]["definition" if kind == "planned_definition" else "policyFamilyDefinitionOverrides"]
        return value


def _handler(ws: Workspace) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, raw: bool = False) -> None:
            data = (body if raw else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if raw else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, {"error_code": "UNAUTHENTICATED", "message": "Invalid access token."})
            if url.path not in ROUTES:  # /.well-known/databricks-config among others
                return self._send(404, {"error_code": "ENDPOINT_NOT_FOUND", "message": f"No API found for 'GET {url.path}'"})
            ws.requests.append((url.path, url.query))
            if url.path in ws.forbidden:
                return self._send(403, {"error_code": "PERMISSION_DENIED", "message": ws.forbidden[url.path]})
            name = ROUTES[url.path]
            if url.path.endswith(("/clusters/list", "/jobs/list")) and "page_token" in query:
                name = f"{name}.{query['page_token']}"
            found = ws.fixture(name)
            if found is None:
                return self._send(404, {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": name})
            ext, body = found
            if ext == "txt":
                return self._send(200, body, raw=True)
            if "/scim/v2/" in url.path:  # SCIM paging: startIndex is 1-based, at most SCIM_PAGE per page
                start = int(query.get("startIndex", "1"))
                count = min(int(query.get("count", "100")), SCIM_PAGE)
                every = body.get("Resources", [])
                body = {**body, "totalResults": len(every), "startIndex": start,
                        "Resources": every[start - 1:start - 1 + count]}
                body["itemsPerPage"] = len(body["Resources"])
                if "attributes" in query:  # only the attributes asked for; id always (RFC 7644 section 3.9)
                    keep = set(query["attributes"].split(",")) | {"id", "schemas"}
                    body["Resources"] = [{k: v for k, v in r.items() if k in keep} for r in body["Resources"]]
            if url.path == "/api/2.0/workspace-conf":
                keys = [k for k in query.get("keys", "").split(",") if k]
                if unknown := [k for k in keys if k in ws.unknown_keys]:
                    # The message terraform-provider-databricks parses (workspace/resource_workspace_conf.go).
                    return self._send(400, {"error_code": "INVALID_PARAMETER_VALUE",
                                            "message": f"Invalid keys: {json.dumps(unknown)}"})
                body = {k: body.get(k) for k in keys}
            return self._send(200, body)

    return Handler


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, prod_plan: dict) -> Iterator[tuple[str, Path, Workspace, Path]]:
    tmp = tmp_path_factory.mktemp("audit")
    ca, cert, key = certificates(tmp)
    ws = Workspace(prod_plan)
    with serving(_handler(ws), cert, key) as url:
        plan_file = tmp / "prod.json"
        plan_file.write_text(json.dumps(prod_plan))
        yield url, ca, ws, plan_file


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, server: tuple[str, Path, Workspace, Path], tmp_path: Path) -> Workspace:
    """Token auth and the test CA, as a CI job would set them; nothing else of the machine's leaks in."""
    import os

    for name in list(os.environ):
        if name.startswith(("DATABRICKS_", "ARM_", "AZURE_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DATABRICKS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(tmp_path / "no-databrickscfg"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(server[1]))
    ws = server[2]
    ws.sets, ws.forbidden, ws.unknown_keys, ws.requests[:] = ["clean"], {}, set(), []
    return ws


def _audit(server: tuple[str, Path, Workspace, Path], capsys: pytest.CaptureFixture[str], *extra: str,
           fmt: str = "json") -> tuple[int, str, str]:
    host, _, _, plan = server
    code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", host, "--deployer", DEPLOYER,
                     "--format", fmt, "--timeout", "5", *extra])
    out, err = capsys.readouterr()
    for secret in PLANTED:
        assert secret not in out and secret not in err
    assert "Traceback" not in err
    return code, out, err


def _findings(out: str) -> list[tuple[str, str, str]]:
    return sorted((f["kind"], f["severity"], f["object"]) for f in json.loads(out)["findings"])


# --- the clean workspace and the drifted one ----------------------------------------------------------------------

def test_clean_workspace_has_no_findings_and_each_api_is_read_once(env: Workspace, server: Any,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _audit(server, capsys)
    assert (code, err) == (exits.OK, "")
    report = json.loads(out)
    assert report["clean"] is True and report["findings"] == []
    # Every page of every list was read: 3 clusters over two pages, 5 groups over three SCIM pages, 2 jobs over two.
    assert report["read"] == {"clusters": 3, "cluster_policies": 3, "tokens": 1, "groups": 5, "service_principals": 3,
                              "ip_access_lists": 3, "workspace_conf_keys": 18, "jobs": 2, "users": 2}
    assert report["notes"] == []
    # Each API once: no request repeated, every API asked; pagination is the only second request to a path.
    assert len(env.requests) == len(set(env.requests))
    assert {p for p, _ in env.requests} == set(ROUTES)
    assert [q for p, q in env.requests if p == "/api/2.1/clusters/list"] == ["", "page_token=page-2"]
    assert sorted(q for p, q in env.requests if p.endswith("/Groups")) == [
        "startIndex=1&count=10000", "startIndex=3&count=10000", "startIndex=5&count=10000", "startIndex=6&count=10000"]
    # Jobs: the largest page the API allows, with the job and task clusters (jobs.JobsAPI.list limit, expand_tasks).
    assert [q for p, q in env.requests if p == "/api/2.2/jobs/list"] == [
        "expand_tasks=true&limit=100", "expand_tasks=true&limit=100&page_token=page-2"]
    # Users: only the attributes the comparison needs (no names, emails or group memberships).
    assert sorted(q for p, q in env.requests if p.endswith("/Users")) == [
        "attributes=id%2CuserName%2Cactive&startIndex=1&count=10000",
        "attributes=id%2CuserName%2Cactive&startIndex=3&count=10000"]


def test_drifted_workspace_reports_each_drift(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    env.sets = ["drift", "clean"]
    code, out, _ = _audit(server, capsys)
    assert code == exits.AUDIT_FINDINGS
    report = json.loads(out)
    by = {(f["kind"], f["object"]): f for f in report["findings"]}
    assert _findings(out) == sorted([
        ("admin-undeclared", "high", "group data-engineers in admins"),
        ("admin-undeclared", "high", "user erik@contoso.com in admins"),
        ("cluster-policy-violation", "high", "cluster engineering-debug (1202-111111-bad0bad1)"),
        ("cluster-policy-violation", "high", "cluster engineering-debug (1202-111111-bad0bad1)"),
        ("cluster-policy-violation", "high", "cluster engineering-debug (1202-111111-bad0bad1)"),
        ("cluster-policy-violation", "high", "cluster engineering-debug (1202-111111-bad0bad1)"),
        ("cluster-runs-as-human", "high", "cluster job-789-run-1011 (1202-131313-er1kj0b5)"),
        ("cluster-undeclared-policy", "high", "cluster erik-power (1130-080808-pu1pu2pu)"),
        ("cluster-without-policy", "high", "cluster erik-scratch (1202-101010-zz9yy8xx)"),
        ("cluster-without-policy", "high", "cluster job-789-run-1011 (1202-131313-er1kj0b5)"),
        ("job-cluster-as-human", "high", "job erik-adhoc-export (789) task export"),
        ("job-owner-gone", "high", "job bi-extract (791)"),
        ("job-owner-gone", "high", "job bi-extract (791)"),
        ("job-owner-gone", "high", "job legacy-sync (790)"),
        ("job-runs-as-human", "high", "job erik-adhoc-export (789)"),
        ("ip-list-changed", "high", "IP access list ci-egress (8a4c1f3e-2b7d-4e9a-b6c5-1d0e9f8a7b6c)"),
        ("ip-list-missing", "high", "IP access list known-bad"),
        ("ip-list-undeclared", "high", "IP access list vendor-access (bd7f4c6b-5eaf-4bcd-a9f8-4a3b2c1d0e9f)"),
        ("policy-changed", "high", "cluster policy brickwall-baseline (D063A3DB2D000A1C)"),
        ("policy-changed", "medium", "cluster policy brickwall-jobs (E0631F5C0D0007E2)"),
        ("policy-undeclared", "medium", "cluster policy Power User Compute (A1B2C3D4E5F60789)"),
        ("setting-drifted", "high", "workspace conf enableResultsDownloading"),
        ("setting-drifted", "high", "workspace conf maxTokenLifetimeDays"),
        ("setting-unset", "medium", "workspace conf enableWebTerminal"),
        ("token-too-old", "medium", "token 5684c9c6a8b3e4d0c1f2a7b9e8d6c5a4b3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8 of service "
                                    "principal legacy-bi-connector (9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b10)"),
        ("token-ungranted", "high", "token 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0 of user "
                                    "erik@contoso.com"),
    ])
    # What the spec expected and what is there, per finding.
    violations = sorted((f["expected"], f["actual"]) for f in report["findings"] if f["kind"] == "cluster-policy-violation")
    assert violations == [
        ('data_security_mode "USER_ISOLATION" (policy brickwall-baseline)', 'data_security_mode "NONE" (RUNNING)'),
        ("docker_image.url forbidden (policy brickwall-baseline)",
         'docker_image.url "contoso.azurecr.io/spark-debug:latest" (RUNNING)'),
        ("init_scripts.*.workspace.destination forbidden (policy brickwall-baseline)",
         'init_scripts.*.workspace.destination "/Users/dana@contoso.com/debug-tools.sh" (RUNNING)'),
        ("ssh_public_keys.* forbidden (policy brickwall-baseline)",
         'ssh_public_keys.* "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTheAuditFixtureOnly dana@laptop" (RUNNING)'),
    ]
    assert by[("cluster-without-policy", "cluster erik-scratch (1202-101010-zz9yy8xx)")]["actual"] == \
        "no policy (RUNNING, created by erik@contoso.com, source UI)"
    baseline = by[("policy-changed", "cluster policy brickwall-baseline (D063A3DB2D000A1C)")]
    assert baseline["actual"] == ('autotermination_minutes {"defaultValue": 30, "maxValue": 10000, "minValue": 10, "type": '
                                  '"range"}; data_security_mode {"type": "allowlist", "values": ["USER_ISOLATION", "NONE"]}; '
                                  "ssh_public_keys.* removed")
    assert by[("policy-changed", "cluster policy brickwall-jobs (E0631F5C0D0007E2)")]["actual"] == "max_clusters_per_user 10"
    assert by[("ip-list-changed", "IP access list ci-egress (8a4c1f3e-2b7d-4e9a-b6c5-1d0e9f8a7b6c)")]["actual"] == \
        "ALLOW 20.61.88.16/28, 91.198.174.0/24"
    assert by[("ip-list-missing", "IP access list known-bad")]["expected"] == "BLOCK 45.155.205.0/24"
    assert (by[("setting-drifted", "workspace conf maxTokenLifetimeDays")]["expected"],
            by[("setting-drifted", "workspace conf maxTokenLifetimeDays")]["actual"]) == ("30", "90")
    ungranted = next(f for f in report["findings"] if f["kind"] == "token-ungranted")
    assert ungranted["expected"] == "held only by service principal legacy-bi-connector (9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b10)"
    too_old = next(f for f in report["findings"] if f["kind"] == "token-too-old")
    assert too_old["actual"] == "45 days old"
    admins = by[("admin-undeclared", "user erik@contoso.com in admins")]
    assert admins["expected"] == f"admins: group databricks-prod-break-glass, service principal ci-deployer ({DEPLOYER})"
    # Jobs: prod declares the job policy brickwall-jobs for etl-jobs, so jobs and their clusters run as it.
    etl = "a service principal (job policy brickwall-jobs: etl-jobs (5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10))"
    assert (by[("job-runs-as-human", "job erik-adhoc-export (789)")]["expected"],
            by[("job-runs-as-human", "job erik-adhoc-export (789)")]["actual"]) == (
        f"runs as {etl}", "runs as user erik@contoso.com")
    assert (by[("job-cluster-as-human", "job erik-adhoc-export (789) task export")]["expected"],
            by[("job-cluster-as-human", "job erik-adhoc-export (789) task export")]["actual"]) == (
        f"dedicated to {etl}", "dedicated to user erik@contoso.com (single_user_name)")
    assert by[("cluster-runs-as-human", "cluster job-789-run-1011 (1202-131313-er1kj0b5)")]["actual"] == \
        "dedicated to user erik@contoso.com (single_user_name; RUNNING, source JOB)"
    gone = sorted((f["object"], f["expected"], f["actual"]) for f in report["findings"] if f["kind"] == "job-owner-gone")
    assert gone == [
        ("job bi-extract (791)", "created (and by default owned, IS_OWNER) by a principal of the workspace",
         "created by user gina@contoso.com: deactivated (SCIM active false)"),
        ("job bi-extract (791)", "runs as a principal of the workspace",
         "runs as service principal 2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d: no service principal of that application id "
         "in the workspace"),
        ("job legacy-sync (790)", "runs as a principal of the workspace",
         "runs as user frank@contoso.com: no user of that name in the workspace"),
    ]
    # What the list could not say is noted: a job cut short (has_more), a creator the API leaves out once deleted.
    assert report["notes"] == [
        "job legacy-sync (790): more tasks or job clusters than the list shows (has_more): the first 100 were compared",
        "1 job(s) list no creator (creator_user_name is left out once the user is deleted): judged by the principal "
        "they run as"]
    # Jobs that run as the service principal are clean: etl-nightly on its dedicated job cluster, curated-refresh
    # (created by dana, serverless) on page 2.
    assert not any("etl-nightly" in f["object"] or "curated-refresh" in f["object"] for f in report["findings"])


def test_drift_report_in_markdown_and_text(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    env.sets = ["drift", "clean"]
    code, md, _ = _audit(server, capsys, fmt="markdown")
    assert code == exits.AUDIT_FINDINGS
    assert md.startswith("## brickwall audit: `prod`\n")
    assert "**26 finding(s): 22 high, 4 medium**" in md
    assert "| high | cluster-without-policy | cluster erik-scratch (1202-101010-zz9yy8xx) |" in md
    # docs/audit.md shows this very report (its host a workspace's, its heading a level down).
    sample = md.replace(server[0], "https://adb-1242009244308051.11.azuredatabricks.net").replace("## ", "#### ", 1)
    assert sample in (ROOT / "docs" / "audit.md").read_text()
    code, text, _ = _audit(server, capsys, fmt="text")
    assert code == exits.AUDIT_FINDINGS
    assert "[HIGH] token-ungranted: token 0f1e2d3c" in text
    # The spark_conf of the drifted cluster holds a storage key: its value never appears, in any format.
    assert "fs.azure.account.key" not in md + text


def test_keys_the_workspace_no_longer_knows(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """A workspace past the end of legacy init scripts refuses their switches: read again without them (as the
    provider does), note it; a key the program sets that the workspace refuses is a finding."""
    env.unknown_keys = {"enableDeprecatedGlobalInitScripts", "enableDeprecatedClusterNamedInitScripts"}
    code, out, _ = _audit(server, capsys)
    assert code == exits.OK
    report = json.loads(out)
    assert report["notes"] == ["the workspace no longer knows enableDeprecatedClusterNamedInitScripts, "
                               "enableDeprecatedGlobalInitScripts (legacy init scripts, end of life): not compared"]
    assert report["read"]["workspace_conf_keys"] == 16
    assert [q.count("%2C") + 1 for p, q in env.requests if p == "/api/2.0/workspace-conf"] == [18, 16]
    env.unknown_keys = {"enableDcs"}
    code, out, _ = _audit(server, capsys)
    assert code == exits.AUDIT_FINDINGS
    assert [(f["kind"], f["object"], f["actual"]) for f in json.loads(out)["findings"]] == [
        ("setting-refused", "workspace conf enableDcs", "the workspace does not know the key (Invalid keys)")]


def test_a_groups_answer_without_admins_is_noted(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    env.sets = ["no-admins", "clean"]
    code, out, _ = _audit(server, capsys)
    assert code == exits.OK
    assert json.loads(out)["notes"] == ["the groups answer holds no `admins` group: workspace admins were not compared"]


def test_without_the_deployer_the_deploying_service_principal_is_an_undeclared_admin(
        env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    host, _, _, plan = server
    code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", host, "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == exits.AUDIT_FINDINGS
    assert _findings(out) == [("admin-undeclared", "high",
                               f"service principal ci-deployer ({DEPLOYER}) in admins")]


# --- bad input: one line, the documented code, never a traceback ---------------------------------------------------

def test_forbidden_api_names_the_permission_to_grant(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    env.forbidden = {"/api/2.0/token-management/tokens": "Only Admins can access token management APIs."}
    code, out, err = _audit(server, capsys)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert err == ("error: prod: cannot read tokens: permission denied (Only Admins can access token management APIs.): "
                   "grant workspace admin (the `admins` group): the token management API is for workspace admins\n")


def test_forbidden_jobs_and_users_name_their_grants(env: Workspace, server: Any,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    env.forbidden = {"/api/2.2/jobs/list": "User is not authorized to list jobs.",
                     "/api/2.0/preview/scim/v2/Users": "Missing workspace-access."}
    code, out, err = _audit(server, capsys)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert err.splitlines() == [
        "error: prod: cannot read jobs: permission denied (User is not authorized to list jobs.): grant workspace admin "
        "(the `admins` group): job permissions hide from anyone else the jobs they may not view",
        "error: prod: cannot read users: permission denied (Missing workspace-access.): grant workspace access (the "
        "`users` entitlement workspace-access) to read SCIM users"]


def test_job_findings_follow_the_spec_and_the_tier(env: Workspace, server: Any, prod_plan: dict) -> None:
    """The same drifted workspace read by the real client, compared as prod (strict), as a tier below prod
    (people in automation are medium), and as a spec without a job policy (dev: nothing says service principals,
    so only the principals that are gone remain)."""
    from dataclasses import replace

    import stacks

    env.sets = ["drift", "clean"]
    exp = audit.expected(stacks.load("prod"), prod_plan, [DEPLOYER])
    assert (exp.job_policies, exp.job_principals, exp.strict) == (
        ("brickwall-jobs",), frozenset({"5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10"}), True)
    live = audit.read(audit_command.client_for(server[0], 5), sorted(exp.conf))
    assert [j.run_as_user_name for j in live.jobs] == [
        "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10", "erik@contoso.com", "frank@contoso.com",
        "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10", "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"]
    people = ("job-runs-as-human", "job-cluster-as-human", "cluster-runs-as-human")

    def jobs_of(e: audit.Expected) -> list[tuple[str, str]]:
        return sorted((f.kind, f.severity) for f in audit.compare(e, live) if f.kind in (*people, "job-owner-gone"))

    assert jobs_of(exp) == sorted([(k, "high") for k in people] + [("job-owner-gone", "high")] * 3)
    assert jobs_of(replace(exp, strict=False)) == sorted([(k, "medium") for k in people] + [("job-owner-gone", "medium")] * 3)
    assert jobs_of(replace(exp, job_policies=(), job_principals=frozenset())) == [("job-owner-gone", "high")] * 3


def test_run_as_from_the_settings_a_group_and_an_unknown_run_as() -> None:
    """Without the list's run_as_user_name, a `run_as` in the settings is used (write-only, but honoured should an
    answer carry it); a job running as a group is not a service principal; a job whose run-as is unknown is noted,
    not guessed. SDK dataclasses built with from_dict, the comparison as the command runs it."""
    from databricks.sdk.service.iam import Group, ServicePrincipal, User
    from databricks.sdk.service.jobs import BaseJob

    exp = audit.Expected(conf={}, ip_lists={}, policies={}, token_groups=frozenset(), token_service_principals=frozenset(),
                         admin_groups=frozenset(), admin_principals=frozenset(), max_token_days=30,
                         job_policies=("jobs",), job_principals=frozenset({"5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10"}))
    jobs = [audit.LiveJob(BaseJob.from_dict(j)) for j in (
        {"job_id": 1, "creator_user_name": "dana@contoso.com",
         "settings": {"name": "as-sp", "run_as": {"service_principal_name": "5E4D3C2B-1A0F-4E9D-8C7B-6A5F4E3D2C10"}}},
        {"job_id": 2, "creator_user_name": "dana@contoso.com",
         "settings": {"name": "as-group", "run_as": {"group_name": "data-engineers"}}},
        {"job_id": 3, "creator_user_name": "dana@contoso.com", "settings": {"name": "unknown"}})]
    live = audit.Live(jobs=jobs, users=[User.from_dict({"id": "1", "userName": "Dana@contoso.com", "active": True})],
                      groups=[Group.from_dict({"id": "2", "displayName": "data-engineers"})],
                      service_principals=[ServicePrincipal.from_dict(
                          {"id": "3", "applicationId": "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10", "displayName": "etl-jobs",
                           "active": True})])
    assert [(f.kind, f.object, f.actual) for f in audit.compare(exp, live)] == [
        ("job-runs-as-human", "job as-group (2)", "runs as group data-engineers")]
    assert audit._job_notes(jobs) == [
        "job unknown (3): the list does not say whom it runs as (no run_as_user_name): not compared"]


def test_job_and_user_fixtures_are_the_sdks_shapes() -> None:
    """Every recorded job is a jobs.BaseJob (databricks-sdk 0.162.0): from_dict and back gives the same JSON, so no
    field is misspelt; the one field beside it is run_as_user_name, which the list carries and BaseJob does not
    keep (databricks/databricks-sdk-py#967). Users likewise are iam.User."""
    from databricks.sdk.service.iam import User
    from databricks.sdk.service.jobs import BaseJob, ListJobsResponse

    pages = sorted(p for s in ("clean", "drift", "empty") for p in (FIXTURES / s).glob("jobs*.json"))
    assert len(pages) == 5
    for page in pages:
        body = json.loads(page.read_text())
        jobs = [{k: v for k, v in job.items() if k != "run_as_user_name"} for job in body.get("jobs", [])]
        assert all(isinstance(job.get("run_as_user_name"), str) for job in body.get("jobs", [])), page
        assert ListJobsResponse.from_dict(body).as_dict() == {**body, **({"jobs": jobs} if jobs else {})}, page
        assert [BaseJob.from_dict(job).as_dict() for job in jobs] == jobs, page
    for users in sorted(p for s in ("clean", "drift", "empty") for p in (FIXTURES / s).glob("users.json")):
        for user in json.loads(users.read_text())["Resources"]:
            assert User.from_dict(user).as_dict() == user, users


def test_malformed_response_is_unreadable(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    env.sets = ["malformed", "clean"]
    code, out, err = _audit(server, capsys)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    lines = err.splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "error: prod: cannot read IP access lists: the answer is not the API's shape",
        "error: prod: cannot read jobs: the answer is not the API's shape",
        "error: prod: cannot read tokens: the answer is not the API's shape"]


def test_bad_credentials_are_unreadable(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-wrong")
    host, _, _, plan = server
    code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", host, "--timeout", "5"])
    out, err = capsys.readouterr()
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert len(err.splitlines()) == 9  # one line per API
    assert all("not authenticated (Invalid access token.)" in line for line in err.splitlines())


def test_empty_workspace_reports_what_is_missing(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    env.sets = ["empty"]
    code, out, err = _audit(server, capsys)
    assert code == exits.AUDIT_FINDINGS and err == ""
    report = json.loads(out)
    assert report["notes"] == ["the workspace holds none of the planned cluster policies and IP access lists: is this "
                               "the stack's workspace, and has it been deployed?"]
    kinds = {f["kind"] for f in report["findings"]}
    assert kinds == {"policy-missing", "policy-changed", "ip-list-missing", "setting-unset", "admin-group-missing"}
    assert report["read"]["clusters"] == 0 and report["read"]["tokens"] == 0


@pytest.fixture
def sdk_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits databricks-sdk's retries ask for (databricks/sdk/retries.py: `clock.sleep` between attempts until the
    deadline by `clock.time`), recorded and not slept: its RealClock moves on by each wait at once."""
    from databricks.sdk.clock import RealClock

    waits: list[float] = []
    monkeypatch.setattr(RealClock, "sleep", lambda _, seconds: waits.append(seconds))
    monkeypatch.setattr(RealClock, "time", lambda _: time.time() + sum(waits))
    return waits


def test_unreachable_host(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str],
                          sdk_waits: list[float]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _, _, _, plan = server
    code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", f"https://127.0.0.1:{port}",
                     "--timeout", "1"])
    out, err = capsys.readouterr()
    assert (code, out) == (exits.UNREACHABLE, "")
    assert len(err.splitlines()) == 1
    assert err == (f"error: prod: https://127.0.0.1:{port} does not answer (Connection refused); run from a network "
                   "that reaches the workspace (python -m brickwall reach --stack prod)\n")
    assert sdk_waits and all(w >= 1 for w in sdk_waits)  # retried (after a second or more) until --timeout


def test_a_host_that_never_answers_is_said_once_in_the_timeout(env: Workspace, server: Any,
                                                                capsys: pytest.CaptureFixture[str],
                                                                sdk_waits: list[float]) -> None:
    """A listener that takes the connection and never answers the TLS handshake (a host behind a firewall that drops):
    one --timeout, then one line; the reads are not started to wait as long again."""
    _, _, _, plan = server
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host = f"https://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", host, "--timeout", "1"])
        took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert (code, out) == (exits.UNREACHABLE, "")
    assert err == (f"error: prod: {host} does not answer (no answer in time); run from a network that reaches the "
                   "workspace (python -m brickwall reach --stack prod)\n")
    assert sdk_waits == [] and took < 5


def test_an_untrusted_certificate_is_said_so(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch, sdk_waits: list[float]) -> None:
    """Without the test CA (REQUESTS_CA_BUNDLE unset, certifi's CAs), the server's certificate is not trusted: said at
    once (brickwall/audit.py check_trust), with no read retried until --timeout."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    host, _, _, plan = server
    code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", host, "--timeout", "1"])
    out, err = capsys.readouterr()
    assert (code, out) == (exits.UNREACHABLE, "")
    assert err == (f"error: prod: {host} does not answer (its TLS certificate is not trusted here; a TLS-inspecting "
                   "proxy's CA goes in REQUESTS_CA_BUNDLE); run from a network that reaches the workspace "
                   "(python -m brickwall reach --stack prod)\n")
    assert env.requests == [] and sdk_waits == []


def test_a_plan_of_another_stack_is_refused(server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    host, _, _, plan = server
    assert cli.main(["audit", "--stack", "dev", "--plan", str(plan), "--host", host]) == exits.USAGE
    assert capsys.readouterr().err == f"error: {plan} is the plan of stack prod, not dev\n"


def test_the_host_comes_from_the_stack_output(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Without --host: the stack's workspaceUrl output (a bare host name, as the workspace resource gives it)."""
    host, _, _, plan = server
    args = cli.parser().parse_args(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--deployer", DEPLOYER,
                                     "--format", "json", "--timeout", "5"])
    asked: list[str] = []

    def outputs(stack: str) -> dict[str, Any] | None:
        asked.append(stack)
        return {"workspaceUrl": host.removeprefix("https://")}

    assert audit_command.run(args, outputs=outputs) == exits.OK
    assert asked == ["prod"] and json.loads(capsys.readouterr().out)["host"] == host
    with pytest.raises(UsageError, match="prod: no workspaceUrl output in the backend \\(not deployed\\?\\); "
                                             "give --host URL"):
        audit_command.run(args, outputs=lambda stack: None)


def test_no_credentials_is_a_usage_error(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABRICKS_TOKEN")
    host, _, _, plan = server
    code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", host, "--timeout", "5"])
    out, err = capsys.readouterr()
    assert (code, out) == (exits.USAGE, "")
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: cannot authenticate to {host}: default auth: cannot configure default credentials")
    assert env.requests == []  # nothing was asked without credentials


def test_unknown_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["audit", "--stack", "nope", "--host", "https://127.0.0.1:1"]) == exits.USAGE
    _, err = capsys.readouterr()
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and "nope" in err


def test_real_process_writes_the_report(env: Workspace, server: Any, tmp_path: Path) -> None:
    """The command's smoke test: a process of its own, the environment for credentials and the CA, --output FILE
    (the saved plan: rendering the stack is the next test's, in this process)."""
    import os

    host, _, _, plan = server
    env.sets = ["drift", "clean"]
    out = tmp_path / "audit.md"
    result = subprocess.run([sys.executable, "-m", "brickwall", "audit", "--skip-azure", "--plan", str(plan), "--stack", "prod",
                             "--host", host, "--deployer", DEPLOYER, "--format", "markdown", "--output", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ), check=False)
    assert result.returncode == exits.AUDIT_FINDINGS, result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    text = out.read_text()
    assert "**26 finding(s): 22 high, 4 medium**" in text
    assert "| high | ip-list-undeclared | IP access list vendor-access" in text
    assert all(secret not in text + result.stderr for secret in PLANTED)


def test_without_a_plan_the_stack_is_rendered(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str],
                                              shared_renders: None) -> None:
    """As CI runs it (audit.yml: `audit --stack STACK`, no saved plan): the stack's render is what is compared, here
    the session's render of prod (tests/conftest.py shared_renders), the same as the saved plan's findings."""
    host, _, _, _ = server
    env.sets = ["drift", "clean"]
    code = cli.main(["audit", "--skip-azure", "--stack", "prod", "--host", host, "--deployer", DEPLOYER,
                     "--format", "json", "--timeout", "5"])
    rendered, err = capsys.readouterr()
    assert (code, err) == (exits.AUDIT_FINDINGS, "")
    planned = _audit(server, capsys)
    assert planned[0] == exits.AUDIT_FINDINGS and _findings(rendered) == _findings(planned[1])
    assert len(_findings(rendered)) == 26


# --- the comparison's pieces ----------------------------------------------------------------------------------------

def test_policy_rules_evaluate_like_the_policy_language() -> None:
    rules = {"data_security_mode": {"type": "fixed", "value": "USER_ISOLATION"},
             "ssh_public_keys.*": {"type": "forbidden"},
             "node_type_id": {"type": "allowlist", "values": ["Standard_D4ds_v5"]},
             "spark_version": {"type": "regex", "pattern": "^16\\.4\\.x-scala2\\.12$"},
             "autotermination_minutes": {"type": "range", "minValue": 10, "maxValue": 120},
             "spark_conf.spark.secret": {"type": "fixed", "value": "{{secrets/s/k}}"}}
    good = {"data_security_mode": "USER_ISOLATION", "node_type_id": "Standard_D4ds_v5",
            "spark_version": "16.4.x-scala2.12", "autotermination_minutes": 30,
            "spark_conf": {"spark.secret": "{{secrets/s/k}}"}}
    assert audit.policy_violations(rules, good) == []
    # The new access-mode names are the legacy ones' aliases (databricks-sdk compute.DataSecurityMode).
    assert audit.policy_violations(rules, {**good, "data_security_mode": "DATA_SECURITY_MODE_STANDARD"}) == []
    assert audit.policy_violations(rules, {**good, "data_security_mode": "DATA_SECURITY_MODE_DEDICATED"}) == [
        ("data_security_mode", '"USER_ISOLATION"', '"DATA_SECURITY_MODE_DEDICATED"')]
    bad = {"node_type_id": "Standard_E64ds_v5", "spark_version": "12.2.x-scala2.12", "autotermination_minutes": 0,
           "ssh_public_keys": ["k1"], "spark_conf": {"spark.secret": "plain-value"}}
    assert audit.policy_violations(rules, bad) == [
        ("autotermination_minutes", "10..120", "0"),
        ("data_security_mode", '"USER_ISOLATION"', "not set"),
        ("node_type_id", 'one of ["Standard_D4ds_v5"]', '"Standard_E64ds_v5"'),
        ("spark_conf.spark.secret", '"{{secrets/s/k}}"', "a value (not shown)"),
        ("spark_version", "matching ^16\\.4\\.x-scala2\\.12$", '"12.2.x-scala2.12"'),
        ("ssh_public_keys.*", "forbidden", '"k1"'),
    ]


def test_exit_codes_are_documented() -> None:
    codes = {e.code: e for e in exits.TABLE}
    assert "audit" in codes[exits.AUDIT_FINDINGS].commands and "audit" in codes[exits.AUDIT_UNREADABLE].commands
    assert "audit" in codes[exits.UNREACHABLE].commands
    assert exits.markdown_table() in (ROOT / "README.md").read_text()
    assert "python -m brickwall audit" in (ROOT / "docs" / "audit.md").read_text()


def test_the_opt_in_parts_are_wired_with_their_errors(env: Workspace, server: Any, capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    """--kubeconfig and --logs-workspace add the Kubernetes and Logs parts (their own tests:
    tests/test_audit_kubernetes.py, tests/test_audit_logs.py); their failures reach the one exit-code table."""

    class Token:  # azure-core's TokenCredential protocol: the SDK's own extension point, nothing patched
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            from azure.core.credentials import AccessToken

            return AccessToken("t0k3n-for-the-logs-endpoint", int(time.time()) + 3600)

    code, _, err = _audit(server, capsys, "--kubeconfig", str(tmp_path / "no-such-kubeconfig"))
    assert code == exits.USAGE and "cannot load the kubeconfig" in err
    host, _, _, plan = server
    args = cli.parser().parse_args(["audit", "--skip-azure", "--stack", "prod", "--plan", str(plan), "--host", host,
                                     "--deployer", DEPLOYER, "--timeout", "5", "--logs-workspace",
                                     "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "--logs-endpoint", "https://127.0.0.1:1"])
    code = exit_code(lambda: audit_command.run(args, azure_credential=Token()))
    out, err = capsys.readouterr()
    assert code == exits.UNREACHABLE and "the Log Analytics query endpoint" in err
    assert "t0k3n-for-the-logs-endpoint" not in out + err and "Traceback" not in err
