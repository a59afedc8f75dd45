"""The Azure part of `python -m brickwall audit`: the real azure-mgmt-network, azure-mgmt-databricks and
azure-mgmt-resource-locks clients against a local HTTPS server that answers like Azure Resource Manager.

The ARM server (127.0.0.1, the same throwaway CA as the Databricks server of tests/test_standing_audit.py, trusted
through REQUESTS_CA_BUNDLE: azure-core's RequestsTransport keeps requests' trust_env) serves the JSON fixtures under
tests/audit_fixtures/azure/ at the ARM paths the SDKs call, and answers 401 to a request without the bearer token.
The credential is a TokenCredential of the test's own (azure.core.credentials protocol: get_token), the SDKs'
supported extension point; the clients' base_url is the server (--arm-endpoint). Nothing patches the SDKs.
"""

from __future__ import annotations

import argparse
import http.server
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from azure.core.credentials import AccessToken

from brickwall import cli, exits
from brickwall.cli import audit as audit_command
from brickwall.cli.errors import exit_code
from tests.test_standing_audit import DEPLOYER, PLANTED, Workspace, env, server  # noqa: F401 (fixtures)

FIXTURES = Path(__file__).resolve().parent / "audit_fixtures" / "azure"
SUBSCRIPTION = "3f2b8c1e-7d4a-4e6b-9c5d-2a1b0c9d8e7f"
ARM_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.arm-fixture-token-DO-NOT-PRINT"


class Credential:
    """An azure.core TokenCredential: what DefaultAzureCredential is to the SDKs."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(ARM_TOKEN, int(time.time()) + 3600)


class Arm:
    def __init__(self) -> None:
        self.sets: list[str] = ["clean"]
        self.forbidden: set[str] = set()  # fixture names answered 403
        self.requests: list[str] = []

    def fixture(self, name: str) -> Any | None:
        """The first set's file: JSON, or a `.txt` served as is (not JSON)."""
        for s in self.sets:
            path = FIXTURES / s / f"{name}.json"
            if path.is_file():
                return json.loads(path.read_text())
            if (text := FIXTURES / s / f"{name}.txt").is_file():
                return RawBody(text.read_text())
        return None


class RawBody(str):
    pass


def _name(path: str) -> str | None:
    """ARM path -> fixture name (the SDKs' URL templates: see brickwall/audit_azure.py)."""
    parts = path.split("/")
    if "/providers/Microsoft.Network/networkSecurityGroups/" in path:
        return f"nsg.{parts[-1]}"
    if "/providers/Microsoft.Databricks/workspaces/" in path and "/providers/Microsoft.Authorization/" not in path:
        return f"workspace.{parts[-1]}"
    if path.endswith("/providers/Microsoft.Authorization/locks"):
        return f"locks.{parts[-4]}"
    return None


def _handler(arm: Arm) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            raw = isinstance(body, RawBody)
            data = (str(body) if raw else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if raw else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            if self.headers.get("Authorization") != f"Bearer {ARM_TOKEN}":
                return self._send(401, {"error": {"code": "AuthenticationFailed", "message": "Authentication failed."}})
            arm.requests.append(path)
            name = _name(path)
            if name is None or "api-version=" not in url.query:
                return self._send(400, {"error": {"code": "InvalidApiVersionParameter", "message": path}})
            if name in arm.forbidden:
                # The shape ARM answers a principal without the read action.
                return self._send(403, {"error": {"code": "AuthorizationFailed", "message": (
                    "The client 'c0ffee00-0000-4000-8000-000000000001' with object id "
                    "'c0ffee00-0000-4000-8000-000000000001' does not have authorization to perform action "
                    f"'Microsoft.Network/networkSecurityGroups/read' over scope '{path}' or the scope is invalid.")}})
            body = arm.fixture(name)
            if body is None:
                return self._send(404, {"error": {"code": "ResourceNotFound", "message": f"{path} was not found."}})
            return self._send(200, body)

    return Handler


@pytest.fixture(scope="module")
def arm(server: tuple[str, Path, Workspace, Path]) -> Iterator[tuple[str, Arm]]:  # noqa: F811
    tmp = server[1].parent  # the Databricks server's CA, certificate and key (tests/test_standing_audit.py)
    state = Arm()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp / "server.pem", tmp / "server.key")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()


