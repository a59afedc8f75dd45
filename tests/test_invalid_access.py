"""Invalid workspace access control is rejected with every problem at its dotted field path.

IP access lists, hardened workspace settings, Entra-tied groups and service principals, token rights and
cluster policies. Like tests/test_invalid_specs.py, each case mutates a valid base and lists every problem it
must produce as (dotted path, reason fragment); the set of reported paths must equal the expected set exactly.
Paths here may index into lists ("access.groups.0.name"), so cases use `edit`, which understands list indices.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest

import stacks
from brickwall import project
from brickwall.engine import ProgramError
from components.spec import EnvironmentSpec
from components.spec.access import MAX_IP_ACCESS_VALUES
from tests.spec_cases import (
    DELETE,
    AccessCase,
    base,
    case_params,
    check_file_loader,
    check_program_registers_nothing,
    check_reported,
    edit,
)

# Base specs: dev (public front end, allow list "office"), staging and prod (private, prod has BLOCK list "known-bad").
BREAK_GLASS, CI_EGRESS = "52.174.20.0/28", "20.61.88.16/28"
GROUP_OID = "3f2b8c1e-6d4a-4e8f-9a1b-2c3d4e5f6a70"  # dev/staging/prod groups.0 (data-engineers)
SCRIPTS = "/Volumes/platform/security/init-scripts"  # prod's approved init-script folder


def public_ips(count: int, second_octet: int = 0) -> list[str]:
    """`count` distinct public /32 addresses in 20.<second_octet>.x.y."""
    return [f"20.{second_octet}.{i // 256}.{i % 256}" for i in range(count)]


IP = "access.ip_access"
COMPUTE = "access.compute"
NON_PUBLIC = "non-public range"

CASES: list[AccessCase] = [
    # --- IP access lists: the whole Internet ----------------------------------------------------------------
    AccessCase("staging-allow-list-open-to-internet", "staging",
               {f"{IP}.allow": [{"label": "anywhere", "cidrs": ["0.0.0.0/0"]}]},
               ((f"{IP}.allow.0.cidrs.0", "staging never allows the whole Internet"),)),
    AccessCase("prod-allow-list-open-to-internet", "prod",
               {f"{IP}.allow": [{"label": "vendor", "cidrs": ["194.8.240.0/24", "0.0.0.0/0"]}]},
               ((f"{IP}.allow.0.cidrs.1", "prod never allows the whole Internet (0.0.0.0/0)"),), program=True, fmt="json"),
    AccessCase("break-glass-open-to-internet", "dev", {f"{IP}.break_glass": ["0.0.0.0/0"]},
               ((f"{IP}.break_glass", "0.0.0.0/0 allows the whole Internet"),)),
    # --- IP access lists: ranges the lists never see ----------------------------------------------------------
    AccessCase("break-glass-private-10", "dev", {f"{IP}.break_glass": [BREAK_GLASS, "10.1.0.0/16"]},
               ((f"{IP}.break_glass", f"10.1.0.0/16 overlaps the {NON_PUBLIC} 10.0.0.0/8"),)),
    AccessCase("ci-egress-private-172-16", "dev", {f"{IP}.ci_egress": ["172.20.1.0/24"]},
               ((f"{IP}.ci_egress", f"{NON_PUBLIC} 172.16.0.0/12"),)),
    AccessCase("allow-list-private-192-168", "dev", {f"{IP}.allow.0.cidrs": ["194.8.240.0/24", "192.168.1.0/24"]},
               ((f"{IP}.allow.0.cidrs", f"{NON_PUBLIC} 192.168.0.0/16"),)),
    AccessCase("block-list-shared-100-64", "prod", {f"{IP}.block.0.cidrs": ["100.64.0.0/10"]},
               ((f"{IP}.block.0.cidrs", f"{NON_PUBLIC} 100.64.0.0/10"),)),
    AccessCase("allow-list-loopback", "dev", {f"{IP}.allow.0.cidrs": ["127.0.0.1"]},
               ((f"{IP}.allow.0.cidrs", f"{NON_PUBLIC} 127.0.0.0/8"),)),
    AccessCase("break-glass-link-local", "staging", {f"{IP}.break_glass": ["169.254.169.254"]},
               ((f"{IP}.break_glass", f"{NON_PUBLIC} 169.254.0.0/16"),)),
    AccessCase("compute-plane-egress-private-nat-ip", "dev", {f"{IP}.compute_plane_egress": ["10.10.8.4"]},
               ((f"{IP}.compute_plane_egress", f"{NON_PUBLIC} 10.0.0.0/8"),)),
    # --- IP access lists: syntax -----------------------------------------------------------------------------
    AccessCase("allow-list-ipv6", "dev", {f"{IP}.allow.0.cidrs": ["2a01:111:f400::/48"]},
               ((f"{IP}.allow.0.cidrs", "IPv4 addresses and ranges only"),)),
    AccessCase("break-glass-ipv6-address", "prod", {f"{IP}.break_glass": [BREAK_GLASS, "2001:4860:4860::8888"]},
               ((f"{IP}.break_glass", "IPv4 addresses and ranges only"),)),
    AccessCase("ci-egress-malformed-cidr", "dev", {f"{IP}.ci_egress": ["20.61.88/28"]},
               ((f"{IP}.ci_egress", "'20.61.88/28' is not an IP address or CIDR"),)),
    AccessCase("block-entry-bad-netmask", "prod", {f"{IP}.block.0.cidrs": ["45.155.205.0/33"]},
               ((f"{IP}.block.0.cidrs", "'45.155.205.0/33' is not an IP address or CIDR"),)),
    AccessCase("break-glass-host-bits-set", "dev", {f"{IP}.break_glass": ["52.174.20.5/28"]},
               ((f"{IP}.break_glass", "has host bits set"),)),
    AccessCase("allow-list-duplicate-range", "dev", {f"{IP}.allow.0.cidrs": ["194.8.240.0/24", "194.8.240.0/24"]},
               ((f"{IP}.allow.0.cidrs", "lists the same range twice"),)),
    AccessCase("break-glass-same-address-as-host-and-slash-32", "dev", {f"{IP}.break_glass": ["52.174.20.1", "52.174.20.1/32"]},
               ((f"{IP}.break_glass", "lists the same range twice"),)),
    AccessCase("allow-list-empty", "dev", {f"{IP}.allow.0.cidrs": []},
               ((f"{IP}.allow.0.cidrs", "at least one address or range"),)),
    # --- IP access lists: labels -----------------------------------------------------------------------------
    AccessCase("duplicate-allow-labels", "dev",
               {f"{IP}.allow": [{"label": "office", "cidrs": ["194.8.240.0/24"]}, {"label": "office", "cidrs": ["194.8.242.0/24"]}]},
               ((f"{IP}.allow.1.label", "'office' clashes with list 'office'"),)),
    AccessCase("duplicate-block-labels", "prod",
               {f"{IP}.block": [{"label": "bad", "cidrs": ["45.155.205.0/24"]}, {"label": "bad", "cidrs": ["45.155.206.0/24"]}]},
               ((f"{IP}.block.1.label", "'bad' clashes with list 'bad'"),)),
    AccessCase("allow-label-reserved-break-glass", "dev", {f"{IP}.allow.0.label": "break-glass"},
               ((f"{IP}.allow.0.label", "reserved for the list the toolkit builds from ip_access.break_glass"),)),
    AccessCase("block-label-reserved-ci-egress", "prod", {f"{IP}.block.0.label": "ci-egress"},
               ((f"{IP}.block.0.label", "reserved for the list the toolkit builds from ip_access.ci_egress"),)),
    # "Break-Glass" would become the resource name of the toolkit's own break-glass list: reserved in any case.
    AccessCase("allow-label-reserved-other-case", "dev", {f"{IP}.allow.0.label": "Break-Glass"},
               ((f"{IP}.allow.0.label", "reserved"),)),
    AccessCase("allow-label-slash", "dev", {f"{IP}.allow.0.label": "office/vpn"},
               ((f"{IP}.allow.0.label", "1-64 letters, digits, spaces, _ . -"),)),
    AccessCase("block-label-leading-space", "prod", {f"{IP}.block.0.label": " known-bad"},
               ((f"{IP}.block.0.label", "1-64 letters"),)),
    # --- IP access lists: the workspace-wide quota --------------------------------------------------------------
    AccessCase("more-than-1000-values-across-lists", "min-dev",
               {f"{IP}.allow": [{"label": "partners", "cidrs": public_ips(600)}, {"label": "vendors", "cidrs": public_ips(399, 1)}]},
               ((IP, "1001 addresses and ranges across all lists; Databricks allows at most 1000"),)),
    # --- IP access lists: BLOCK entries that would lock the toolkit's own lists out -----------------------------------
    AccessCase("block-covers-break-glass", "prod", {f"{IP}.block.0.cidrs": ["45.155.205.0/24", "52.174.0.0/16"]},
               ((f"{IP}.block.0.cidrs.1", f"blocks the break-glass range {BREAK_GLASS}"),), program=True, fmt="yaml"),
    AccessCase("block-covers-ci-egress", "prod",
               {f"{IP}.block": [{"label": "known-bad", "cidrs": ["45.155.205.0/24"]}, {"label": "scanner", "cidrs": ["20.61.88.16/32"]}]},
               ((f"{IP}.block.1.cidrs.0", f"blocks the ci-egress range {CI_EGRESS}"),)),
    AccessCase("block-list-of-the-whole-internet", "dev", {f"{IP}.block": [{"label": "everyone", "cidrs": ["0.0.0.0/0"]}]},
               ((f"{IP}.block.0.cidrs.0", "blocks the break-glass range"),)),
    # A BLOCK entry over the compute-plane egress would keep clusters from starting.
    AccessCase("block-covers-compute-plane-egress", "dev",
               {"private_link.backend": False, "workspace.required_nsg_rules": "AllRules",
                f"{IP}.compute_plane_egress": ["20.50.1.0/28"], f"{IP}.block": [{"label": "azure-west", "cidrs": ["20.50.0.0/16"]}]},
               ((f"{IP}.block.0.cidrs.0", "compute-plane-egress range 20.50.1.0/28"),)),
    # --- lockout ---------------------------------------------------------------------------------------------------
    AccessCase("lists-enabled-without-break-glass", "dev", {f"{IP}.break_glass": []},
               ((f"{IP}.break_glass", "locks every administrator out"),)),
    AccessCase("prod-lists-enabled-without-break-glass", "prod", {f"{IP}.break_glass": DELETE},
               ((f"{IP}.break_glass", "name the operators' break-glass ranges"),)),
    AccessCase("public-front-end-without-ci-egress", "dev", {f"{IP}.ci_egress": DELETE},
               ((f"{IP}.ci_egress", "the next `pulumi up` locks itself out"),)),
    AccessCase("no-backend-private-link-without-compute-plane-egress", "dev",
               {"private_link.backend": False, "workspace.required_nsg_rules": "AllRules"},
               ((f"{IP}.compute_plane_egress", "clusters cannot start"),)),
    AccessCase("staging-ip-access-disabled", "staging", {f"{IP}.enabled": False},
               ((f"{IP}.enabled", "staging requires IP access lists"),)),
    AccessCase("prod-ip-access-disabled", "prod", {f"{IP}.enabled": False},
               ((f"{IP}.enabled", "prod requires IP access lists"),)),
    # --- workspace settings ------------------------------------------------------------------------------------------
    AccessCase("prod-results-download-on", "prod", {"access.settings.results_download": True},
               (("access.settings.results_download", "prod requires results_download off"),)),
    AccessCase("prod-web-terminal-on", "prod", {"access.settings.web_terminal": True},
               (("access.settings.web_terminal", "prod requires web_terminal off"),)),
    AccessCase("prod-notebook-export-on", "prod", {"access.settings.notebook_export": True},
               (("access.settings.notebook_export", "prod requires notebook_export off"),)),
    AccessCase("prod-user-isolation-off", "prod", {"access.settings.enforce_user_isolation": False},
               (("access.settings.enforce_user_isolation", "prod requires enforce_user_isolation on"),)),
    AccessCase("prod-verbose-audit-logs-off", "prod", {"access.settings.verbose_audit_logs": False},
               (("access.settings.verbose_audit_logs", "prod requires verbose audit logs"),
                ("access.settings.verbose_audit_logs", "prod requires verbose_audit_logs on"))),
    AccessCase("staging-verbose-audit-logs-off", "staging", {"access.settings.verbose_audit_logs": False},
               (("access.settings.verbose_audit_logs", "staging requires verbose audit logs"),)),
    AccessCase("prod-token-lifetime-91-days", "prod", {"access.settings.max_token_lifetime_days": 91},
               (("access.settings.max_token_lifetime_days", "prod caps personal access tokens at 90 days"),)),
    # Caps per tier from components/planning/tier_limits.py, the table the policy pack enforces too.
    AccessCase("dev-token-lifetime-181-days", "dev", {"access.settings.max_token_lifetime_days": 181},
               (("access.settings.max_token_lifetime_days", "dev caps personal access tokens at 180 days"),)),
    AccessCase("staging-token-lifetime-91-days", "staging", {"access.settings.max_token_lifetime_days": 91},
               (("access.settings.max_token_lifetime_days", "staging caps personal access tokens at 90 days"),)),
    AccessCase("dev-legacy-global-init-scripts", "dev", {"access.settings.legacy_global_init_scripts": True},
               (("access.settings.legacy_global_init_scripts", "keep them off in every tier"),)),
    AccessCase("prod-legacy-global-init-scripts", "prod", {"access.settings.legacy_global_init_scripts": True},
               (("access.settings.legacy_global_init_scripts", "keep them off in every tier"),
                ("access.settings.legacy_global_init_scripts", "prod requires legacy_global_init_scripts off"))),
    AccessCase("token-lifetime-zero", "dev", {"access.settings.max_token_lifetime_days": 0},
               (("access.settings.max_token_lifetime_days", "greater than or equal to 1"),)),
    AccessCase("token-lifetime-1000", "staging", {"access.settings.max_token_lifetime_days": 1000},
               (("access.settings.max_token_lifetime_days", "less than or equal to 730"),)),
    AccessCase("unknown-setting", "dev", {"access.settings.allow_everything": True},
               (("access.settings.allow_everything", "unknown field"),)),
    AccessCase("setting-not-a-bool", "prod", {"access.settings.web_terminal": "sometimes"},
               (("access.settings.web_terminal", "valid boolean"),)),
    # --- principals ----------------------------------------------------------------------------------------------------
    AccessCase("group-object-id-not-a-guid", "dev", {"access.groups.0.entra_object_id": "data-engineers"},
               (("access.groups.0.entra_object_id", "'data-engineers' is not an Entra ID GUID"),), program=True, fmt="yaml"),
    AccessCase("group-object-id-too-short", "prod", {"access.groups.2.entra_object_id": "8a7b6c5d-4e3f-4a1b-8c2d-1e0f9a8b7c6"},
               (("access.groups.2.entra_object_id", "is not an Entra ID GUID"),)),
    AccessCase("sp-application-id-without-hyphens", "dev", {"access.service_principals.0.application_id": "0d9c8b7a6f5e4d3c9b2a1f0e9d8c7b60"},
               (("access.service_principals.0.application_id", "is not an Entra ID GUID"),)),
    AccessCase("sp-application-id-in-braces", "staging",
               {"access.service_principals.1.application_id": "{5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10}"},
               (("access.service_principals.1.application_id", "is not an Entra ID GUID"),)),
    AccessCase("group-object-id-all-zero", "dev", {"access.groups.1.entra_object_id": "00000000-0000-0000-0000-000000000000"},
               (("access.groups.1.entra_object_id", "'00000000-0000-0000-0000-000000000000' is not an Entra ID GUID"),)),
    AccessCase("group-named-users", "dev", {"access.groups.0.name": "users"},
               (("access.groups.0.name", "'users' is a built-in workspace group"),)),
    AccessCase("group-named-admins", "prod", {"access.groups.2.name": "admins"},
               (("access.groups.2.name", "'admins' is a built-in workspace group"),)),
    AccessCase("group-name-bad-character", "dev", {"access.groups.0.name": "data/engineers"},
               (("access.groups.0.name", "1-100 letters"),)),
    AccessCase("duplicate-group-names", "dev", {"access.groups.1.name": "data-engineers"},
               (("access.groups.1", "the name (ignoring case and punctuation) repeats entry 0"),)),
    AccessCase("duplicate-group-entra-ids-differing-in-case", "dev", {"access.groups.1.entra_object_id": GROUP_OID.upper()},
               (("access.groups.1", "the Entra object id repeats entry 0"),)),
    AccessCase("duplicate-sp-names", "prod", {"access.service_principals.2.name": "etl-jobs"},
               (("access.service_principals.2", "the name (ignoring case and punctuation) repeats entry 1"),)),
    AccessCase("duplicate-sp-application-ids", "prod",
               {"access.service_principals.2.application_id": "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10"},
               (("access.service_principals.2", "the Entra application id repeats entry 1"),)),
    AccessCase("prod-human-group-with-tokens", "prod", {"access.groups.1.can_use_tokens": True},
               (("access.groups.1.can_use_tokens", "prod gives people no personal access tokens"),)),
    # --- identity: who administers prod, who holds tokens, how groups come from Entra ID --------------------------------
    AccessCase("prod-standing-human-admin", "prod", {"access.groups.0.workspace_admin": True},
               (("access.groups.0.workspace_admin", "prod has no standing human workspace admins"),)),
    AccessCase("prod-admin-group-without-break-glass-reason", "prod", {"access.groups.2.break_glass_reason": None},
               (("access.groups.2.workspace_admin", "just-in-time (Entra PIM for Groups)"),)),
    AccessCase("prod-two-break-glass-groups", "prod",
               {"access.groups.1.workspace_admin": True,
                "access.groups.1.break_glass_reason": "A second emergency group for the night shift, also PIM-eligible"},
               (("access.groups.2.break_glass_reason", "prod has one break-glass admin group; groups 1, 2"),)),
    AccessCase("break-glass-reason-on-a-user-group", "dev",
               {"access.groups.0.break_glass_reason": "Emergency access for the data engineers on call"},
               (("access.groups.0.break_glass_reason", "only a workspace_admin group is break-glass"),)),
    AccessCase("break-glass-reason-too-short", "staging", {"access.groups.1.break_glass_reason": "  emergency  "},
               (("access.groups.1.break_glass_reason", "at least 20 characters"),)),
    AccessCase("break-glass-group-with-tokens", "dev",
               {"access.groups.1.break_glass_reason": "Emergency administration through PIM for Groups",
                "access.groups.1.can_use_tokens": True},
               (("access.groups.1.can_use_tokens", "a break-glass group holds no personal access tokens"),)),
    AccessCase("prod-exception-for-human-tokens", "prod",
               {"access.groups.1.can_use_tokens": True, "access.allow_human_tokens": True},
               (("access.groups.1.can_use_tokens", "tokens belong to named service principals"),
                ("access.allow_human_tokens", "prod makes no exception"))),
    AccessCase("staging-human-tokens-without-exception", "staging", {"access.groups.0.can_use_tokens": True},
               (("access.groups.0.can_use_tokens", "staging gives people personal access tokens only with access.allow_human_tokens"),)),
    AccessCase("unknown-identity-sync", "dev", {"access.identity_sync": "manual"},
               (("access.identity_sync", "'automatic' or 'scim'"),)),
    AccessCase("prod-identity-problems-at-once", "prod",
               {"access.groups.0.workspace_admin": True, "access.groups.1.can_use_tokens": True,
                "access.allow_human_tokens": True, "access.groups.2.break_glass_reason": None},
               (("access.groups.0.workspace_admin", "prod has no standing human workspace admins"),
                ("access.groups.2.workspace_admin", "prod has no standing human workspace admins"),
                ("access.groups.1.can_use_tokens", "prod gives people no personal access tokens"),
                ("access.allow_human_tokens", "prod makes no exception")),
               program=True, fmt="yaml"),
    AccessCase("sp-unknown-authentication", "dev", {"access.service_principals.0.authentication": "client_secret"},
               (("access.service_principals.0.authentication", "'entra_oauth' or 'personal_access_token'"),)),
    AccessCase("group-unknown-field", "staging", {"access.groups.0.members": ["alice@example.com"]},
               (("access.groups.0.members", "unknown field"),)),
    # --- cluster policies --------------------------------------------------------------------------------------------------
    AccessCase("policy-named-personal-compute", "prod", {"access.cluster_policies.1.name": "Personal Compute"},
               (("access.cluster_policies.1.name", "'Personal Compute' collides with the built-in policy family"),)),
    AccessCase("policy-named-job-compute", "staging", {"access.cluster_policies.0.name": "Job Compute"},
               (("access.cluster_policies.0.name", "built-in policy family"),)),
    # Built-in family names collide whatever their case.
    AccessCase("policy-named-personal-compute-lowercase", "dev", {"access.cluster_policies.0.name": "personal compute"},
               (("access.cluster_policies.0.name", "built-in policy family"),)),
    AccessCase("duplicate-policy-names", "staging", {"access.cluster_policies.1.name": "brickwall-baseline"},
               (("access.cluster_policies.1", "the policy name (ignoring case and punctuation) repeats entry 0"),)),
    AccessCase("policy-unknown-group", "prod", {"access.cluster_policies.0.groups": ["data-engineers", "data-scientists"]},
               (("access.cluster_policies.0.groups.1", "unknown group 'data-scientists'"),), program=True, fmt="json"),
    AccessCase("policy-unknown-service-principal", "staging", {"access.cluster_policies.1.service_principals": ["etl-job"]},
               (("access.cluster_policies.1.service_principals.0", "unknown service principal 'etl-job'"),)),
    AccessCase("policy-group-named-as-service-principal", "dev", {"access.cluster_policies.0.groups": ["ci-deployer"]},
               (("access.cluster_policies.0.groups.0", "unknown group 'ci-deployer'"),)),
    AccessCase("policy-nobody-may-use", "dev", {"access.cluster_policies.0.groups": []},
               (("access.cluster_policies.0.groups", "nobody may use this policy"),)),
    AccessCase("policy-autotermination-default-above-max", "dev", {"access.cluster_policies.0.autotermination_default": 240},
               (("access.cluster_policies.0.autotermination_default", "240 lies outside autotermination_min..autotermination_max (10-120)"),)),
    AccessCase("policy-autotermination-default-below-min", "staging", {"access.cluster_policies.0.autotermination_default": 5},
               (("access.cluster_policies.0.autotermination_default", "5 lies outside"),)),
    # --- job policies: no autotermination, service principals only, single-user name tied to them --------------------------
    AccessCase("job-policy-with-autotermination", "prod", {"access.cluster_policies.1.autotermination_default": 20,
                                                          "access.cluster_policies.1.autotermination_max": 60},
               (("access.cluster_policies.1.autotermination_default", "takes no autotermination_minutes"),
                ("access.cluster_policies.1.autotermination_max", "takes no autotermination_minutes"))),
    AccessCase("job-policy-for-people", "staging", {"access.cluster_policies.1.groups": ["data-engineers"]},
               (("access.cluster_policies.1.groups", "a job policy serves the service principals jobs run as"),)),
    AccessCase("single-user-job-policy-without-service-principal", "staging",
               {"access.cluster_policies.1.service_principals": []},
               (("access.cluster_policies.1.service_principals", "ties every job cluster to the service principal"),)),
    AccessCase("policy-unknown-cluster-type", "dev", {"access.cluster_policies.0.cluster_type": "dlt"},
               (("access.cluster_policies.0.cluster_type", "'all-purpose' or 'job'"),)),
    # --- compute governance (access.compute) -------------------------------------------------------------------------------
    AccessCase("personal-compute-unknown-group", "prod", {f"{COMPUTE}.personal_compute.groups": ["data-engineers", "everyone"]},
               ((f"{COMPUTE}.personal_compute.groups.1", "unknown group 'everyone'"),)),
    AccessCase("personal-compute-autotermination-too-short", "staging", {f"{COMPUTE}.personal_compute.autotermination_max": 5},
               ((f"{COMPUTE}.personal_compute.autotermination_max", "10 is greater than autotermination_max 5"),)),
    AccessCase("personal-compute-gpu-node-name", "dev", {f"{COMPUTE}.personal_compute.node_types": ["NC6s_v3"]},
               ((f"{COMPUTE}.personal_compute.node_types", "'NC6s_v3' is not an Azure VM size name"),)),
    AccessCase("warehouse-group-without-sql-access", "prod",
               {f"{COMPUTE}.sql_warehouses.0.groups": ["analysts", "data-engineers"]},
               ((f"{COMPUTE}.sql_warehouses.0.groups.1", "group 'data-engineers' lacks databricks_sql_access"),), fmt="json"),
    AccessCase("warehouse-unknown-principals", "prod",
               {f"{COMPUTE}.sql_warehouses.0.groups": ["bi-users"], f"{COMPUTE}.sql_warehouses.0.service_principals": ["etl-job"]},
               ((f"{COMPUTE}.sql_warehouses.0.groups.0", "unknown group 'bi-users'"),
                (f"{COMPUTE}.sql_warehouses.0.service_principals.0", "unknown service principal 'etl-job'"))),
    AccessCase("warehouse-sp-without-sql-access", "prod", {f"{COMPUTE}.sql_warehouses.0.service_principals": ["etl-jobs"]},
               ((f"{COMPUTE}.sql_warehouses.0.service_principals.0", "service principal 'etl-jobs' lacks databricks_sql_access"),)),
    AccessCase("warehouse-for-nobody", "prod", {f"{COMPUTE}.sql_warehouses.0.groups": []},
               ((f"{COMPUTE}.sql_warehouses.0.groups", "nobody may use this warehouse"),)),
    AccessCase("duplicate-warehouse-names", "prod",
               {f"{COMPUTE}.sql_warehouses": [{"name": "analysts", "groups": ["analysts"]}, {"name": "Analysts", "groups": ["analysts"]}]},
               ((f"{COMPUTE}.sql_warehouses.1", "the warehouse name (ignoring case and punctuation) repeats entry 0"),)),
    AccessCase("warehouse-bad-sizes", "prod",
               {f"{COMPUTE}.sql_warehouses.0.min_clusters": 3, f"{COMPUTE}.sql_warehouses.0.max_clusters": 2,
                f"{COMPUTE}.sql_warehouses.0.auto_stop_minutes": 0, f"{COMPUTE}.sql_warehouses.0.cluster_size": "Huge"},
               ((f"{COMPUTE}.sql_warehouses.0.auto_stop_minutes", "greater than or equal to 10"),
                (f"{COMPUTE}.sql_warehouses.0.cluster_size", "'2X-Small'"))),
    AccessCase("warehouse-min-above-max", "prod",
               {f"{COMPUTE}.sql_warehouses.0.min_clusters": 3, f"{COMPUTE}.sql_warehouses.0.max_clusters": 2},
               ((f"{COMPUTE}.sql_warehouses.0.max_clusters", "2 is below min_clusters 3"),)),
    AccessCase("cluster-logs-in-dbfs-with-legacy-dbfs-off", "prod",
               {"access.cluster_policies.0.cluster_log_path": "dbfs:/cluster-logs",
                f"{COMPUTE}.personal_compute.cluster_log_path": "dbfs:/personal-logs"},
               (("access.cluster_policies.0.cluster_log_path", "closes to every cluster"),
                (f"{COMPUTE}.personal_compute.cluster_log_path", "closes to every cluster"))),
    AccessCase("old-runtime-with-legacy-access-off", "prod",
               {"access.cluster_policies.1.lts_versions": ["12.2", "15.4"], f"{COMPUTE}.personal_compute.lts_versions": ["11.3"]},
               (("access.cluster_policies.1.lts_versions", "12.2 predate 13.3 LTS"),
                (f"{COMPUTE}.personal_compute.lts_versions", "11.3 predate 13.3 LTS"))),
    AccessCase("prod-compute-left-ungoverned", "prod",
               {f"{COMPUTE}.personal_compute.account_setting": "unmanaged", f"{COMPUTE}.serverless_egress.mode": "full",
                f"{COMPUTE}.serverless_egress.enforcement": "DRY_RUN", f"{COMPUTE}.disable_legacy_access": False,
                f"{COMPUTE}.disable_legacy_dbfs": False, f"{COMPUTE}.restrict_workspace_admins": False},
               ((f"{COMPUTE}.personal_compute.account_setting", "DELEGATE"),
                (f"{COMPUTE}.serverless_egress.mode", "prod restricts serverless egress"),
                (f"{COMPUTE}.serverless_egress.enforcement", "DRY_RUN only logs"),
                (f"{COMPUTE}.disable_legacy_access", "prod disables legacy access"),
                (f"{COMPUTE}.disable_legacy_dbfs", "legacy DBFS root"),
                (f"{COMPUTE}.restrict_workspace_admins", "prod restricts workspace admins")), program=True),
    AccessCase("serverless-destinations-without-restriction", "staging",
               {f"{COMPUTE}.serverless_egress.mode": "full", f"{COMPUTE}.serverless_egress.allowed_domains": ["pypi.org"]},
               ((f"{COMPUTE}.serverless_egress.allowed_domains", "only a restricted network policy lists allowed destinations"),)),
    AccessCase("serverless-bad-destinations", "staging",
               {f"{COMPUTE}.serverless_egress.allowed_domains": ["https://pypi.org"],
                f"{COMPUTE}.serverless_egress.allowed_storage_accounts": ["Lake-Storage"]},
               ((f"{COMPUTE}.serverless_egress.allowed_domains", "not DNS names"),
                (f"{COMPUTE}.serverless_egress.allowed_storage_accounts", "not storage account names"))),
    AccessCase("compute-unknown-field", "dev", {f"{COMPUTE}.serverless_enabled": False},
               ((f"{COMPUTE}.serverless_enabled", "unknown field"),)),
    AccessCase("policy-min-workers-above-max", "dev", {"access.cluster_policies.0.min_workers": 12},
               (("access.cluster_policies.0.max_workers", "8 is below min_workers 12"),)),
    AccessCase("policy-bad-node-type", "dev", {"access.cluster_policies.0.node_types": ["Standard_D4ds_v5", "D8ds_v5"]},
               (("access.cluster_policies.0.node_types", "'D8ds_v5' is not an Azure VM size name"),)),
    AccessCase("policy-bad-lts-version", "dev", {"access.cluster_policies.0.lts_versions": ["15.4", "16.4 LTS"]},
               (("access.cluster_policies.0.lts_versions", "'16.4 LTS' is not a runtime line like '15.4'"),)),
    AccessCase("policy-init-script-prefix-not-a-volume", "prod",
               {"access.cluster_policies.0.init_scripts_allowed_prefix": "dbfs:/init-scripts"},
               (("access.cluster_policies.0.init_scripts_allowed_prefix", "must lie under /Volumes/<catalog>/<schema>/<volume>/"),)),
    # The init-script route to inter-node encryption is gone (VNet encryption replaces it): the field is unknown.
    AccessCase("policy-encryption-init-script-removed", "prod",
               {"access.cluster_policies.1.encryption_init_script": f"{SCRIPTS}/encrypt-inter-node.sh"},
               (("access.cluster_policies.1.encryption_init_script", "unknown field (not part of the spec)"),)),
    AccessCase("policy-cluster-log-path-abfss", "dev",
               {"access.cluster_policies.0.cluster_log_path": "abfss://logs@st.dfs.core.windows.net/clusters"},
               (("access.cluster_policies.0.cluster_log_path", "must start with dbfs:/ or /Volumes/"),)),
    AccessCase("policy-cluster-log-path-dbfs-root", "staging", {"access.cluster_policies.0.cluster_log_path": "dbfs:/"},
               (("access.cluster_policies.0.cluster_log_path", "must name a folder under dbfs:/"),)),
    AccessCase("policies-without-cost-center-tag", "staging", {"tags": {"owner": "platform-team"}},
               (("tags", "'cost-center' tag"),)),
    # A blank cost-center would fail inside the program (baseline_policy): the spec rejects it first.
    AccessCase("policies-with-blank-cost-center-tag", "dev", {"tags.cost-center": "  "},
               (("tags", "cost-center"),)),
    # --- several problems at once ---------------------------------------------------------------------------------------------
    AccessCase("prod-weakened-in-every-access-part", "prod",
               {"workspace.public_network_access": "Enabled", "access.settings.results_download": True,
                "access.groups.0.can_use_tokens": True, "tags": {"owner": "platform-team"}},
               (("workspace.public_network_access", "prod requires public network access Disabled"),
                ("access.settings.results_download", "prod requires results_download off"),
                ("access.groups.0.can_use_tokens", "prod gives people no personal access tokens"),
                ("tags", "'cost-center' tag"))),
    AccessCase("field-problems-in-every-access-part", "dev",
               {"network.egress.mode": "proxy", f"{IP}.break_glass": ["10.0.0.0/8"], f"{IP}.allow.0.label": "break-glass",
                "access.groups.0.entra_object_id": "x", "access.service_principals.0.authentication": "password",
                "access.settings.max_token_lifetime_days": 0},
               (("network.egress.mode", "'nat_gateway' or 'firewall'"),
                (f"{IP}.break_glass", NON_PUBLIC), (f"{IP}.allow.0.label", "reserved"),
                ("access.groups.0.entra_object_id", "not an Entra ID GUID"),
                ("access.service_principals.0.authentication", "'entra_oauth' or 'personal_access_token'"),
                ("access.settings.max_token_lifetime_days", "greater than or equal to 1")),
               program=True, fmt="yaml"),
    AccessCase("prod-floors-in-several-sections", "prod",
               {"workspace.public_network_access": "Enabled", "naming.prefix": "1bw", f"{IP}.enabled": False,
                "access.settings.web_terminal": True, "access.settings.max_token_lifetime_days": 365},
               (("workspace.public_network_access", "prod requires public network access Disabled"),
                ("naming.prefix", "starting with a letter"),
                (f"{IP}.enabled", "prod requires IP access lists"),
                ("access.settings.web_terminal", "prod requires web_terminal off"),
                ("access.settings.max_token_lifetime_days", "prod caps personal access tokens at 90 days"))),
    # An invalid access.ip_access does not hide the reference checks (duplicates, unknown principals).
    AccessCase("references-and-lockout-together", "staging",
               {f"{IP}.block": [{"label": "bad", "cidrs": ["52.174.20.0/24"]}], "access.cluster_policies.0.groups": ["nobody"],
                "access.service_principals.1.name": "ci-deployer", "name": "Staging"},
               ((f"{IP}.block.0.cidrs.0", "blocks the break-glass range"),
                ("access.cluster_policies.0.groups.0", "unknown group 'nobody'"),
                ("access.cluster_policies.1.service_principals.0", "unknown service principal 'etl-jobs'"),
                ("access.service_principals.1", "the name (ignoring case and punctuation) repeats entry 0"),
                ("name", "lowercase"))),
    # Next three: one invalid part of `access` (a GUID, a cluster-policy option) does not hide the cross-field
    # rules that read its valid parts (tier floors, lockout, human tokens, the cost-center tag).
    AccessCase("prod-bad-guid-beside-floors-and-tokens", "prod",
               {"access.groups.0.entra_object_id": "not-a-guid", "access.settings.web_terminal": True,
                "access.groups.1.can_use_tokens": True, "workspace.no_public_ip": False},
               (("access.groups.0.entra_object_id", "not an Entra ID GUID"),
                ("access.settings.web_terminal", "prod requires web_terminal off"),
                ("access.groups.1.can_use_tokens", "prod gives people no personal access tokens"),
                ("workspace.no_public_ip", "never turned off"))),
    AccessCase("staging-bad-policy-beside-floors", "staging",
               {f"{IP}.enabled": False, "access.settings.legacy_global_init_scripts": True,
                "access.cluster_policies.1.max_workers": 0},
               ((f"{IP}.enabled", "staging requires IP access lists"),
                ("access.settings.legacy_global_init_scripts", "keep them off in every tier"),
                ("access.cluster_policies.1.max_workers", "0 is below min_workers 1"))),
    AccessCase("dev-bad-policy-beside-lockout-and-tags", "dev",
               {"access.cluster_policies.0.lts_versions": ["15"], f"{IP}.break_glass": [], "tags": {"owner": "platform-team"}},
               (("access.cluster_policies.0.lts_versions", "'15' is not a runtime line"),
                (f"{IP}.break_glass", "locks every administrator out"),
                ("tags", "'cost-center' tag"))),
]

PROGRAM_CASES = [c for c in CASES if c.program]


def test_case_ids_are_unique_and_numerous() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 30
    assert sum(len({p for p, _ in c.expected}) >= 3 for c in CASES) >= 3
    # Each program case renders a stack (~10 s): a handful proves nothing registers; the rest validate the spec only.
    assert 4 <= len(PROGRAM_CASES) <= 7


def test_bases_are_valid_and_edit_changes_only_what_it_names() -> None:
    for name in (*stacks.KNOWN_STACKS, "min-dev", "min-prod"):
        EnvironmentSpec.model_validate(base(name))
    data = base("prod")
    changed = edit(data, {"access.groups.1.name": "analysts-eu", f"{IP}.block.0.cidrs.0": "45.155.206.0/24"})
    assert changed["access"]["groups"][1]["name"] == "analysts-eu"
    assert changed["access"]["ip_access"]["block"][0]["cidrs"] == ["45.155.206.0/24"]
    assert data == base("prod")  # the base itself is untouched
    assert edit(data, {f"{IP}.break_glass": DELETE})["access"]["ip_access"].get("break_glass") is None


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_access_reports_every_problem_at_its_path(case: AccessCase) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_access_is_rejected_by_the_file_loader(case: AccessCase, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_invalid_access(case: AccessCase, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, "dev")


# Specs the validator accepts whose names collide once turned into resource names (labels lower-cased with
# spaces as hyphens, group and policy names slugged), or whose values only fail inside the program. Either the
# spec is rejected cleanly, or the program registers everything; it never crashes.
COLLISIONS = {
    "labels-differing-in-space-and-hyphen": ("dev", {f"{IP}.allow": [{"label": "office vpn", "cidrs": ["194.8.240.0/24"]},
                                                                       {"label": "office-vpn", "cidrs": ["194.8.242.0/24"]}]}),
    "label-differing-from-reserved-in-case": ("dev", {f"{IP}.allow.0.label": "Break-Glass"}),
    "group-names-with-the-same-slug": ("dev", {"access.groups.1.name": "Data Engineers"}),
    "policy-names-with-the-same-slug": ("staging", {"access.cluster_policies.1.name": "brickwall baseline"}),
    "blank-cost-center-tag": ("dev", {"tags.cost-center": "  "}),
}


@pytest.mark.parametrize(("stack", "changes"), [pytest.param(*v, id=k) for k, v in COLLISIONS.items()])
def test_program_never_crashes_on_colliding_names(stack: str, changes: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(edit(base(stack), changes)))
    try:
        rec = project.run("dev", spec_file=path)
    except ProgramError as exc:
        assert isinstance(exc.original, pulumi.RunError), str(exc)
        assert "Traceback" not in str(exc)
        assert "  - " in str(exc)
        assert exc.registrations == []
        return
    urns = [r.urn for r in rec.registrations]
    assert len(urns) == len(set(urns))


# --- what each tier accepts ----------------------------------------------------------------------------------------------


def test_dev_accepts_an_allow_list_open_to_the_internet() -> None:
    spec = EnvironmentSpec.model_validate(edit(base("dev"), {f"{IP}.allow.0.cidrs": ["0.0.0.0/0"]}))
    assert ("office", ("0.0.0.0/0",)) in spec.access.ip_access.allow_lists()


def test_dev_with_lists_disabled_needs_no_break_glass_or_ci_egress() -> None:
    data = edit(base("dev"), {f"{IP}.enabled": False, f"{IP}.break_glass": [], f"{IP}.ci_egress": []})
    spec = EnvironmentSpec.model_validate(data)
    assert spec.access.ip_access.enabled is False
    assert spec.access.ip_access.break_glass == ()
    minimal = EnvironmentSpec.model_validate(edit(base("min-dev"), {"access": {"ip_access": {"enabled": False}}}))
    assert minimal.access.ip_access.enabled is False


def test_private_front_end_needs_no_ci_egress() -> None:
    """The deployer reaches a staging or prod workspace through its private front end, which the lists never see."""
    for stack in ("staging", "prod"):
        spec = EnvironmentSpec.model_validate(edit(base(stack), {f"{IP}.ci_egress": []}))
        assert spec.access.ip_access.ci_egress == ()


def test_prod_accepts_one_break_glass_admin_group_and_staging_human_tokens_by_exception() -> None:
    prod = EnvironmentSpec.model_validate(base("prod"))
    assert [g.name for g in prod.access.groups if g.workspace_admin] == ["databricks-prod-break-glass"]
    assert prod.access.groups[2].break_glass_reason is not None and prod.access.identity_sync == "automatic"
    data = edit(base("staging"), {"access.groups.0.can_use_tokens": True, "access.allow_human_tokens": True,
                                  "access.settings.max_token_lifetime_days": 90})
    assert EnvironmentSpec.model_validate(data).access.settings.max_token_lifetime_days == 90
    # Dev needs no exception, and may keep a standing admin group.
    dev = EnvironmentSpec.model_validate(edit(base("dev"), {"access.identity_sync": "scim"}))
    assert dev.access.groups[0].can_use_tokens and dev.access.groups[1].workspace_admin and dev.access.identity_sync == "scim"


def test_dev_accepts_a_token_lifetime_at_its_cap() -> None:
    data = edit(base("dev"), {"access.settings.max_token_lifetime_days": 180})
    assert EnvironmentSpec.model_validate(data).access.settings.max_token_lifetime_days == 180


def test_exactly_the_quota_of_ip_values_is_accepted() -> None:
    # min-dev already lists one break-glass and one CI range.
    data = edit(base("min-dev"), {f"{IP}.allow": [{"label": "partners", "cidrs": public_ips(MAX_IP_ACCESS_VALUES - 2)}]})
    assert EnvironmentSpec.model_validate(data).access.ip_access.value_count == MAX_IP_ACCESS_VALUES
