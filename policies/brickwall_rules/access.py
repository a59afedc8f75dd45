"""Databricks workspace access rules: IP access lists, token lifetime, cluster policies, the explicit provider, compute governance."""

from __future__ import annotations

import json

from pulumi_policy import Policy, ResourceValidationArgs, StackValidationArgs

from brickwall_rules.base import TIER_CONFIG, Say, as_list, dig, is_secret, of_type, resource_rule, stack_rule, tier_of
from components.planning.tier_limits import MAX_TOKEN_LIFETIME_DAYS

WORKSPACE_CONF = "databricks:index/workspaceConf:WorkspaceConf"


def _check_ip_lists_enabled(args: ResourceValidationArgs, report: Say) -> None:
    value = dig(args.props, "customConfig.enableIpAccessLists")
    if str(value).lower() != "true":
        report(f"customConfig.enableIpAccessLists is {value!r}: IP access lists are stored but not enforced")


IP_ACCESS_LISTS_ENABLED = resource_rule(
    "databricks-ip-access-lists-enabled",
    "The workspace conf turns IP access lists on (enableIpAccessLists 'true').",
    "Set customConfig.enableIpAccessLists to 'true' (spec access.ip_access.enabled).",
    [WORKSPACE_CONF],
    _check_ip_lists_enabled,
)


def _check_token_lifetime(args: ResourceValidationArgs, report: Say) -> None:
    tier = tier_of(args.urn, args.get_config())
    limit = MAX_TOKEN_LIFETIME_DAYS[tier]
    value = dig(args.props, "customConfig.maxTokenLifetimeDays")
    if value is None:
        if str(dig(args.props, "customConfig.enableTokensConfig", "true")).lower() == "true":
            report(f"maxTokenLifetimeDays is unset: personal access tokens never expire (tier {tier} allows at most {limit} days)")
        return
    try:
        days = int(float(str(value)))
    except ValueError:
        report(f"maxTokenLifetimeDays is {value!r}, not a number of days")
        return
    if days <= 0 or days > limit:
        report(f"maxTokenLifetimeDays is {days}: tier {tier} allows at most {limit} days")


TOKEN_LIFETIME = resource_rule(
    "databricks-token-lifetime-within-tier-limit",
    "Personal access tokens expire within the tier's limit (" + ", ".join(f"{t} {d}" for t, d in MAX_TOKEN_LIFETIME_DAYS.items()) + " days).",
    "Set customConfig.maxTokenLifetimeDays (spec access.settings.max_token_lifetime_days) at or below the tier's limit.",
    [WORKSPACE_CONF],
    _check_token_lifetime,
    config_schema=TIER_CONFIG,
)


def _check_ip_list_open(args: ResourceValidationArgs, report: Say) -> None:
    tier = tier_of(args.urn, args.get_config())
    if tier == "dev" or str(dig(args.props, "listType", "")).upper() != "ALLOW" or dig(args.props, "enabled", True) is False:
        return
    wide = [str(a) for a in as_list(dig(args.props, "ipAddresses")) if str(a) in ("0.0.0.0/0", "0.0.0.0", "::/0", "*")]
    if wide:
        report(f"ALLOW list {dig(args.props, 'label') or args.name!r} admits {', '.join(wide)} in tier {tier}: every address may reach the workspace")


IP_LIST_NOT_OPEN = resource_rule(
    "databricks-ip-access-list-not-open",
    "Outside dev, no enabled ALLOW IP access list admits 0.0.0.0/0.",
    "List the operators', CI and office egress ranges instead of 0.0.0.0/0.",
    ["databricks:index/ipAccessList:IpAccessList"],
    _check_ip_list_open,
    config_schema=TIER_CONFIG,
)

INIT_SCRIPT_KINDS = ("abfss", "dbfs", "file", "volumes", "workspace")
LOCKED_TYPES = {"fixed", "forbidden", "regex", "allowlist"}
UNSAFE_SECURITY_MODES = {"NONE", "NO_ISOLATION", "LEGACY_PASSTHROUGH", "LEGACY_TABLE_ACL", "LEGACY_SINGLE_USER"}