def _audit(server: Any, arm: tuple[str, Arm], capsys: pytest.CaptureFixture[str], *extra: str,  # noqa: F811
           fmt: str = "json", credential: Any = None) -> tuple[int, str, str]:
    host, _, _, plan = server
    argv = ["audit", "--stack", "prod", "--plan", str(plan), "--host", host, "--deployer", DEPLOYER,
            "--format", fmt, "--timeout", "5", "--arm-endpoint", arm[0], *extra]
    args = cli.parser().parse_args(argv)
    code = exit_code(lambda: audit_command.run(args, azure_credential=credential or Credential()))
    out, err = capsys.readouterr()
    for secret in (*PLANTED, ARM_TOKEN):
        assert secret not in out and secret not in err
    assert "Traceback" not in err
    return code, out, err


def test_clean_environment_has_no_findings(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                           capsys: pytest.CaptureFixture[str]) -> None:
    arm[1].sets, arm[1].forbidden, arm[1].requests[:] = ["clean"], set(), []
    credential = Credential()
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION, credential=credential)
    assert (code, err) == (exits.OK, "")
    report = json.loads(out)
    assert report["clean"] is True and report["findings"] == [] and report["skipped"] == []
    assert report["subscription"] == SUBSCRIPTION
    # 19 planned rules plus the two Databricks injects (skipped), 2 workspaces, 5 locks.
    assert {k: report["read"][k] for k in ("nsg_rules", "azure_workspaces", "locks")} == {
        "nsg_rules": 21, "azure_workspaces": 2, "locks": 5}
    # Each planned resource read once, at the real subscription (the plan's placeholder replaced in lock scopes).
    assert len(arm[1].requests) == len(set(arm[1].requests)) == 3 + 2 + 5
    assert [p for p in arm[1].requests if not p.lower().startswith(f"/subscriptions/{SUBSCRIPTION}/resourcegroups/")] == []
    # A top-level resource's locks: list_at_resource_level with an empty parent path (the SDK's URL template).
    assert f"/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-bw-prod-weu/providers/Microsoft.KeyVault//vaults/" \
           "kvbwprodweup7k2/providers/Microsoft.Authorization/locks" in arm[1].requests
    assert set(credential.scopes) == {("https://management.azure.com/.default",)}


def test_drifted_environment_reports_each_drift(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                               capsys: pytest.CaptureFixture[str]) -> None:
    arm[1].sets, arm[1].forbidden = ["drift", "clean"], set()
    code, out, _ = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert code == exits.AUDIT_FINDINGS
    found = {(f["kind"], f["object"]): (f["severity"], f["expected"], f["actual"]) for f in json.loads(out)["findings"]}
    assert found == {
        ("nsg-rule-undeclared", "NSG nsg-bw-prod-weu-dbw rule allow-ssh-from-anywhere"): (
            "high", "only the planned rules (the rule table)", "Inbound 150 Allow Tcp from Internet port * to * port 22"),
        ("nsg-rule-changed", "NSG nsg-bw-prod-weu-dbw rule allow-frontdoor-outbound"): (
            "high", "Outbound 201 Allow Tcp from VirtualNetwork port * to AzureFrontDoor.Frontend port 443",
            "Outbound 201 Allow Tcp from VirtualNetwork port * to AzureFrontDoor.Frontend port *"),
        # A destination of application security groups (the private endpoints'), compared by name.
        ("nsg-rule-changed", "NSG nsg-bw-prod-weu-pe rule allow-workspace-to-lake"): (
            "high", "Inbound 220 Allow Tcp from 10.30.0.0/21,10.30.8.0/21 port * to asg:asg-bw-prod-weu-pe-lake port 443",
            "Inbound 220 Allow Tcp from 10.30.0.0/21,10.30.8.0/21 port * to "
            "asg:asg-bw-prod-weu-pe-lake,asg:asg-bw-prod-weu-pe-sql port 443"),
        ("nsg-rule-missing", "NSG nsg-bw-prod-weu-dbw rule deny-internet-outbound"): (
            "high", "Outbound 4096 Deny * from * port * to Internet port *", "no rule of that name"),
        ("workspace-drifted", "workspace dbw-bw-prod-weu publicNetworkAccess"): ("high", "Disabled", "Enabled"),
        ("workspace-drifted", "workspace dbw-bw-prod-weu requiredNsgRules"): ("high", "NoAzureDatabricksRules", "AllRules"),
        ("workspace-drifted", "workspace dbw-bw-prod-weu enableNoPublicIp"): ("high", "true", "false"),
        ("lock-missing", "lock do-not-delete on Microsoft.KeyVault/vaults/kvbwprodweup7k2"): (
            "high", "CanNotDelete", "no lock of that name"),
    }
    # The Databricks-injected rules of the same NSG are not reported.
    assert not any("UseOnly" in obj for _, obj in found)


