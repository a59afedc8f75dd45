"""The Azure part of `python -m brickwall audit`: the real azure-mgmt-network, azure-mgmt-databricks,
azure-mgmt-resource-locks, azure-mgmt-storage and azure-mgmt-keyvault clients against a local HTTPS server that
answers like Azure Resource Manager.

The ARM server (127.0.0.1, the same throwaway CA as the Databricks server of tests/test_standing_audit.py, trusted
through REQUESTS_CA_BUNDLE: azure-core's RequestsTransport keeps requests' trust_env) serves the JSON fixtures under
tests/audit_fixtures/azure/ at the ARM paths the SDKs call, and answers 401 to a request without the bearer token.
The credential is a TokenCredential of the test's own (azure.core.credentials protocol: get_token), the SDKs'
supported extension point; the clients' base_url is the server (--arm-endpoint). Nothing patches the SDKs.

The effective-rules read of a cluster NIC is a long-running POST: the server answers it as ARM does, 202 with a
Location (and Retry-After) to poll, 202 again on the first poll, then 200 with the result (azure-rest-api-specs specification/network/
resource-manager/Microsoft.Network/stable/2025-03-01/examples/NetworkInterfaceEffectiveNSGList.json: 200 body, 202
Location header); the NIC list is served in two pages (`nextLink`).
"""

from __future__ import annotations

import argparse
import http.server
import json
import socket
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
from tests.tls import serving

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
        self.deny_assigned: set[str] = set()  # fixture names answered 403 by Databricks' deny assignment
        self.polled: set[str] = set()  # operations polled once already (the first poll answers "still running")
        self.stuck: set[str] = set()  # operations (NIC names) that never finish
        self.requests: list[str] = []

    def fixture(self, name: str, arm: str = "") -> Any | None:
        """The first set's file: JSON (`${arm}` replaced by the server's own URL), or a `.txt` served as is."""
        for s in self.sets:
            path = FIXTURES / s / f"{name}.json"
            if path.is_file():
                return json.loads(path.read_text().replace("${arm}", arm))
            if (text := FIXTURES / s / f"{name}.txt").is_file():
                return RawBody(text.read_text())
        return None


class RawBody(str):
    pass


OPERATION = "/providers/Microsoft.Network/locations/westeurope/operationResults/"


