"""Invalid audit settings (`monitoring`) are rejected with every problem at its dotted field path.

Like tests/test_invalid_specs.py: each case mutates a valid base (a stack's own spec, or the minimal literals) and
lists every problem it must produce as (dotted path, reason fragment); the set of reported paths must equal the
expected set exactly, so a missing problem and a spurious extra one both fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.spec import EnvironmentSpec
from tests.spec_cases import (
    DELETE,
    Case,
    assert_reported,
    base,
    case_params,
    check_file_loader,
    check_program_registers_nothing,
    check_reported,
    mutate,
    problems_of,
)

A = "monitoring.alerts"
PL = "monitoring.private_link"

CASES: list[Case] = [
    # --- Log Analytics retention: Azure's range, then each tier's floor -----------------------------------------
    Case("retention-29", "dev", {"monitoring.log_retention_days": 29},
         (("monitoring.log_retention_days", "greater than or equal to 30"),), program=True),
    Case("retention-731", "prod", {"monitoring.log_retention_days": 731},
         (("monitoring.log_retention_days", "less than or equal to 730"),)),
    Case("retention-not-a-number", "staging", {"monitoring.log_retention_days": "a year"},
         (("monitoring.log_retention_days", "valid integer"),)),
    Case("retention-below-staging-floor", "staging", {"monitoring.log_retention_days": 60},
         (("monitoring.log_retention_days", "staging keeps audit logs at least 90 days"),)),
    Case("retention-below-prod-floor", "prod", {"monitoring.log_retention_days": 364},
         (("monitoring.log_retention_days", "prod keeps audit logs at least 365 days"),)),
    # --- alerts ----------------------------------------------------------------------------------------------
    Case("threshold-zero", "prod", {f"{A}.failed_auth": {"threshold": 0}},
         ((f"{A}.failed_auth.threshold", "greater than or equal to 1"),)),
    Case("threshold-negative-and-severity-5", "staging", {f"{A}.denied_flows": {"threshold": -3, "severity": 5}},
         ((f"{A}.denied_flows.threshold", "greater than or equal to 1"), (f"{A}.denied_flows.severity", "less than or equal to 4"))),
    Case("threshold-missing", "prod", {f"{A}.ingress_errors": {"window_minutes": 15}},
         ((f"{A}.ingress_errors.threshold", "Field required"),)),
    Case("window-7", "prod", {f"{A}.ip_access_denied": {"threshold": 5, "window_minutes": 7}},
         ((f"{A}.ip_access_denied.window_minutes", "7: a scheduled query rule's window is one of 5, 10, 15"),), program=True),
    Case("window-3-days", "staging", {f"{A}.failed_auth": {"threshold": 5, "window_minutes": 4320}},
         ((f"{A}.failed_auth.window_minutes", "4320"),)),
    Case("unknown-alert-field", "prod", {f"{A}.failed_auth": {"threshold": 5, "treshold": 5}},
         ((f"{A}.failed_auth.treshold", "unknown field"),)),
    Case("bad-email", "prod", {f"{A}.emails": ["secops@contoso.com", "oncall-at-contoso"]},
         ((f"{A}.emails", "not an email address: 'oncall-at-contoso'"),)),
    Case("duplicate-email", "staging", {f"{A}.emails": ["a@contoso.com", "a@contoso.com"]},
         ((f"{A}.emails", "lists the same address twice"),)),
    Case("alerts-without-emails", "staging", {f"{A}.emails": []},
         ((f"{A}.emails", "alerts need someone to tell"),)),
    Case("alerts-without-emails-min-prod", "min-prod", {f"{A}.emails": DELETE},
         ((f"{A}.emails", "alerts need someone to tell"),)),
    Case("alerts-off-in-prod", "prod", {f"{A}.enabled": False},
         ((f"{A}.enabled", "prod requires alerts on the audit logs"),)),
    Case("bad-country", "prod", {f"{A}.allowed_countries": ["Netherlands", "NL;drop", "1"]},
         ((f"{A}.allowed_countries", "not a country name: 'NL;drop', '1'"),)),
    Case("country-with-quote", "prod", {f"{A}.allowed_countries": ['Nether"lands']},
         ((f"{A}.allowed_countries", "not a country name"),)),
    # --- diagnostics, flow logs, SIEM ------------------------------------------------------------------------------
    Case("diagnostics-off-in-staging", "staging", {"monitoring.diagnostics": False},
         (("monitoring.diagnostics", "staging requires diagnostic settings"),)),
    Case("flow-logs-off-in-prod", "prod", {"monitoring.flow_logs.enabled": False},
         (("monitoring.flow_logs.enabled", "prod requires VNet flow logs"),)),
    Case("flow-log-retention-0-and-interval-30", "prod",
         {"monitoring.flow_logs.retention_days": 0, "monitoring.flow_logs.traffic_analytics_interval_minutes": 30},
         (("monitoring.flow_logs.retention_days", "greater than or equal to 1"),
          ("monitoring.flow_logs.traffic_analytics_interval_minutes", "Input should be 10 or 60"))),
    Case("event-hub-partitions-and-retention", "prod",
         {"monitoring.siem.partition_count": 0, "monitoring.siem.message_retention_days": 8},
         (("monitoring.siem.partition_count", "greater than or equal to 1"),
          ("monitoring.siem.message_retention_days", "less than or equal to 7"))),
    # --- private audit data paths: Azure Monitor Private Link Scope, the SIEM hub's endpoint ------------------------
    Case("ampls-off-in-staging", "staging", {f"{PL}.enabled": False},
         ((f"{PL}.enabled", "staging requires Log Analytics ingestion and query through an Azure Monitor Private Link Scope"),
          (f"{PL}.public_ingestion", "refuses ingestion from public networks needs an Azure Monitor Private Link Scope"),
          (f"{PL}.public_query", "refuses queries from public networks needs an Azure Monitor Private Link Scope"))),
    Case("public-query-in-prod", "prod", {f"{PL}.public_query": True},
         ((f"{PL}.public_query", "prod requires the Log Analytics workspace to refuse queries from public networks"),)),
    Case("public-ingestion-and-query-in-staging", "staging", {f"{PL}.public_ingestion": True, f"{PL}.public_query": True},
         ((f"{PL}.public_ingestion", "staging requires the Log Analytics workspace to refuse ingestion from public networks"),
          (f"{PL}.public_query", "staging requires the Log Analytics workspace to refuse queries"))),
    Case("access-mode-not-a-mode", "prod", {f"{PL}.query_access_mode": "Private", f"{PL}.ingestion_access_mode": "closed"},
         ((f"{PL}.query_access_mode", "Input should be 'PrivateOnly' or 'Open'"),
          (f"{PL}.ingestion_access_mode", "Input should be 'PrivateOnly' or 'Open'"))),
    Case("dev-refuses-public-ingestion-without-scope", "dev", {f"{PL}.public_ingestion": False},
         ((f"{PL}.public_ingestion", "needs an Azure Monitor Private Link Scope (monitoring.private_link.enabled)"),)),
    Case("unknown-private-link-field", "prod", {f"{PL}.public_network_access": "Disabled"},
         ((f"{PL}.public_network_access", "unknown field"),)),
    Case("siem-without-private-endpoint", "prod", {"monitoring.siem.private_endpoint": False},
         (("monitoring.siem.private_endpoint", "without its private endpoint nothing can read the export"),), program=True),
    # Several sections at once: every problem is reported, none hides another.
    Case("many-at-once", "prod",
         {"monitoring.log_retention_days": 100, f"{A}.emails": ["nobody"], f"{A}.unexpected_country": {"threshold": 0},
          "monitoring.flow_logs.enabled": False},
         (("monitoring.log_retention_days", "prod keeps audit logs at least 365 days"), (f"{A}.emails", "not an email address"),
          (f"{A}.unexpected_country.threshold", "greater than or equal to 1"), ("monitoring.flow_logs.enabled", "prod requires VNet flow logs"))),
]
PROGRAM_CASES = [c for c in CASES if c.program]


def test_cases_are_unique_and_cover_the_section() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(CASES) >= 20
    assert sum(len({p for p, _ in c.expected}) >= 2 for c in CASES) >= 3
    assert 1 <= len(PROGRAM_CASES) <= 3


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_audit_reports_every_problem_at_its_path(case: Case) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params([c for c in CASES if c.base in ("dev", "prod")][:4]))
def test_invalid_audit_is_rejected_by_the_file_loader(case: Case, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_invalid_audit(case: Case, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, case.base)


def test_floors_accept_the_floor_itself_and_alerts_off_in_dev() -> None:
    EnvironmentSpec.model_validate(mutate(base("prod"), {"monitoring.log_retention_days": 365}))
    EnvironmentSpec.model_validate(mutate(base("staging"), {"monitoring.log_retention_days": 90}))
    EnvironmentSpec.model_validate(mutate(base("dev"), {"monitoring.log_retention_days": 30, f"{A}.enabled": False, f"{A}.emails": []}))
    # dev may switch alerts on, and then needs a receiver like any tier.
    assert_reported(problems_of(mutate(base("dev"), {f"{A}.enabled": True})), ((f"{A}.emails", "alerts need someone to tell"),))


def test_dev_may_take_the_private_path_and_siem_endpoint_matters_only_with_the_hub() -> None:
    """dev fills in a public workspace but may choose the scope; a SIEM endpoint switched off without the hub is no
    problem (there is nothing to read)."""
    # A scope beside a workspace that still takes public traffic (the Open path of a gradual onboarding) ...
    spec = EnvironmentSpec.model_validate(mutate(base("dev"), {PL: {"enabled": True}}))
    assert spec.monitoring.private_link.enabled and spec.monitoring.private_link.public_query
    # ... or fully private, like staging and prod.
    spec = EnvironmentSpec.model_validate(mutate(base("dev"), {PL: {"enabled": True, "public_ingestion": False, "public_query": False}}))
    assert not spec.monitoring.private_link.public_ingestion and not spec.monitoring.private_link.public_query
    dev = EnvironmentSpec.model_validate(base("dev"))
    assert not dev.monitoring.private_link.enabled and dev.monitoring.private_link.public_ingestion
    EnvironmentSpec.model_validate(mutate(base("staging"), {"monitoring.siem.private_endpoint": False}))
    # The scope's access modes may open to resources outside it in any tier: only the workspace's own flags are floors.
    EnvironmentSpec.model_validate(mutate(base("prod"), {f"{PL}.query_access_mode": "Open"}))