def test_drift_in_markdown(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                           capsys: pytest.CaptureFixture[str]) -> None:
    arm[1].sets, arm[1].forbidden = ["drift", "clean"], set()
    code, md, _ = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION, fmt="markdown")
    assert code == exits.AUDIT_FINDINGS
    assert f", Azure subscription `{SUBSCRIPTION}`: **8 finding(s): 8 high**." in md
    # docs/audit.md shows this very report (its host a workspace's, its heading a level down).
    sample = md.replace(server[0], "https://adb-1242009244308051.11.azuredatabricks.net").replace("## ", "#### ", 1)
    assert sample in (Path(__file__).resolve().parent.parent / "docs" / "audit.md").read_text()
    assert ("| high | nsg-rule-undeclared | NSG nsg-bw-prod-weu-dbw rule allow-ssh-from-anywhere | only the planned "
            "rules (the rule table) | Inbound 150 Allow Tcp from Internet port * to * port 22 |") in md


def test_forbidden_read_names_the_role_to_grant(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                                capsys: pytest.CaptureFixture[str]) -> None:
    arm[1].sets, arm[1].forbidden = ["clean"], {"nsg.nsg-bw-prod-weu-pe"}
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: prod: cannot read NSG nsg-bw-prod-weu-pe: permission denied (AuthorizationFailed: ")
    assert err.endswith("): grant Reader on resource group rg-bw-prod-weu (it holds "
                        "Microsoft.Network/networkSecurityGroups/read)\n")


def test_missing_nsg_and_workspace_are_findings(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                                capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """An empty set: every planned resource answers 404 (ResourceNotFound): each is reported, not unreadable."""
    (tmp_path / "none").mkdir()
    arm[1].sets, arm[1].forbidden = [str(tmp_path / "none")], set()
    code, out, _ = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert code == exits.AUDIT_FINDINGS
    kinds = [(f["kind"], f["object"]) for f in json.loads(out)["findings"]]
    assert ("nsg-missing", "NSG nsg-bw-prod-weu-dbw (rg-bw-prod-weu)") in kinds
    assert ("workspace-missing", "workspace dbw-bw-prod-weu (rg-bw-prod-weu)") in kinds
    assert sum(1 for k, _ in kinds if k == "lock-missing") == 5


def test_no_subscription_is_a_usage_error_unless_skipped(env: Workspace, server: Any,  # noqa: F811
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    host, _, _, plan = server
    code = cli.main(["audit", "--stack", "prod", "--plan", str(plan), "--host", host, "--deployer", DEPLOYER])
    out, err = capsys.readouterr()
    assert (code, out) == (exits.USAGE, "")
    assert err == ("error: no Azure subscription: give --subscription ID or set azure-native:subscriptionId in the "
                   "stack config (--skip-azure audits Databricks only)\n")
    code = cli.main(["audit", "--stack", "prod", "--plan", str(plan), "--host", host, "--deployer", DEPLOYER,
                     "--skip-azure", "--format", "json"])
    out, err = capsys.readouterr()
    assert (code, err) == (exits.OK, "")
    assert json.loads(out)["skipped"] == [
        "Azure (--skip-azure): NSG rules, the workspace's network settings and the locks were not compared"]


def test_no_azure_credential_is_a_usage_error(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """DefaultAzureCredential with nothing to sign in with (AZURE_TOKEN_CREDENTIALS keeps its chain to the
    environment's credential, so the machine's own Azure CLI or managed identity cannot answer instead)."""
    monkeypatch.setenv("AZURE_TOKEN_CREDENTIALS", "EnvironmentCredential")
    host, _, _, plan = server
    arm[1].requests[:] = []
    code = cli.main(["audit", "--stack", "prod", "--plan", str(plan), "--host", host, "--deployer", DEPLOYER,
                     "--subscription", SUBSCRIPTION, "--arm-endpoint", arm[0]])
    out, err = capsys.readouterr()
    assert (code, out) == (exits.USAGE, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: no Azure credential: sign in (az login), or set AZURE_CLIENT_ID/AZURE_TENANT_ID")
    assert arm[1].requests == [] and env.requests == []  # nothing read before the usage error


def test_malformed_answers_are_unreadable(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                         capsys: pytest.CaptureFixture[str]) -> None:
    arm[1].sets, arm[1].forbidden = ["malformed", "clean"], set()
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert err.splitlines() == [
        "error: prod: cannot read locks on kvbwprodweup7k2: the answer is not the API's shape (DeserializationError: "
        "Unable to deserialize response data. Data: [{'id': 42, 'name': ['not', 'a', 'lock'], 'properties': "
        "'CanNotDelete'}], [ManagementLockObject])",
        "error: prod: cannot read workspace dbw-bw-prod-weu: the answer is not the API's shape (JSONDecodeError: "
        "Expecting value: line 1 column 1 (char 0))"]


def test_unreachable_resource_manager(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                      capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = _audit(server, (f"https://127.0.0.1:{port}", arm[1]), capsys, "--subscription", SUBSCRIPTION)
    assert (code, out) == (exits.UNREACHABLE, "")
    assert err == ("error: prod: Azure Resource Manager does not answer (Connection refused); run from a network "
                   "that reaches it, or --skip-azure\n")


def test_expected_side_is_the_plan(prod_plan: dict) -> None:
    from brickwall import audit_azure

    exp = audit_azure.expected_azure(prod_plan)
    assert sorted(exp.nsgs) == [("rg-bw-prod-weu", "nsg-bw-prod-weu-aks"), ("rg-bw-prod-weu", "nsg-bw-prod-weu-dbw"),
                                ("rg-bw-prod-weu", "nsg-bw-prod-weu-pe")]
    assert sum(len(r) for r in exp.nsgs.values()) == sum(
        1 for r in prod_plan["resources"] if r["type"] == audit_azure.T_RULE)
    assert exp.workspaces[("rg-bw-prod-weu", "dbw-bw-prod-weu")] == {
        "publicNetworkAccess": "Disabled", "requiredNsgRules": "NoAzureDatabricksRules", "enableNoPublicIp": "true"}
    assert {lvl for locks in exp.locks.values() for lvl in locks.values()} == {"CanNotDelete"}
    assert exp.resource_groups == ["rg-bw-prod-weu", "rg-bw-prod-weu-transit"]


def test_parser_has_the_azure_options() -> None:
    args = cli.parser().parse_args(["audit", "--stack", "prod", "--skip-azure", "--subscription", SUBSCRIPTION])
    assert isinstance(args, argparse.Namespace) and args.skip_azure and args.subscription == SUBSCRIPTION


def test_the_subscription_comes_from_the_flag_the_stack_config_or_real_plan_ids() -> None:
    from brickwall import audit_azure, engine

    plan = {"resources": [{"inputs": {"scope": f"/subscriptions/{engine.SUBSCRIPTION_ID}/resourceGroups/rg"}}]}
    config = {"azure-native:subscriptionId": SUBSCRIPTION}
    assert audit_azure.subscription_of("11111111-2222-4333-8444-555555555555", config, plan, engine.SUBSCRIPTION_ID) \
        == "11111111-2222-4333-8444-555555555555"
    assert audit_azure.subscription_of(None, config, plan, engine.SUBSCRIPTION_ID) == SUBSCRIPTION
    # An offline plan's ids hold the engine's placeholder: no subscription; a plan of real ids gives theirs.
    assert audit_azure.subscription_of(None, {}, plan, engine.SUBSCRIPTION_ID) is None
    real = {"resources": [{"inputs": {"scope": f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg"}}]}
    assert audit_azure.subscription_of(None, {}, real, engine.SUBSCRIPTION_ID) == SUBSCRIPTION
