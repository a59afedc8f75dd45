"""The Logs part of `python -m brickwall audit`: what the logs of a window say got through, and what was stopped,
compared with the combined reachability matrix (components/planning/combined.py `combined_rows`).

Two queries over `days` days of the Log Analytics workspace the program's diagnostics write to, each grouped by
source, read with azure-monitor-query's `LogsQueryClient.query_workspace` (POST {endpoint}/v1/workspaces/{id}/query,
azure-monitor-query 2.0.0 azure/monitor/query/_patch.py and _operations/_operations.py):

- FLOWS_QUERY, NTANetAnalytics (traffic analytics over the VNet flow log the plan creates, components/audit.py
  `network.FlowLog`; read only when the plan holds one with traffic analytics on): flows grouped by source address,
  destination address, port, protocol and status. Columns: the Azure Monitor table reference (NTANetAnalytics, vendored
  in tests/kql/) and the traffic analytics schema (MicrosoftDocs/azure-docs articles/network-watcher/
  traffic-analytics-schema.md, "Virtual network flow logs" tab): SubType "FlowLog", FlowStatus allowed or denied
  ("A"/"D" in the schema's table, "Allowed"/"Denied" where the alerts read it: both are accepted, any case),
  L4Protocol "T" (TCP) or "U" (UDP), Allowed/DeniedInFlows and Allowed/DeniedOutFlows, DestIp, DestPort, and SrcIp,
  which is blank in AzurePublic and ExternalPublic flows: their sources are the entries of SrcPublicIps,
  "<SOURCE_PUBLIC_IP>|<FLOW_STARTED_COUNT>|..." (the schema shows one entry; several are taken as separated by
  spaces, an assumption not verified against live data), each credited with its record's flow count. A flow whose
  destination address is blank is not judged.
- ACCOUNTS_QUERY, DatabricksAccounts (the workspace's diagnostic logs, "accounts" service): IP access list denials
  (alerts.IP_ACCESS_DENIED_ACTIONS), failed sign-ins (alerts.LOGIN_ACTIONS answered 4xx, `Response.statusCode`)
  and sign-ins that succeeded, grouped by SourceIPAddress, as the `failed_auth` and `ip_access_denied` alerts read them.

Findings (brickwall.audit.Finding):

- `log-denied-expected-source` HIGH: traffic the matrix says must get through was denied (a denied flow, or an IP
  access list denial at the workspace): an operator, CI or the clusters themselves locked out.
- `log-allowed-denied-source` HIGH when the source is public, MEDIUM when private: traffic from a source the matrix
  says must be denied got through (an allowed flow, or a sign-in, failed or not, reached the workspace: the network
  let it in).
- `log-failed-sign-ins` LOW: failed sign-ins from a source the matrix lets reach the workspace, by source.

A source is matched to the matrix row whose source range holds it most narrowly (a public address with no range of
its own: the row of `Internet`); rows whose verdict is Partial or Depends, and addresses no row speaks for, are not
judged. Only counts and addresses are printed: no identity, request parameter or token is ever read.

A refused query (401/403) raises `LogsUnreadable` naming the role to grant, Log Analytics Reader on the workspace
(https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/monitor; access modes:
https://learn.microsoft.com/azure/azure-monitor/logs/manage-access), as does an answer that is not a query result:
the maintainer maps it to exits.AUDIT_UNREADABLE. An endpoint that does not answer (connection, TLS) raises
`LogsUnreachable` (exits.UNREACHABLE).
"""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError
from azure.monitor.query import LogsQueryClient, LogsQueryStatus

from brickwall.audit import HIGH, LOW, MEDIUM, Finding
from components.planning import azure_types as az
from components.planning.alerts import IP_ACCESS_DENIED_ACTIONS, LOGIN_ACTIONS
from components.planning.combined import CombinedRow, combined_rows
from components.planning.reachability import INTERNET, parse_ports

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential

    from components.spec import EnvironmentSpec