def _name(path: str) -> str | None:
    """ARM path -> fixture name (the SDKs' URL templates: see brickwall/audit_azure.py, audit_azure_nics.py and
    audit_azure_data.py)."""
    parts = path.split("/")
    if path.endswith("/effectiveNetworkSecurityGroups"):
        return f"effective.{parts[-2]}"
    if OPERATION in path:  # the poll of an effective-rules POST: its NIC's name is the operation id here
        return f"effective.{parts[-1]}"
    if path.endswith("/providers/Microsoft.Network/networkInterfaces"):
        return f"nics.{parts[4]}"
    if "/providers/Microsoft.Network/virtualNetworks/" in path and "/subnets/" in path:
        return f"subnet.{parts[-1]}"
    if "/providers/Microsoft.Authorization/" not in path:
        if "/providers/Microsoft.Storage/storageAccounts/" in path:
            return f"storage.{parts[-1]}"
        if "/providers/Microsoft.KeyVault/vaults/" in path:
            return f"vault.{parts[-1]}"
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

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            raw = isinstance(body, RawBody)
            data = b"" if body is None else (str(body) if raw else json.dumps(body)).encode()
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Type", "text/html" if raw else "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.do_GET("POST")

        def do_GET(self, method: str = "GET") -> None:
            url = urlsplit(self.path)
            path = unquote(url.path)
            if self.headers.get("Authorization") != f"Bearer {ARM_TOKEN}":
                return self._send(401, {"error": {"code": "AuthenticationFailed", "message": "Authentication failed."}})
            page = f"?{url.query[url.query.index('$skiptoken='):]}" if "$skiptoken=" in url.query else ""
            arm.requests.append(f"POST {path}" if method == "POST" else path + page)
            name = _name(path)
            # POST only for the effective rules; those are read with GET only at the operation's Location.
            if name is None or "api-version=" not in url.query or (method == "POST") != path.endswith(
                    "/effectiveNetworkSecurityGroups"):
                return self._send(400, {"error": {"code": "InvalidApiVersionParameter", "message": path}})
            if "skiptoken=" in url.query:  # the NIC list's next page
                name += "." + url.query.split("skiptoken=", 1)[1].split("&")[0]
            action = f"{path.split('/providers/', 1)[-1].rsplit('/', 1)[0]}/{'action' if method == 'POST' else 'read'}"
            if name in arm.forbidden:
                # The shape ARM answers a principal without the action.
                return self._send(403, {"error": {"code": "AuthorizationFailed", "message": (
                    "The client 'c0ffee00-0000-4000-8000-000000000001' with object id "
                    "'c0ffee00-0000-4000-8000-000000000001' does not have authorization to perform action "
                    f"'{action}' over scope '{path}' or the scope is invalid.")}})
            if name in arm.deny_assigned and method == "POST":
                # The shape of a refusal by Databricks' deny assignment (MicrosoftDocs/azure-docs issue #51173).
                return self._send(403, {"error": {"code": "DenyAssignmentAuthorizationFailed", "message": (
                    "The client 'c0ffee00-0000-4000-8000-000000000001' with object id "
                    f"'c0ffee00-0000-4000-8000-000000000001' has permission to perform action '{action}' on scope "
                    f"'{path}'; however, the access is denied because of the deny assignment with name 'System deny "
                    "assignment created by Azure Databricks /subscriptions/.../workspaces/dbw-bw-prod-weu'.")}})
            base = f"https://{self.headers['Host']}"
            body = arm.fixture(name, base)
            if body is None:
                return self._send(404, {"error": {"code": "ResourceNotFound", "message": f"{path} was not found."}})
            # ARM's asynchronous pattern (https://learn.microsoft.com/azure/azure-resource-manager/management/
            # async-operations): 202 with a Location (and Retry-After) to GET; the GET answers 202 again while the
            # operation runs (here: the first poll), then 200 with the result.
            location = f"{base}/subscriptions/{SUBSCRIPTION}{OPERATION}{path.split('/')[-2 if method == 'POST' else -1]}" \
                       "?api-version=2026-03-01"
            if method == "POST":
                arm.polled.discard(path.split("/")[-2])
                return self._send(202, None, {"Location": location, "Retry-After": "1"})
            if OPERATION in path and (path.split("/")[-1] not in arm.polled or path.split("/")[-1] in arm.stuck):
                arm.polled.add(path.split("/")[-1])
                return self._send(202, None, {"Location": location, "Retry-After": "1"})
            return self._send(200, body)

    return Handler