def _check_cluster_policy(args: ResourceValidationArgs, report: Say) -> None:
    # A built-in policy (Personal Compute) carries its rules as overrides of its family's definition.
    raw = dig(args.props, "policyFamilyDefinitionOverrides") if dig(args.props, "policyFamilyId") else dig(args.props, "definition")
    if raw is None or is_secret(raw):
        return
    try:
        definition = json.loads(str(raw))
    except ValueError:
        report("the cluster policy definition is not valid JSON")
        return
    problems = []
    mode = definition.get("data_security_mode") or {}
    allowed = {str(mode.get("value"))} if mode.get("type") == "fixed" else {str(v) for v in mode.get("values", [])}
    if mode.get("type") not in ("fixed", "allowlist") or mode.get("isOptional") or allowed & UNSAFE_SECURITY_MODES or not allowed:
        problems.append("data_security_mode is not fixed to an isolating access mode")
    kind = definition.get("cluster_type") or {}
    if kind.get("type") != "fixed" or kind.get("value") not in ("all-purpose", "job"):
        problems.append("cluster_type is not pinned to all-purpose or job")
    auto = definition.get("autotermination_minutes") or {}
    if kind.get("value") == "job":
        # Job clusters end with their run and take no autotermination_minutes (Jobs API): a job policy must not require it.
        if auto and auto.get("type") not in ("forbidden",) and not auto.get("isOptional"):
            problems.append("a job policy requires autotermination_minutes, which job clusters cannot carry")
    elif auto.get("type") == "fixed":
        if not isinstance(auto.get("value"), (int, float)) or auto["value"] <= 0:
            problems.append("autotermination_minutes is fixed to no termination")
    elif auto.get("type") == "range":
        if not isinstance(auto.get("maxValue"), (int, float)) or auto.get("minValue", 0) <= 0 or auto.get("isOptional"):
            problems.append("autotermination_minutes range lets clusters run forever (needs minValue > 0 and a maxValue)")
    else:
        problems.append("autotermination_minutes is not locked")
    if (definition.get("init_scripts") or {}).get("type") != "forbidden":
        unlocked = [k for k in INIT_SCRIPT_KINDS if (definition.get(f"init_scripts.*.{k}.destination") or {}).get("type") not in LOCKED_TYPES]
        if unlocked:
            problems.append(f"init scripts from {', '.join(unlocked)} are not locked")
    if problems:
        report(f"cluster policy {dig(args.props, 'name') or args.name!r}: {'; '.join(problems)}")


CLUSTER_POLICY_LOCKS = resource_rule(
    "databricks-cluster-policy-locks-security",
    "Cluster policies (and overrides of built-in ones) pin cluster_type and lock data_security_mode, autotermination_minutes "
    "(all-purpose) and every init-script source.",
    "In the definition: cluster_type {type: fixed, value: all-purpose|job}; data_security_mode {type: fixed, value: "
    "USER_ISOLATION|SINGLE_USER}; on an all-purpose policy autotermination_minutes as a range with minValue > 0 and "
    "maxValue (a job policy leaves it out); init_scripts.*.<abfss|dbfs|file|volumes|workspace>.destination forbidden "
    "or pinned (fixed/regex/allowlist).",
    ["databricks:index/clusterPolicy:ClusterPolicy"],
    _check_cluster_policy,
)


def _check_databricks_provider(args: StackValidationArgs, report: Say) -> None:
    for res in args.resources:
        if not res.resource_type.startswith("databricks:"):
            continue
        provider = res.provider
        if provider is None or provider.name.startswith("default"):
            report(f"{res.resource_type} {res.name!r} uses the default Databricks provider (ambient DATABRICKS_* settings decide the workspace)",
                   res.urn)


DATABRICKS_EXPLICIT_PROVIDER = stack_rule(
    "databricks-explicit-provider",
    "Every databricks: resource names the workspace's explicit provider.",
    "Pass ResourceOptions(provider=<the workspace's pulumi_databricks.Provider>) and keep "
    "pulumi:disable-default-providers ['*'] in the stack file.",
    _check_databricks_provider,
)


def _check_warehouse_auto_stop(args: ResourceValidationArgs, report: Say) -> None:
    # auto_stop_mins: 0 means never stop; the API takes 0 or at least 10 (databricks-sdk sql.CreateWarehouseRequest).
    value = dig(args.props, "autoStopMins")
    if value is not None and (not isinstance(value, (int, float)) or value < 10):
        report(f"SQL warehouse {dig(args.props, 'name') or args.name!r} has autoStopMins {value!r}: it never stops when idle")