ROLE = "Log Analytics Reader"  # the least built-in role that reads a workspace's tables
T_FLOW_LOG = az.FLOW_LOG.token
# The planes whose rows are network flows between addresses that flow logs see, and the workspace front end.
FLOW_PLANES = ("subnets", "aks subnet")
WORKSPACE_PLANE = "workspace"
PROTOCOLS = {"T": "Tcp", "U": "Udp"}  # NTANetAnalytics L4Protocol
# Outcomes ACCOUNTS_QUERY gives a row.
IP_DENIED, SIGN_IN_FAILED, SIGNED_IN = "ip_access_denied", "failed_sign_in", "signed_in"


def _kql_list(values: Iterable[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


FLOWS_QUERY = """
NTANetAnalytics
| where SubType =~ "FlowLog" and FlowStatus in~ ("Allowed", "Denied", "A", "D")
| extend Outcome = iff(FlowStatus in~ ("Denied", "D"), "denied", "allowed")
| extend Flows = iff(Outcome == "denied", DeniedInFlows + DeniedOutFlows, AllowedInFlows + AllowedOutFlows)
| extend PublicSource = iff(isnotempty(SrcIp), dynamic([""]), split(SrcPublicIps, " "))
| mv-expand PublicSource to typeof(string)
| extend Source = iff(isnotempty(SrcIp), SrcIp, tostring(split(PublicSource, "|")[0]))
| where isnotempty(Source)
| summarize Flows = sum(Flows) by SrcIp = Source, DestIp, DestPort, L4Protocol, Outcome
| where Flows > 0
""".strip()

ACCOUNTS_QUERY = f"""
DatabricksAccounts
| where ActionName in ({_kql_list(IP_ACCESS_DENIED_ACTIONS)}) or ActionName in ({_kql_list(LOGIN_ACTIONS)})
| extend StatusCode = toint(parse_json(Response).statusCode)
| extend Outcome = case(ActionName in ({_kql_list(IP_ACCESS_DENIED_ACTIONS)}), "{IP_DENIED}",
    StatusCode between (400 .. 499), "{SIGN_IN_FAILED}",
    StatusCode between (200 .. 299), "{SIGNED_IN}", "")
| where isnotempty(Outcome) and isnotempty(SourceIPAddress)
| summarize Events = count() by SourceIPAddress, Outcome
""".strip()

QUERIES = {"flows": FLOWS_QUERY, "accounts": ACCOUNTS_QUERY}


class LogsUnreadable(Exception):
    """A query was refused or answered something that is not the API's shape: exit AUDIT_UNREADABLE."""


class LogsUnreachable(Exception):
    """The query endpoint did not answer (DNS, connection, TLS): exit UNREACHABLE."""


def make_client(endpoint: str | None, credential: TokenCredential, *,
                connection_verify: bool | str = True) -> LogsQueryClient:
    """A LogsQueryClient for `endpoint` (default the public cloud's https://api.loganalytics.io). `connection_verify`
    is azure-core's (a CA bundle path for a TLS-inspecting proxy; requests also honours REQUESTS_CA_BUNDLE)."""
    if endpoint:
        return LogsQueryClient(credential, endpoint=endpoint, connection_verify=connection_verify)
    return LogsQueryClient(credential, connection_verify=connection_verify)


def _flow_logs_planned(plan: Mapping[str, Any]) -> bool:
    for r in plan.get("resources", []):
        if r.get("type") == T_FLOW_LOG:
            ta = ((r.get("inputs") or {}).get("flowAnalyticsConfiguration") or {}).get(
                "networkWatcherFlowAnalyticsConfiguration") or {}
            if ta.get("enabled"):
                return True
    return False


def _rows(client: LogsQueryClient, workspace_id: str, name: str, days: int) -> list[dict[str, Any]]:
    """The rows of one query as dicts; every failure as LogsUnreadable, one line naming what to do."""
    try:
        result = client.query_workspace(workspace_id, QUERIES[name], timespan=datetime.timedelta(days=days))
    except ClientAuthenticationError as e:
        raise LogsUnreadable(f"Log Analytics refused the {name} query (HTTP {_status(e)}): grant the auditor {ROLE} "
                             f"on workspace {workspace_id}") from None
    except HttpResponseError as e:
        if _status(e) == 200:  # azure-core's DecodeError, re-raised by the SDK as an HttpResponseError: not JSON
            raise LogsUnreadable(f"Log Analytics answered the {name} query with something that is not a query result "
                                 "(not JSON)") from None
        if _status(e) in (401, 403):
            raise LogsUnreadable(f"Log Analytics refused the {name} query (HTTP {_status(e)}): grant the auditor "
                                 f"{ROLE} on workspace {workspace_id}") from None
        raise LogsUnreadable(f"Log Analytics could not run the {name} query (HTTP {_status(e)}): "
                             f"{_first_line(e.message)}") from None
    except ServiceRequestError as e:
        raise LogsUnreachable(f"Log Analytics did not answer the {name} query: {_first_line(str(e))}") from None
    except (ValueError, LookupError, TypeError, AttributeError) as e:
        raise LogsUnreadable(f"Log Analytics answered the {name} query with something that is not a query result "
                             f"({type(e).__name__})") from None
    if result.status != LogsQueryStatus.SUCCESS:
        error = getattr(result, "partial_error", None)
        raise LogsUnreadable(f"Log Analytics answered the {name} query only in part: "
                             f"{_first_line(getattr(error, 'message', '') or 'no reason given')}")
    if len(result.tables) != 1:
        raise LogsUnreadable(f"Log Analytics answered the {name} query with {len(result.tables)} tables, not one")
    table = result.tables[0]
    try:
        return [dict(zip(table.columns, row, strict=True)) for row in table.rows]
    except (ValueError, TypeError):
        raise LogsUnreadable(f"Log Analytics answered the {name} query with rows that do not fit its columns") from None


def _status(e: HttpResponseError) -> int | None:
    return e.status_code if e.status_code is not None else getattr(e.response, "status_code", None)


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0][:200] if (text or "").strip() else "no message"


# --- the matrix's verdict for an address ------------------------------------------------------------------------

def _address(value: Any) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(str(value).strip())
    except ValueError:
        return None


def _network(value: str) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Verdict:
    row: CombinedRow
    source: str  # the row's source: a range, or Internet

    @property
    def access(self) -> str:
        return self.row.access


def _source_rank(source: str, address: ipaddress.IPv4Address) -> int | None:
    """How narrowly `source` holds `address`: its prefix length; 0 for Internet and a public address; None: not."""
    if source == INTERNET:
        return 0 if address.is_global else None
    net = _network(source)
    return net.prefixlen if net is not None and address in net else None


def _narrowest(rows: Iterable[CombinedRow], address: ipaddress.IPv4Address) -> Verdict | None:
    best: tuple[int, CombinedRow] | None = None
    for row in rows:
        rank = _source_rank(row.source, address)
        if rank is not None and (best is None or rank > best[0]):
            best = (rank, row)
    return Verdict(best[1], best[1].source) if best else None


def flow_verdict(rows: Sequence[CombinedRow], src: Any, dst: Any, port: Any, protocol: Any) -> Verdict | None:
    """The matrix row for one observed flow: a flow plane row whose destination range holds `dst`, whose port range
    holds `port` and whose protocol is the flow's, narrowest source first; None when no row speaks for it."""
    s, d = _address(src), _address(dst)
    proto = PROTOCOLS.get(str(protocol).upper())
    try:
        p = int(port)
    except (TypeError, ValueError):
        return None
    if s is None or d is None or proto is None:
        return None
    candidates = []
    for row in rows:
        if row.plane not in FLOW_PLANES or row.protocol != proto:
            continue
        net = _network(row.destination)
        lo, hi = parse_ports(row.port)
        if net is not None and d in net and lo <= p <= hi:
            candidates.append(row)
    return _narrowest(candidates, s)


def workspace_verdict(rows: Sequence[CombinedRow], src: Any) -> Verdict | None:
    s = _address(src)
    return _narrowest((r for r in rows if r.plane == WORKSPACE_PLANE), s) if s is not None else None


# --- findings ---------------------------------------------------------------------------------------------------

def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def flow_findings(rows: Sequence[CombinedRow], observed: Iterable[Mapping[str, Any]], days: int) -> list[Finding]:
    out = []
    for f in observed:
        v = flow_verdict(rows, f.get("SrcIp"), f.get("DestIp"), f.get("DestPort"), f.get("L4Protocol"))
        if v is None or v.access not in ("Allow", "Deny"):
            continue
        status, flows = str(f.get("Outcome", "")).lower(), int(f.get("Flows") or 0)
        what = (f"flows from {f['SrcIp']} to {f['DestIp']}:{f['DestPort']}/{PROTOCOLS[str(f['L4Protocol']).upper()].upper()}")
        expected = f"{v.access} (matrix row {v.source} -> {v.row.destination} {v.row.port}: {v.row.decided_by})"
        if status == "denied" and v.access == "Allow":
            out.append(Finding("log-denied-expected-source", HIGH, what, expected,
                               f"{_plural(flows, 'flow')} denied in the last {days} days"))
        elif status == "allowed" and v.access == "Deny":
            severity = HIGH if _address(f["SrcIp"]).is_global else MEDIUM  # type: ignore[union-attr]
            out.append(Finding("log-allowed-denied-source", severity, what, expected,
                               f"{_plural(flows, 'flow')} allowed in the last {days} days"))
    return out


def account_findings(rows: Sequence[CombinedRow], observed: Iterable[Mapping[str, Any]], days: int) -> list[Finding]:
    by_source: dict[str, dict[str, int]] = {}
    for e in observed:
        by_source.setdefault(str(e.get("SourceIPAddress")), {})[str(e.get("Outcome"))] = int(e.get("Events") or 0)
    out = []
    for source, counts in sorted(by_source.items()):
        v = workspace_verdict(rows, source)
        if v is None or v.access not in ("Allow", "Deny"):
            continue
        what = f"workspace UI/API requests from {source}"
        expected = f"{v.access} (matrix row {v.source} -> {v.row.destination}: {v.row.decided_by})"
        denied, failed, signed = counts.get(IP_DENIED, 0), counts.get(SIGN_IN_FAILED, 0), counts.get(SIGNED_IN, 0)
        if v.access == "Allow" and denied:
            out.append(Finding("log-denied-expected-source", HIGH, what, expected,
                               f"{_plural(denied, 'IP access list denial')} in the last {days} days"))
        if v.access == "Deny" and (failed or signed):
            severity = HIGH if _address(source).is_global else MEDIUM  # type: ignore[union-attr]
            out.append(Finding("log-allowed-denied-source", severity, what, expected,
                               f"{_plural(signed, 'sign-in')} and {_plural(failed, 'failed sign-in')} reached the "
                               f"workspace in the last {days} days"))
        elif v.access == "Allow" and failed:
            out.append(Finding("log-failed-sign-ins", LOW, what, expected,
                               f"{_plural(failed, 'failed sign-in')} in the last {days} days"))
    return out


def log_findings(plan: dict[str, Any], spec: EnvironmentSpec, client: LogsQueryClient, workspace_id: str,
                 days: int) -> list[Finding]:
    """Every Logs finding over the last `days` days; LogsUnreadable when a query is refused or malformed."""
    if days < 1:
        raise ValueError("the window is at least one day")
    rows = combined_rows(spec.plan.topology())
    out: list[Finding] = []
    if _flow_logs_planned(plan):
        out += flow_findings(rows, _rows(client, workspace_id, "flows", days), days)
    if spec.plan.parts.diagnostics:  # the workspace's diagnostic setting is what fills DatabricksAccounts
        out += account_findings(rows, _rows(client, workspace_id, "accounts", days), days)
    return out
