"""The alerts that wake someone up, as data: one scheduled query rule (kind LogAlert) per row, built from the spec.

Each query returns one row per matching event; the rule counts the rows over its window (timeAggregation Count,
or Total over `measure` when a row stands for several events) and fires at `threshold` or more.

Sources of the tables and columns:
- DatabricksAccounts (Azure Databricks diagnostic logs, "accounts" service): login actions (aadBrowserLogin,
  aadTokenLogin, jwtLogin, login, tokenLogin, ...), IpAccessDenied, generateDbToken; `Response` carries the JSON
  with `statusCode`, `Identity` the JSON with `email` (an application id for service principals), `SourceIPAddress`
  the client (https://learn.microsoft.com/azure/databricks/admin/account-settings/audit-logs).
- NTANetAnalytics (traffic analytics over VNet flow logs): FlowStatus "Denied", DeniedInFlows/DeniedOutFlows
  (https://learn.microsoft.com/azure/azure-monitor/reference/tables/ntanetanalytics).
- ContainerLogV2 (Container Insights): PodNamespace, ContainerName, LogMessage (dynamic when the line is JSON);
  Traefik's JSON access log lines carry DownstreamStatus.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class AlertSpec(Protocol):
    """One alert's settings (components/spec/audit.py AlertSpec has them)."""

    @property
    def threshold(self) -> int: ...
    @property
    def window_minutes(self) -> int: ...
    @property
    def severity(self) -> int: ...


class AlertsSpec(Protocol):
    """The alerts' settings (components/spec/audit.py AlertsSpec has them): the planner never imports the spec."""

    @property
    def enabled(self) -> bool: ...
    @property
    def allowed_countries(self) -> tuple[str, ...]: ...
    @property
    def failed_auth(self) -> AlertSpec: ...
    @property
    def ip_access_denied(self) -> AlertSpec: ...
    @property
    def unexpected_country(self) -> AlertSpec: ...
    @property
    def human_token_creation(self) -> AlertSpec: ...
    @property
    def denied_flows(self) -> AlertSpec: ...
    @property
    def ingress_errors(self) -> AlertSpec: ...
    @property
    def ingress_volume(self) -> AlertSpec: ...


# Actions in the accounts service that sign someone in (Databricks audit log reference, "Authentication events").
LOGIN_ACTIONS = ("aadBrowserLogin", "aadTokenLogin", "jwtLogin", "login", "tokenLogin", "samlLogin", "oidcBrowserLogin",
                 "mfaLogin", "certLogin", "passwordVerifyAuthentication")
IP_ACCESS_DENIED_ACTIONS = ("IpAccessDenied", "accountIpAclsValidationFailed")
TOKEN_ACTIONS = ("generateDbToken",)
# The tables that carry a client address, for the request-origin rule.
SOURCE_IP_TABLES = ("DatabricksAccounts", "DatabricksWorkspace", "DatabricksClusters", "DatabricksJobs",
                    "DatabricksNotebook", "DatabricksSecrets", "DatabricksUnityCatalog", "DatabricksSQLPermissions")
TRAEFIK_CONTAINER = "traefik"


@dataclass(frozen=True)
class AlertRule:
    key: str  # the AlertsSpec field it comes from
    title: str
    description: str
    query: str
    tables: tuple[str, ...]
    threshold: int
    window_minutes: int
    severity: int
    measure: str | None = None  # a column to sum; None: count the rows

    @property
    def frequency_minutes(self) -> int:
        """How often the rule runs: every window, at most every 15 minutes (a window never shorter than the run)."""
        return min(self.window_minutes, 15)

    @property
    def time_aggregation(self) -> str:
        return "Total" if self.measure else "Count"


def iso_minutes(minutes: int) -> str:
    """PT15M, PT1H, P1D ...: the ISO 8601 durations a scheduled query rule takes."""
    if minutes % 1440 == 0:
        return f"P{minutes // 1440}D"
    if minutes % 60 == 0:
        return f"PT{minutes // 60}H"
    return f"PT{minutes}M"


