"""The Logs part of the audit (brickwall/audit_logs.py): the real azure-monitor-query LogsQueryClient against a local
HTTPS server.

The server (127.0.0.1, TLS with the throwaway CA of tests/test_standing_audit.py, trusted through azure-core's
`connection_verify`) answers POST /v1/workspaces/{id}/query, the path LogsQueryClient.query_workspace calls
(azure-monitor-query 2.0.0, azure/monitor/query/_operations/_operations.py), with the recorded query results under
tests/audit_fixtures/logs/ (the Log Analytics query API's `tables` / `columns` / `rows` shape, the one
LogsTable._from_generated reads), chosen by the table the query reads. A request without the test bearer token gets
401. The credential is a TokenCredential-protocol object (`get_token`); nothing patches the SDK.
"""

from __future__ import annotations

import datetime
import http.server
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import isodate
import pytest
from azure.core.credentials import AccessToken

import stacks
from brickwall import audit_logs
from brickwall.audit import HIGH, LOW, MEDIUM, Finding
from components.spec import EnvironmentSpec
from tests.tls import certificates, serving

FIXTURES = Path(__file__).resolve().parent / "audit_fixtures" / "logs"
TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.logs-audit-fixture-bearer-4f1c2a"
WORKSPACE_ID = "6f1a2b3c-4d5e-4f60-8a7b-9c0d1e2f3a4b"