WAREHOUSE_AUTO_STOP = resource_rule(
    "databricks-sql-warehouse-auto-stops",
    "SQL warehouses stop when idle (autoStopMins at least 10, never 0).",
    "Set access.compute.sql_warehouses[].auto_stop_minutes (10 or more); 0 keeps a warehouse running forever.",
    ["databricks:index/sqlEndpoint:SqlEndpoint"],
    _check_warehouse_auto_stop,
)


def _check_compute_governed(args: StackValidationArgs, report: Say) -> None:
    """In prod, a stack with Databricks workspace resources governs every other compute path too."""
    anchor = next((r for r in args.resources if r.resource_type == WORKSPACE_CONF), None)
    if anchor is None or tier_of(anchor.urn, args.get_config()) != "prod":
        return

    def any_with(type_: str, path: str, value: object) -> bool:
        return any(dig(r.props, path) == value for r in of_type(args, f"databricks:index/{type_}"))

    if not any_with("disableLegacyAccessSetting:DisableLegacyAccessSetting", "disableLegacyAccess.value", True):
        report("legacy access is not disabled (DisableLegacyAccessSetting value true)", anchor.urn)
    if not any_with("disableLegacyDbfsSetting:DisableLegacyDbfsSetting", "disableLegacyDbfs.value", True):
        report("the legacy DBFS root and mounts are not disabled (DisableLegacyDbfsSetting value true)", anchor.urn)
    if not any_with("restrictWorkspaceAdminsSetting:RestrictWorkspaceAdminsSetting", "restrictWorkspaceAdmins.status",
                    "RESTRICT_TOKENS_AND_JOB_RUN_AS"):
        report("workspace admins are not restricted (RestrictWorkspaceAdminsSetting RESTRICT_TOKENS_AND_JOB_RUN_AS)", anchor.urn)
    if not any_with("accountSettingV2:AccountSettingV2", "personalCompute.value", "DELEGATE"):
        report("the account's Personal Compute setting is not DELEGATE: every user may use Personal Compute", anchor.urn)
    if not any(dig(p.props, "policyFamilyId") == "personal-vm" for p in of_type(args, "databricks:index/clusterPolicy:ClusterPolicy")):
        report("the built-in Personal Compute policy is not overridden with the baseline's locks", anchor.urn)
    restricted = {dig(p.props, "networkPolicyId") for p in of_type(args, "databricks:index/accountNetworkPolicy:AccountNetworkPolicy")
                  if dig(p.props, "egress.networkAccess.restrictionMode") == "RESTRICTED_ACCESS"
                  and dig(p.props, "egress.networkAccess.policyEnforcement.enforcementMode", "ENFORCED") == "ENFORCED"}
    bound = {dig(o.props, "networkPolicyId") for o in of_type(args, "databricks:index/workspaceNetworkOption:WorkspaceNetworkOption")}
    if not restricted & bound:
        report("serverless egress is not bound to a restricted, enforced network policy (WorkspaceNetworkOption -> "
               "AccountNetworkPolicy RESTRICTED_ACCESS, ENFORCED)", anchor.urn)


COMPUTE_GOVERNED_IN_PROD = stack_rule(
    "databricks-compute-governed-in-prod",
    "In prod, every compute path is governed: legacy access and DBFS disabled, workspace admins restricted, Personal "
    "Compute delegated and overridden, serverless egress bound to a restricted, enforced network policy.",
    "Keep the prod floors of access.compute (components/spec/compute.py); WorkspaceAccessControl creates the settings, "
    "the Personal Compute override and the network policy with its workspace binding.",
    _check_compute_governed,
    config_schema=TIER_CONFIG,
)


RULES: list[Policy] = [
    IP_ACCESS_LISTS_ENABLED,
    TOKEN_LIFETIME,
    IP_LIST_NOT_OPEN,
    CLUSTER_POLICY_LOCKS,
    DATABRICKS_EXPLICIT_PROVIDER,
    WAREHOUSE_AUTO_STOP,
    COMPUTE_GOVERNED_IN_PROD,
]