def _kql_list(values: tuple[str, ...]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def _rule(key: str, spec: AlertSpec, title: str, description: str, query: str, tables: tuple[str, ...],
          measure: str | None = None) -> AlertRule:
    return AlertRule(key=key, title=title, description=description, query=query.strip(), tables=tables,
                     threshold=spec.threshold, window_minutes=spec.window_minutes, severity=spec.severity, measure=measure)


def alert_rules(alerts: AlertsSpec, *, tier: str, ingress_namespace: str | None, flow_logs: bool) -> tuple[AlertRule, ...]:
    """Every rule the spec asks for. `ingress_namespace` is set only when the toolkit runs the AKS cluster (its
    Container Insights feed the ingress rules); `flow_logs` when VNet flow logs with traffic analytics are on."""
    if not alerts.enabled:
        return ()
    rules = [
        _rule("failed_auth", alerts.failed_auth, "Repeated failed authentication",
              "Sign-ins to the Databricks workspace answered with a 4xx status: password spraying, a leaked or revoked "
              "token being retried, or a broken integration.",
              f"""
DatabricksAccounts
| where ActionName in ({_kql_list(LOGIN_ACTIONS)})
| extend StatusCode = toint(parse_json(Response).statusCode)
| where StatusCode between (400 .. 499)
| project TimeGenerated, ActionName, StatusCode, SourceIPAddress, Identity, UserAgent
""", ("DatabricksAccounts",)),
        _rule("ip_access_denied", alerts.ip_access_denied, "Requests rejected by IP access lists",
              "Requests to the workspace from addresses the IP access lists do not allow.",
              f"""
DatabricksAccounts
| where ActionName in ({_kql_list(IP_ACCESS_DENIED_ACTIONS)})
| project TimeGenerated, ActionName, SourceIPAddress, Identity, RequestParams
""", ("DatabricksAccounts",)),
    ]
    if alerts.allowed_countries:
        rules.append(_rule(
            "unexpected_country", alerts.unexpected_country, "Requests from outside the allowed countries",
            f"Workspace requests whose public source address geolocates outside {', '.join(alerts.allowed_countries)}.",
            f"""
union isfuzzy=true {', '.join(SOURCE_IP_TABLES)}
| where isnotempty(SourceIPAddress) and not(ipv4_is_private(SourceIPAddress))
| extend Country = tostring(geo_info_from_ip_address(SourceIPAddress).country)
| where isnotempty(Country) and Country !in~ ({_kql_list(alerts.allowed_countries)})
| project TimeGenerated, Type, ActionName, SourceIPAddress, Country, Identity
""", SOURCE_IP_TABLES))
    if tier == "prod":
        rules.append(_rule(
            "human_token_creation", alerts.human_token_creation, "Personal access token created by a person",
            "A person (an identity with an email address, not a service principal's application id) generated a "
            "Databricks token in prod, where automation uses service principals.",
            f"""
DatabricksAccounts
| where ActionName in ({_kql_list(TOKEN_ACTIONS)})
| extend Who = tostring(parse_json(Identity).email)
| where Who contains "@"
| project TimeGenerated, ActionName, Who, SourceIPAddress, RequestParams
""", ("DatabricksAccounts",)))
    if flow_logs:
        rules.append(_rule(
            "denied_flows", alerts.denied_flows, "Spike of denied network flows",
            "Flows the NSGs of the workspace VNet denied (traffic analytics over VNet flow logs): scanning, or a "
            "workload reaching for something it may not.",
            """
NTANetAnalytics
| where SubType == "FlowLog" and FlowStatus == "Denied"
| extend DeniedFlows = toint(DeniedInFlows) + toint(DeniedOutFlows)
| project TimeGenerated, SrcIp, DestIp, DestPort, L4Protocol, DeniedFlows
""", ("NTANetAnalytics",), measure="DeniedFlows"))
    if ingress_namespace is not None:
        access_log = f"""
ContainerLogV2
| where PodNamespace == "{ingress_namespace}" and ContainerName == "{TRAEFIK_CONTAINER}"
| extend Status = toint(LogMessage.DownstreamStatus)
| where isnotnull(Status)"""
        rules.append(_rule(
            "ingress_errors", alerts.ingress_errors, "Spike of 401/403/5xx at the ingress",
            "The ingress controller answered 401, 403 or a 5xx: credential stuffing against a route, an allowlist "
            "or mTLS rejecting callers, or a failing connector.",
            access_log + """
| where Status in (401, 403) or Status >= 500
| project TimeGenerated, Status, ClientHost = tostring(LogMessage.ClientHost), RequestHost = tostring(LogMessage.RequestHost),
    RouterName = tostring(LogMessage.RouterName)
""", ("ContainerLogV2",)))
        rules.append(_rule(
            "ingress_volume", alerts.ingress_volume, "Spike of ingress request volume",
            "More requests through the ingress controller than the spec expects in a window: a flood or a runaway client.",
            access_log + """
| project TimeGenerated, Status, ClientHost = tostring(LogMessage.ClientHost), RequestHost = tostring(LogMessage.RequestHost)
""", ("ContainerLogV2",)))
    return tuple(rules)