@pytest.fixture(autouse=True)
def polls_wait(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the effective-rules poller asks for between polls (ARM's Retry-After, 1 s here), recorded and cut to
    a hundredth of a second so the suite does not sleep them (azure-core LROBasePolling._sleep: the one place it
    waits, azure/core/polling/base_polling.py)."""
    from azure.core.polling import base_polling

    waits: list[float] = []

    def sleep(_: Any, delay: float) -> None:
        waits.append(delay)
        time.sleep(0.01)

    monkeypatch.setattr(base_polling.LROBasePolling, "_sleep", sleep)
    return waits


@pytest.fixture(scope="module")
def arm(server: tuple[str, Path, Workspace, Path]) -> Iterator[tuple[str, Arm]]:  # noqa: F811
    tmp = server[1].parent  # the Databricks server's CA, certificate and key (tests/test_standing_audit.py)
    state = Arm()
    with serving(_handler(state), tmp / "server.pem", tmp / "server.key") as url:
        yield url, state


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
                                           capsys: pytest.CaptureFixture[str], polls_wait: list[float]) -> None:
    arm[1].sets, arm[1].forbidden, arm[1].requests[:] = ["clean"], set(), []
    credential = Credential()
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION, credential=credential)
    assert (code, err) == (exits.OK, ""), err
    report = json.loads(out)
    assert report["clean"] is True and report["findings"] == [] and report["skipped"] == []
    assert report["subscription"] == SUBSCRIPTION
    # 19 planned rules plus the two Databricks injects (skipped), 2 workspaces, 5 locks, the lake's and the flow
    # logs' storage accounts, the Key Vault; 4 cluster NICs (2 nodes), of which one per subnet is read.
    assert {k: report["read"][k] for k in ("nsg_rules", "azure_workspaces", "locks", "storage_accounts", "key_vaults",
                                           "cluster_nics", "effective_rule_sets")} == {
        "nsg_rules": 21, "azure_workspaces": 2, "locks": 5, "storage_accounts": 2, "key_vaults": 1,
        "cluster_nics": 4, "effective_rule_sets": 2}
    # Each planned resource read once, at the real subscription (the plan's placeholder replaced in lock scopes); the
    # NIC list in its two pages, then each sampled NIC's effective rules: a POST and two polls of its Location (the
    # first answers "still running").
    polls = [r for r in arm[1].requests if "operationResults" in r]
    assert len(polls) == 2 * 2 and len(set(polls)) == 2
    assert polls_wait == [1.0, 1.0]  # before each NIC's second poll, the Retry-After its first answer named
    once = [r for r in arm[1].requests if r not in polls]
    assert len(once) == len(set(once)) == 3 + 2 + 5 + 3 + 2 + 2
    nics = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-bw-prod-weu-dbw-managed/providers/Microsoft.Network/" \
           "networkInterfaces"
    assert {r for r in arm[1].requests if "networkInterfaces" in r or "operationResults" in r} == {
        nics, f"{nics}?$skiptoken=page-2",
        *(f"POST {nics}/5d0c7f3a9b1e4c26-{n}/effectiveNetworkSecurityGroups" for n in ("publicNIC", "privateNIC")),
        *(f"/subscriptions/{SUBSCRIPTION}/providers/Microsoft.Network/locations/westeurope/operationResults/"
          f"5d0c7f3a9b1e4c26-{n}" for n in ("publicNIC", "privateNIC"))}
    assert [p for p in arm[1].requests if not p.lower().removeprefix("post ").startswith(f"/subscriptions/{SUBSCRIPTION}/")] == []
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
        # The data stores' firewalls: the lake opened to the Internet with an IP rule, the vault's default Allow.
        ("storage-drifted", "storage account dlbwprodweup7k2 publicNetworkAccess"): ("high", "Disabled", "Enabled"),
        ("storage-drifted", "storage account dlbwprodweup7k2 networkAcls.ipRules"): ("high", "(none)", "203.0.113.0/24"),
        ("key-vault-drifted", "Key Vault kvbwprodweup7k2 networkAcls.defaultAction"): ("high", "Deny", "Allow"),
        # What the NSG drift leaves open on the cluster NICs, row by row of the reachability matrix: the hand-added
        # SSH rule (the AzureDatabricks tag's addresses are in Internet), the removed outbound deny.
        **{("nic-port-open", f"cluster NICs (host, container subnet): {flow}"): (
            "high", f"Deny (matrix: workspace NSG {flow.split()[0]}: {planned})",
            f"allowed (nsg-bw-prod-weu-dbw rule {rule}) on 5d0c7f3a9b1e4c26-publicNIC (+1 alike), "
            "5d0c7f3a9b1e4c26-privateNIC (+1 alike)")
           for flow, planned, rule in (
               ("inbound from Internet port 22/Tcp", "deny-internet-inbound", "allow-ssh-from-anywhere"),
               ("inbound from AzureDatabricks port 22/Tcp", "deny-internet-inbound", "allow-ssh-from-anywhere"),
               ("outbound to Internet port 443/Tcp", "deny-internet-outbound", "AllowInternetOutBound"),
               ("outbound to AzureDatabricks port 443/Tcp", "deny-internet-outbound", "AllowInternetOutBound"))},
    }
    # The Databricks-injected rules of the same NSG are not reported.
    assert not any("UseOnly" in obj for _, obj in found)


def test_drift_in_markdown(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                           capsys: pytest.CaptureFixture[str]) -> None:
    arm[1].sets, arm[1].forbidden = ["drift", "clean"], set()
    code, md, _ = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION, fmt="markdown")
    assert code == exits.AUDIT_FINDINGS
    assert f", Azure subscription `{SUBSCRIPTION}`: **15 finding(s): 15 high**." in md
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


MANAGED = "rg-bw-prod-weu-dbw-managed"
HOST_NIC, CONTAINER_NIC = "5d0c7f3a9b1e4c26-publicNIC", "5d0c7f3a9b1e4c26-privateNIC"


def test_forbidden_nic_list_names_reader_on_the_managed_group(env: Workspace, server: Any,  # noqa: F811
                                                              arm: tuple[str, Arm],
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    arm[1].sets, arm[1].forbidden = ["clean"], {f"nics.{MANAGED}"}
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: prod: cannot read NICs of dbw-bw-prod-weu: permission denied (AuthorizationFailed: ")
    assert err.endswith(f"): grant Reader on resource group {MANAGED} (it holds "
                        "Microsoft.Network/networkInterfaces/read)\n")


@pytest.mark.parametrize(("fixture", "read", "action"), [
    ("storage.dlbwprodweup7k2", "storage dlbwprodweup7k2", "Microsoft.Storage/storageAccounts/read"),
    ("vault.kvbwprodweup7k2", "vault kvbwprodweup7k2", "Microsoft.KeyVault/vaults/read")])
def test_forbidden_firewall_reads_name_the_role(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                                capsys: pytest.CaptureFixture[str], fixture: str, read: str,
                                                action: str) -> None:
    arm[1].sets, arm[1].forbidden = ["clean"], {fixture}
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert err.startswith(f"error: prod: cannot read {read}: permission denied (AuthorizationFailed: ")
    assert err.endswith(f"): grant Reader on resource group rg-bw-prod-weu (it holds {action})\n")


def test_forbidden_effective_rules_name_the_action(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The POST is an action, not a read: Reader does not hold it, and the message says what does."""
    arm[1].sets, arm[1].forbidden = ["clean"], {f"effective.{HOST_NIC}"}
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert len(err.splitlines()) == 1
    assert err.startswith("error: prod: cannot read NICs of dbw-bw-prod-weu: permission denied (AuthorizationFailed: ")
    assert err.endswith("): grant Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action on resource "
                        f"group {MANAGED} (a custom role with it and networkInterfaces/read; Reader's */read does not "
                        "include it)\n")


def test_deny_assignment_composes_the_rules_from_reads(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Databricks' deny assignment refuses the effective-rules POST whatever the role: the rules are then composed
    from the subnet's NSG (read through the subnet) and the NIC's own (none here), with Reader only."""
    arm[1].forbidden, arm[1].deny_assigned = set(), {f"effective.{HOST_NIC}", f"effective.{CONTAINER_NIC}"}
    try:
        arm[1].sets, arm[1].requests[:] = ["clean"], []
        code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
        assert (code, err) == (exits.OK, ""), err
        assert json.loads(out)["read"]["effective_rule_sets"] == 2
        subnets = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-bw-prod-weu/providers/Microsoft.Network/" \
                  "virtualNetworks/vnet-bw-prod-weu/subnets"
        assert {f"{subnets}/snet-dbw-host", f"{subnets}/snet-dbw-container"} <= set(arm[1].requests)
        assert not [r for r in arm[1].requests if "operationResults" in r]  # refused: nothing to poll
        # The drifted NSG, read that way, leaves the same flows open; the findings say how the rules were read.
        arm[1].sets = ["drift", "clean"]
        code, out, _ = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
        nic = [f for f in json.loads(out)["findings"] if f["kind"] == "nic-port-open"]
        assert code == exits.AUDIT_FINDINGS
        assert sorted(f["object"].split(": ", 1)[1] for f in nic) == [
            "inbound from AzureDatabricks port 22/Tcp", "inbound from Internet port 22/Tcp",
            "outbound to AzureDatabricks port 443/Tcp", "outbound to Internet port 443/Tcp"]
        assert all(f["actual"].endswith("(composed from the NSGs: the effective-rules read is denied)") for f in nic)
    finally:
        arm[1].deny_assigned = set()


def test_effective_rules_that_never_come_are_unreadable(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """An operation still running after --timeout (1 s here) is one line and exit 8, not a hang."""
    arm[1].sets, arm[1].forbidden, arm[1].stuck = ["clean"], set(), {HOST_NIC}
    try:
        code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION, "--timeout", "1")
    finally:
        arm[1].stuck = set()
    assert (code, out) == (exits.AUDIT_UNREADABLE, "")
    assert err == (f"error: prod: cannot read NICs of dbw-bw-prod-weu: the effective rules of {HOST_NIC} were not ready "
                   "after 1 s (--timeout)\n")


def test_effective_reads_are_bounded(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                     capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """12 nodes, each NIC with an NSG of its own (so none can stand for another): still at most 8 effective-rules
    reads (brickwall/audit_azure_nics.py MAX_EFFECTIVE_READS). The reads answer 404 here (nodes gone since the
    list): those NICs are skipped, not an error."""
    from brickwall.audit_azure_nics import MAX_EFFECTIVE_READS

    listed = json.loads((FIXTURES / "clean" / f"nics.{MANAGED}.json").read_text())["value"][0]
    nics = []
    for n in range(12):
        nic = json.loads(json.dumps(listed).replace("5d0c7f3a9b1e4c26", f"node{n:02d}"))
        nic["properties"]["networkSecurityGroup"] = {"id": listed["id"].split("/providers/")[0] +
                                                     f"/providers/Microsoft.Network/networkSecurityGroups/nsg-{n}"}
        nics.append(nic)
    (tmp_path / "many").mkdir()
    (tmp_path / "many" / f"nics.{MANAGED}.json").write_text(json.dumps({"value": nics}))
    arm[1].sets, arm[1].forbidden, arm[1].requests[:] = [str(tmp_path / "many"), "clean"], set(), []
    code, out, err = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION)
    assert (code, err) == (exits.OK, ""), err
    assert sum(1 for r in arm[1].requests if r.startswith("POST ")) == MAX_EFFECTIVE_READS == 8
    assert {k: json.loads(out)["read"][k] for k in ("cluster_nics", "effective_rule_sets")} == {
        "cluster_nics": 12, "effective_rule_sets": 0}


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
        "Azure (--skip-azure): NSG rules, cluster NICs' effective rules, the workspace's network settings, the storage "
        "and Key Vault firewalls and the locks were not compared"]


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
                                      capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused connections are retried twice (retry_total=2, brickwall/audit_azure.py), then said in one line. The
    backoffs azure-core's RetryPolicy asks for are recorded, not slept (its one place that waits: _sleep_backoff)."""
    from azure.core.pipeline.policies import RetryPolicy

    backoffs: list[float] = []

    def backoff(policy: RetryPolicy, settings: dict[str, Any], _: Any) -> None:
        backoffs.append(policy.get_backoff_time(settings))

    monkeypatch.setattr(RetryPolicy, "_sleep_backoff", backoff)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, out, err = _audit(server, (f"https://127.0.0.1:{port}", arm[1]), capsys, "--subscription", SUBSCRIPTION)
    assert (code, out) == (exits.UNREACHABLE, "")
    assert set(backoffs) == {0, 1.6}  # per read: the first retry at once, the second after a backoff (0.8 × 2)
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
    assert exp.resource_groups == ["rg-bw-prod-weu", "rg-bw-prod-weu-dbw-managed", "rg-bw-prod-weu-transit"]
    # Every storage account and Key Vault the plan creates, with the planned public access and firewall.
    assert exp.data == {
        ("storage", "rg-bw-prod-weu", "dlbwprodweup7k2"): {
            "publicNetworkAccess": "Disabled", "defaultAction": "Deny", "bypass": "None", "ipRules": "(none)",
            "virtualNetworkRules": "(none)"},
        ("storage", "rg-bw-prod-weu", "flbwprodweup7k2"): {
            "publicNetworkAccess": "Enabled", "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": "(none)",
            "virtualNetworkRules": "(none)"},
        ("vault", "rg-bw-prod-weu", "kvbwprodweup7k2"): {
            "publicNetworkAccess": "Disabled", "defaultAction": "Deny", "bypass": "AzureServices", "ipRules": "(none)",
            "virtualNetworkRules": "(none)"}}
    # The VNet-injected workspace's cluster NICs: its managed resource group and subnets, and the stack's matrix.
    [nics] = exp.nics
    assert (nics.workspace, nics.managed_rg) == ("dbw-bw-prod-weu", "rg-bw-prod-weu-dbw-managed")
    assert [(s.role, s.cidr) for s in nics.subnets] == [("host", "10.30.0.0/21"), ("container", "10.30.8.0/21")]
    assert (nics.inputs.host, nics.inputs.container) == ("10.30.0.0/21", "10.30.8.0/21")


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


def test_effective_rules_read_as_the_planner_reads_rules() -> None:
    """The spec example's shapes (NetworkInterfaceEffectiveNSGList.json): 0.0.0.0/0 is "*", "All" every protocol,
    "3389-3389" one port, 0-65535 every port; Azure's default rules are left to the planner's `evaluate`."""
    from azure.mgmt.network.models import EffectiveNetworkSecurityRule

    from brickwall.audit_azure_nics import live_rule

    rdp = live_rule(EffectiveNetworkSecurityRule({
        "name": "securityRules/default-allow-rdp", "access": "Allow", "destinationAddressPrefix": "0.0.0.0/0",
        "destinationPortRange": "3389-3389", "direction": "Inbound", "priority": 1000,
        "sourceAddressPrefix": "1.1.1.1/32", "sourcePortRange": "0-65535", "protocol": "Tcp"}))
    assert rdp is not None
    assert (rdp.name, rdp.priority, rdp.direction, rdp.access, rdp.protocol, rdp.sources, rdp.destinations,
            rdp.destination_ports, rdp.source_ports) == (
        "default-allow-rdp", 1000, "Inbound", "Allow", "Tcp", ("1.1.1.1/32",), ("*",), ("3389",), ("*",))
    every = live_rule(EffectiveNetworkSecurityRule({
        "name": "securityRules/open", "access": "Allow", "destinationAddressPrefix": "VirtualNetwork",
        "destinationPortRanges": ["0-65535"], "direction": "Outbound", "priority": 300,
        "sourceAddressPrefixes": ["10.30.0.0/21", "10.30.8.0/21"], "sourcePortRange": "0-65535", "protocol": "All"}))
    assert every is not None
    assert (every.protocol, every.sources, every.destination_ports) == ("*", ("10.30.0.0/21", "10.30.8.0/21"), ("*",))
    assert live_rule(EffectiveNetworkSecurityRule({
        "name": "defaultSecurityRules/AllowInternetOutBound", "access": "Allow", "destinationAddressPrefix": "Internet",
        "destinationPortRange": "0-65535", "direction": "Outbound", "priority": 65001, "sourceAddressPrefix": "0.0.0.0/0",
        "sourcePortRange": "0-65535", "protocol": "All"})) is None


def test_no_nsg_on_a_nic_leaves_every_denied_flow_open(prod_plan: dict) -> None:
    """A cluster NIC with no NSG at all (its subnet's dissociated): Azure lets everything through, and every flow the
    matrix denies at the workspace NSG is a finding, the public ones high."""
    from brickwall import audit_azure
    from brickwall.audit_azure_nics import CheckedNic, NicLive, compare_nics

    [e] = audit_azure.expected_azure(prod_plan).nics
    found = compare_nics(e, NicLive(1, [CheckedNic("n-publicNIC", e.subnets[0], ())]))
    assert {f.object.split(": ", 1)[1] for f in found} >= {"inbound from Internet port 22/Tcp",
                                                          "outbound to Internet port 443/Tcp"}
    assert {f.severity for f in found if "Internet" in f.object} == {"high"}
    assert all(f.actual == "allowed (no NSG applies to the NIC) on n-publicNIC" for f in found)


def test_nics_are_compared_only_with_the_plans_own_matrix(prod_plan: dict) -> None:
    """Another spec's matrix (dev's subnets are not prod's) is not prod's: no NIC comparison rather than a wrong one."""
    import stacks
    from brickwall.audit_azure_nics import expected_nics

    assert [e.workspace for e in expected_nics(prod_plan, stacks.load("prod"))] == ["dbw-bw-prod-weu"]
    assert expected_nics(prod_plan, stacks.load("dev")) == []
    assert expected_nics(prod_plan, None) == []


def test_firewall_drift_severity_and_bypass_as_a_set() -> None:
    from brickwall.audit_azure_data import compare_data

    key = ("storage", "rg", "st1")
    want = {"publicNetworkAccess": "Enabled", "defaultAction": "Deny", "bypass": "AzureServices, Logging, Metrics",
            "ipRules": "(none)", "virtualNetworkRules": "(none)"}
    same = dict(want, bypass="Metrics, AzureServices, Logging")
    assert compare_data({key: want}, {key: same}) == []
    # Closed further than planned: drift, but not an exposure.
    closed = dict(want, publicNetworkAccess="Disabled", bypass="AzureServices")
    assert {(f.object, f.severity) for f in compare_data({key: want}, {key: closed})} == {
        ("storage account st1 publicNetworkAccess", "medium"), ("storage account st1 networkAcls.bypass", "medium")}
    # A VNet rule added by hand lets a subnet in: high.
    opened = dict(want, virtualNetworkRules="rg/providers/microsoft.network/virtualnetworks/v/subnets/s")
    [f] = compare_data({key: want}, {key: opened})
    assert (f.kind, f.severity, f.expected) == ("storage-drifted", "high", "(none)")
    assert [f.kind for f in compare_data({("vault", "rg", "kv"): want}, {})] == ["key-vault-missing"]


def test_a_port_the_matrix_does_not_probe_is_still_found(prod_plan: dict) -> None:
    """Another NSG associated by hand that opens 8080 to the Internet (no matrix row asks about 8080): each live
    allow rule's own flow is asked of the planned rules too."""
    from brickwall import audit_azure
    from brickwall.audit_azure_nics import AppliedNsg, CheckedNic, NicLive, compare_nics
    from components.planning.nsg_rules import NsgRule

    [e] = audit_azure.expected_azure(prod_plan).nics
    web = NsgRule(name="allow-web", priority=300, direction="Inbound", access="Allow", protocol="Tcp",
                  sources=("*",), destinations=("*",), destination_ports=("8080",), owner="toolkit", description="")
    found = compare_nics(e, NicLive(1, [CheckedNic("n-privateNIC", e.subnets[1], (AppliedNsg("nsg-handmade", (web,)),))]))
    assert ("nic-port-open", "high", "cluster NICs (container subnet): inbound from Internet port 8080/Tcp",
            "Deny (matrix: workspace NSG inbound: deny-internet-inbound)",
            "allowed (nsg-handmade rule allow-web) on n-privateNIC") in [
        (f.kind, f.severity, f.object, f.expected, f.actual) for f in found]
    # That NSG in the planned one's place has no outbound deny either: Azure's AllowInternetOutBound lets it out.
    assert sorted(f.object.split(": ", 1)[1] for f in found) == [
        "inbound from Internet port 8080/Tcp", "outbound to AzureDatabricks port 443/Tcp",
        "outbound to Internet port 443/Tcp"]


def test_the_readme_sample_is_the_real_report(env: Workspace, server: Any, arm: tuple[str, Arm],  # noqa: F811
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The README's excerpt ("What the audit finds"): every line of it is a line of the audit of the drifted workspace
    and Azure environment, in order; only the host differs (a workspace's instead of the loopback server's)."""
    env.sets = ["drift", "clean"]
    arm[1].sets, arm[1].forbidden = ["drift", "clean"], set()
    code, text, _ = _audit(server, arm, capsys, "--subscription", SUBSCRIPTION, fmt="text")
    assert code == exits.AUDIT_FINDINGS
    real = text.replace(server[0], "https://adb-1242009244308051.11.azuredatabricks.net").splitlines()
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## What the audit finds", 1)[1]
    sample = [line for line in section.split("```text\n", 1)[1].split("```", 1)[0].splitlines() if line != "..."]
    assert len(sample) >= 10
    assert [real.index(line) for line in sample] == sorted(real.index(line) for line in sample)
    # Databricks and Azure findings both shown, each kind of drift once.
    kinds = [line.split(": ", 1)[0] for line in sample[2:]]
    assert len(kinds) == len(set(kinds))
    assert {"[HIGH] job-runs-as-human", "[HIGH] nic-port-open", "[HIGH] storage-drifted"} <= set(kinds)
