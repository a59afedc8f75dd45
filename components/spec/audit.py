"""Audit: where logs go (Log Analytics, VNet flow logs, an Event Hub for a SIEM) and what wakes someone up."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from components.spec.base import StrictModel

# The window sizes a scheduled query rule accepts, in minutes (PT5M ... P2D).
ALERT_WINDOWS_MINUTES = (5, 10, 15, 30, 45, 60, 120, 180, 240, 300, 360, 1440, 2880)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")


class AlertSpec(StrictModel):
    """One alert: fire when `threshold` or more matching events fall in `window_minutes`."""

    threshold: int = Field(ge=1)
    window_minutes: int = 15
    # Azure Monitor severities: 0 critical ... 4 verbose.
    severity: int = Field(default=2, ge=0, le=4)

    @field_validator("window_minutes")
    @classmethod
    def _window(cls, v: int) -> int:
        if v not in ALERT_WINDOWS_MINUTES:
            raise ValueError(f"{v}: a scheduled query rule's window is one of {', '.join(map(str, ALERT_WINDOWS_MINUTES))} minutes")
        return v


class AlertsSpec(StrictModel):
    """Scheduled query rules over the audit logs and one action group that receives them."""

    enabled: bool = True
    # Receivers of the action group (an on-call mailbox, a ticketing address).
    emails: tuple[str, ...] = ()
    failed_auth: AlertSpec = AlertSpec(threshold=10, window_minutes=15, severity=1)
    ip_access_denied: AlertSpec = AlertSpec(threshold=20, window_minutes=15, severity=2)
    # Country names as Log Analytics' geo_info_from_ip_address() returns them ("Netherlands");
    # empty: no alert on request origin.
    allowed_countries: tuple[str, ...] = ()
    unexpected_country: AlertSpec = AlertSpec(threshold=1, window_minutes=60, severity=1)
    # Tokens created by people (not service principals); the rule is created in prod only.
    human_token_creation: AlertSpec = AlertSpec(threshold=1, window_minutes=60, severity=1)
    denied_flows: AlertSpec = AlertSpec(threshold=500, window_minutes=15, severity=2)
    # 401, 403 and 5xx answers from the ingress controller, and its total request volume.
    ingress_errors: AlertSpec = AlertSpec(threshold=100, window_minutes=15, severity=2)
    ingress_volume: AlertSpec = AlertSpec(threshold=20000, window_minutes=15, severity=3)

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [e for e in v if not _EMAIL.fullmatch(e)]
        if bad:
            raise ValueError(f"not an email address: {', '.join(map(repr, bad))}")
        if len(set(v)) != len(v):
            raise ValueError("lists the same address twice")
        if len(v) > 1000:
            raise ValueError("an action group takes at most 1000 email receivers")
        return v

    @field_validator("allowed_countries")
    @classmethod
    def _countries(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in v if not re.fullmatch(r"[A-Za-z][A-Za-z .,'()-]{1,63}", c)]
        if bad:
            raise ValueError(f"not a country name: {', '.join(map(repr, bad))} (use names such as 'Netherlands', "
                             "as geo_info_from_ip_address() returns them)")
        return v


class FlowLogSpec(StrictModel):
    """VNet flow logs (NSG flow logs can no longer be created) with traffic analytics."""

    enabled: bool = True
    retention_days: int = Field(default=90, ge=1, le=365)
    traffic_analytics_interval_minutes: Literal[10, 60] = 10
    # Azure creates one Network Watcher per region and subscription, by default here.
    network_watcher_resource_group: str = "NetworkWatcherRG"
    network_watcher_name: str | None = None  # NetworkWatcher_<region> when unset


class SiemSpec(StrictModel):
    """An Event Hub that Log Analytics exports the audit tables to, for an external SIEM.

    The namespace takes no public traffic: public network access Disabled, with the trusted-services exception that
    lets Log Analytics data export write to it (components/audit.py cites the source). The SIEM reads through a
    private endpoint (group `namespace`) in the workspace VNet's endpoint subnet."""

    event_hub: bool = False
    partition_count: int = Field(default=4, ge=1, le=32)
    message_retention_days: int = Field(default=7, ge=1, le=7)
    # Without it nothing can read the hub: its public endpoint refuses everyone but trusted Azure services.
    private_endpoint: bool = True


AccessMode = Literal["PrivateOnly", "Open"]


class MonitorPrivateLinkSpec(StrictModel):
    """Log Analytics ingestion and query through an Azure Monitor Private Link Scope (AMPLS).

    One scope, one private endpoint (group `azuremonitor`) in the workspace VNet's endpoint subnet and the five
    private DNS zones Microsoft documents, linked to the workspace VNet only (AMPLS DNS is shared: one scope per
    DNS). The class defaults are the strict ones: staging and prod may not go below them (tiers.py); dev fills in
    a public workspace without a scope."""

    enabled: bool = True
    # What networks connected to the scope may reach: only the resources in it (PrivateOnly), or others too (Open).
    ingestion_access_mode: AccessMode = "PrivateOnly"
    query_access_mode: AccessMode = "PrivateOnly"
    # The workspace's own flags: accept ingestion / queries from networks not connected through a scope.
    public_ingestion: bool = False
    public_query: bool = False


class MonitoringSpec(StrictModel):
    # Log Analytics keeps 30-730 days in its interactive tier. The default is prod's (12 months, PCI DSS 10.5.1);
    # tiers fill in less for dev and staging and set a floor each (components/planning/diagnostics.py).
    log_retention_days: int = Field(default=365, ge=30, le=730)
    # Diagnostic settings on the workspace, AKS, the Key Vault and the data lake.
    diagnostics: bool = True
    flow_logs: FlowLogSpec = FlowLogSpec()
    siem: SiemSpec = SiemSpec()
    private_link: MonitorPrivateLinkSpec = MonitorPrivateLinkSpec()
    alerts: AlertsSpec = AlertsSpec()