class Credential:
    """azure.core.credentials.TokenCredential: get_token(*scopes) -> AccessToken; records the scopes asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(TOKEN, 4102444800)


class Workspace:
    def __init__(self) -> None:
        self.set = "clean"
        self.status: int | None = None  # answer every query with this error status
        self.raw: str | None = None  # answer every query with this body
        self.requests: list[dict[str, Any]] = []


def _handler(ws: Workspace) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            ws.requests.append({"path": self.path, "body": body})
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._send(401, json.dumps({"error": {"code": "AuthorizationRequiredError",
                                                             "message": "Valid authentication was not provided"}}))
            if self.path != f"/v1/workspaces/{WORKSPACE_ID}/query":
                return self._send(404, json.dumps({"error": {"code": "PathNotFoundError", "message": self.path}}))
            if ws.status is not None:
                # The Log Analytics query API's error object (code, message) for a principal without read access.
                return self._send(ws.status, json.dumps({"error": {
                    "code": "InsufficientAccessError",
                    "message": "The provided credentials have insufficient access to perform the requested operation"}}))
            if ws.raw is not None:
                return self._send(200, ws.raw)
            table = "flows" if body["query"].startswith("NTANetAnalytics") else "accounts"
            return self._send(200, json.dumps(json.loads((FIXTURES / f"{ws.set}.json").read_text())[table]))

    return Handler


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Workspace]]:
    tmp = tmp_path_factory.mktemp("audit-logs")
    ca, cert, key = certificates(tmp)
    ws = Workspace()
    with serving(_handler(ws), cert, key) as url:
        yield url, ca, ws


@pytest.fixture
def ws(server: tuple[str, Path, Workspace]) -> Workspace:
    w = server[2]
    w.set, w.status, w.raw, w.requests[:] = "clean", None, None, []
    return w


@pytest.fixture(scope="module")
def spec() -> EnvironmentSpec:
    return stacks.load("prod")


def _run(server: tuple[str, Path, Workspace], plan: dict, spec: EnvironmentSpec, credential: Any = None,
         days: int = 7) -> list[Finding]:
    client = audit_logs.make_client(server[0], credential or Credential(), connection_verify=str(server[1]))
    return audit_logs.log_findings(plan, spec, client, WORKSPACE_ID, days)


def test_clean_window_has_no_findings(ws: Workspace, server: Any, prod_plan: dict, spec: EnvironmentSpec) -> None:
    credential = Credential()
    assert _run(server, prod_plan, spec, credential) == []
    # Prod plans a flow log with traffic analytics and diagnostics: both queries, each once, over the window.
    assert [r["body"]["query"] for r in ws.requests] == [audit_logs.FLOWS_QUERY, audit_logs.ACCOUNTS_QUERY]
    # The SDK sends the window as an ISO 8601 duration (construct_iso8601: "PT604800.0S" for 7 days).
    assert {isodate.parse_duration(r["body"]["timespan"]) for r in ws.requests} == {datetime.timedelta(days=7)}
    # The token is asked for the endpoint's audience, as LogsQueryClient documents (audience defaults to endpoint).
    assert set(credential.scopes) == {(f"{server[0]}/.default",)}


def test_each_kind_of_finding(ws: Workspace, server: Any, prod_plan: dict, spec: EnvironmentSpec) -> None:
    ws.set = "drift"
    found = {(f.kind, f.severity, f.object): f for f in _run(server, prod_plan, spec)}
    assert set(found) == {
        # the corporate range must reach the host subnet on 443 (worker-to-worker rule admits VirtualNetwork)
        ("log-denied-expected-source", HIGH, "flows from 10.200.3.3 to 10.30.0.4:443/TCP"),
        # the AKS subnet's NSG must keep pods off the cluster nodes
        ("log-allowed-denied-source", MEDIUM, "flows from 10.30.16.10 to 10.30.0.4:22/TCP"),
        # the workspace NSG must keep the Internet out
        ("log-allowed-denied-source", HIGH, "flows from 45.155.205.9 to 10.30.0.4:22/TCP"),
        # IP access lists never apply to private-link requests: a denial from the corporate range is a lockout
        ("log-denied-expected-source", HIGH, "workspace UI/API requests from 10.200.7.7"),
        # a BLOCK-listed public address reached a workspace whose public network access is disabled
        ("log-allowed-denied-source", HIGH, "workspace UI/API requests from 45.155.205.7"),
        ("log-failed-sign-ins", LOW, "workspace UI/API requests from 10.130.0.20"),
    }
    lockout = found[("log-denied-expected-source", HIGH, "flows from 10.200.3.3 to 10.30.0.4:443/TCP")]
    assert lockout.expected.startswith("Allow (matrix row 10.200.0.0/16 -> 10.30.0.0/21 443")
    assert lockout.actual == "5 flows denied in the last 7 days"
    internet = found[("log-allowed-denied-source", HIGH, "flows from 45.155.205.9 to 10.30.0.4:22/TCP")]
    assert internet.expected.startswith("Deny (matrix row Internet -> 10.30.0.0/21 22: workspace inbound: ")
    blocked = found[("log-allowed-denied-source", HIGH, "workspace UI/API requests from 45.155.205.7")]
    assert "public network access: Disabled" in blocked.expected
    assert blocked.actual == "1 sign-in and 0 failed sign-ins reached the workspace in the last 7 days"
    assert found[("log-failed-sign-ins", LOW, "workspace UI/API requests from 10.130.0.20")].actual == \
        "9 failed sign-ins in the last 7 days"
    assert TOKEN not in repr(list(found.values()))


def test_without_a_planned_flow_log_only_the_accounts_are_read(ws: Workspace, server: Any, prod_plan: dict,
                                                               spec: EnvironmentSpec) -> None:
    ws.set = "drift"
    plan = {**prod_plan, "resources": [r for r in prod_plan["resources"] if r["type"] != audit_logs.T_FLOW_LOG]}
    kinds = {f.object for f in _run(server, plan, spec)}
    assert [r["body"]["query"] for r in ws.requests] == [audit_logs.ACCOUNTS_QUERY]
    assert not any(k.startswith("flows ") for k in kinds) and kinds


@pytest.mark.parametrize("status", [403, 401])
def test_a_refused_query_names_the_role(ws: Workspace, server: Any, prod_plan: dict, spec: EnvironmentSpec,
                                        status: int) -> None:
    ws.status = status
    with pytest.raises(audit_logs.LogsUnreadable) as e:
        _run(server, prod_plan, spec)
    message = str(e.value)
    assert message == (f"Log Analytics refused the flows query (HTTP {status}): grant the auditor Log Analytics Reader "
                       f"on workspace {WORKSPACE_ID}")
    assert TOKEN not in message and "\n" not in message


def test_a_wrong_token_is_refused_without_printing_it(ws: Workspace, server: Any, prod_plan: dict,
                                                      spec: EnvironmentSpec) -> None:
    class Wrong(Credential):
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("wrong-" + TOKEN, 4102444800)

    with pytest.raises(audit_logs.LogsUnreadable) as e:
        _run(server, prod_plan, spec, Wrong())
    assert "HTTP 401" in str(e.value) and "Log Analytics Reader" in str(e.value)
    assert TOKEN not in str(e.value)


@pytest.mark.parametrize(("raw", "says"), [
    ("not json", "not a query result"),
    (json.dumps({"tables": [{"name": "PrimaryResult", "columns": [{"name": "SrcIp", "type": "string"}],
                             "rows": [["10.0.0.1", "extra"]]}]}), "not a query result (IndexError)"),
    (json.dumps({"tables": [{"name": "PrimaryResult", "columns": [{"name": "SrcIp", "type": "string"},
                                                                  {"name": "DestIp", "type": "string"}],
                             "rows": [["10.0.0.1"]]}]}), "rows that do not fit its columns"),
    (json.dumps({"tables": []}), "0 tables, not one"),
    (json.dumps({"tables": [], "error": {"code": "PartialError", "message": "Query exceeded the row limit"}}),
     "only in part: Query exceeded the row limit"),
])
def test_a_malformed_answer_is_unreadable(ws: Workspace, server: Any, prod_plan: dict, spec: EnvironmentSpec,
                                          raw: str, says: str) -> None:
    ws.raw = raw
    with pytest.raises(audit_logs.LogsUnreadable) as e:
        _run(server, prod_plan, spec)
    assert says in str(e.value) and "\n" not in str(e.value)


def test_an_untrusted_certificate_is_unreachable(ws: Workspace, server: Any, prod_plan: dict,
                                                 spec: EnvironmentSpec, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    client = audit_logs.make_client(server[0], Credential())  # certifi's CAs: the test CA is not among them
    with pytest.raises(audit_logs.LogsUnreachable) as e:
        audit_logs.log_findings(prod_plan, spec, client, WORKSPACE_ID, 7)
    assert "did not answer the flows query" in str(e.value) and TOKEN not in str(e.value)


def test_the_matrix_verdict_of_an_address() -> None:
    from components.planning.combined import combined_rows

    rows = combined_rows(stacks.load("prod").plan.topology())
    # The narrowest source range wins: 45.155.205.0/24 (BLOCK known-bad) over Internet.
    v = audit_logs.workspace_verdict(rows, "45.155.205.7")
    assert v is not None and v.source == "45.155.205.0/24" and v.access == "Deny"
    assert audit_logs.workspace_verdict(rows, "8.8.8.8").source == "Internet"  # type: ignore[union-attr]
    # A port range of the matrix (8443-8451) holds the flow's port; UDP finds no TCP row.
    ranged = audit_logs.flow_verdict(rows, "10.30.8.4", "10.30.0.4", 8445, "T")
    assert ranged is not None and ranged.row.port == "8443-8451"
    assert audit_logs.flow_verdict(rows, "10.30.8.4", "10.30.0.4", 8445, "U") is None
    # Nothing to judge: an address that is not IPv4, a destination no row names.
    assert audit_logs.flow_verdict(rows, "fe80::1", "10.30.0.4", 22, "T") is None
    assert audit_logs.flow_verdict(rows, "10.30.8.4", "192.0.2.1", 22, "T") is None
