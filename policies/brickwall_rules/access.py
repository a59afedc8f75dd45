"""Databricks workspace access rules: IP access lists, token lifetime, cluster policies, the explicit provider,
account groups only, the prod break-glass admin, compute governance."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

from brickwall_rules.base import TIER_CONFIG, Say, as_list, dig, is_secret, of_type, resource_rule, stack_rule, stack_tier
from components.planning.tier_limits import MAX_TOKEN_LIFETIME_DAYS
from components.planning.workspace_settings import ALL_KEYS, IP_ACCESS_LISTS_KEY

WORKSPACE_CONF = "databricks:index/workspaceConf:WorkspaceConf"


def _check_ip_lists_enabled(args: ResourceValidationArgs, report: Say) -> None:
    # The conf is split by concern: the group that holds the switch answers for it, and
    # databricks-workspace-conf-complete makes sure some group holds it.
    config = dig(args.props, "customConfig") or {}
    if IP_ACCESS_LISTS_KEY.key not in config:
        return
    value = config[IP_ACCESS_LISTS_KEY.key]
    if str(value).lower() != "true":
        report(f"customConfig.enableIpAccessLists is {value!r}: IP access lists are stored but not enforced")


IP_ACCESS_LISTS_ENABLED = resource_rule(
    "databricks-ip-access-lists-enabled",
    "The workspace conf turns IP access lists on (enableIpAccessLists 'true').",
    "Set customConfig.enableIpAccessLists to 'true' (spec access.ip_access.enabled).",
    [WORKSPACE_CONF],
    _check_ip_lists_enabled,
)


def token_lifetime_problems(props: Any, tier: str) -> list[str]:
    """What the token-lifetime rule says about one WorkspaceConf's inputs in `tier`."""
    config = dig(props, "customConfig") or {}
    if not {"maxTokenLifetimeDays", "enableTokensConfig"} & set(config):
        return []  # another concern's group: the tokens group answers for tokens
    limit = MAX_TOKEN_LIFETIME_DAYS[tier]
    value = dig(props, "customConfig.maxTokenLifetimeDays")
    if value is None:
        if str(dig(props, "customConfig.enableTokensConfig", "true")).lower() == "true":
            return [f"maxTokenLifetimeDays is unset: personal access tokens never expire (tier {tier} allows at most {limit} days)"]
        return []
    try:
        days = int(float(str(value)))
    except ValueError:
        return [f"maxTokenLifetimeDays is {value!r}, not a number of days"]
    if days <= 0 or days > limit:
        return [f"maxTokenLifetimeDays is {days}: tier {tier} allows at most {limit} days"]
    return []


def _check_token_lifetime(args: StackValidationArgs, report: Say) -> None:
    # A stack rule: a WorkspaceConf carries no tags, so the tier comes from the stack (stack_tier).
    tier = stack_tier(args)
    for res in of_type(args, WORKSPACE_CONF):
        for problem in token_lifetime_problems(res.props, tier):
            report(problem, res.urn)


TOKEN_LIFETIME = stack_rule(
    "databricks-token-lifetime-within-tier-limit",
    "Personal access tokens expire within the tier's limit (" + ", ".join(f"{t} {d}" for t, d in MAX_TOKEN_LIFETIME_DAYS.items()) + " days).",
    "Set customConfig.maxTokenLifetimeDays (spec access.settings.max_token_lifetime_days) at or below the tier's limit.",
    _check_token_lifetime,
    config_schema=TIER_CONFIG,
)


def _check_ip_list_open(args: StackValidationArgs, report: Say) -> None:
    tier = stack_tier(args)
    if tier == "dev":
        return
    for res in of_type(args, "databricks:index/ipAccessList:IpAccessList"):
        if str(dig(res.props, "listType", "")).upper() != "ALLOW" or dig(res.props, "enabled", True) is False:
            continue
        wide = [str(a) for a in as_list(dig(res.props, "ipAddresses")) if str(a) in ("0.0.0.0/0", "0.0.0.0", "::/0", "*")]
        if wide:
            report(f"ALLOW list {dig(res.props, 'label') or res.name!r} admits {', '.join(wide)} in tier {tier}: "
                   "every address may reach the workspace", res.urn)


IP_LIST_NOT_OPEN = stack_rule(
    "databricks-ip-access-list-not-open",
    "Outside dev, no enabled ALLOW IP access list admits 0.0.0.0/0.",
    "List the operators', CI and office egress ranges instead of 0.0.0.0/0.",
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


def _check_conf_complete(args: StackValidationArgs, report: Say) -> None:
    confs = [r for r in args.resources if r.resource_type == WORKSPACE_CONF]
    if not confs:
        return
    setters: dict[str, list[str]] = {}
    for res in confs:
        for key in dig(res.props, "customConfig") or {}:
            setters.setdefault(str(key), []).append(res.name)
    missing = [c.key for c in ALL_KEYS if c.key not in setters]
    if missing:
        report(f"no workspace conf sets {', '.join(missing)}: the workspace keeps its own defaults for them", confs[0].urn)
    for key, names in sorted(setters.items()):
        if len(names) > 1:
            report(f"{key} is set by {len(names)} workspace confs ({', '.join(sorted(names))}): which one wins is not "
                   "deterministic", confs[0].urn)


WORKSPACE_CONF_COMPLETE = stack_rule(
    "databricks-workspace-conf-complete",
    "Every security setting of the workspace-conf table is written, by exactly one WorkspaceConf.",
    "Keep every key of components/planning/workspace_settings.py ALL_KEYS in one group (conf_groups).",
    _check_conf_complete,
)


GROUP = "databricks:index/group:Group"
ACCOUNT_ASSIGNMENT = "databricks:index/mwsPermissionAssignment:MwsPermissionAssignment"
WORKSPACE_ASSIGNMENT = "databricks:index/permissionAssignment:PermissionAssignment"
USER = "databricks:index/user:User"
# Account console hosts (Databricks provider docs, "Authentication": accounts.azuredatabricks.net on Azure,
# accounts.cloud.databricks.com on AWS, accounts.gcp.databricks.com on GCP).
ACCOUNT_HOSTS = ("accounts.azuredatabricks.net", "accounts.cloud.databricks.com", "accounts.gcp.databricks.com")


def _is_account_provider(props: Any) -> bool:
    host = str(dig(props, "host", "") or "").lower().removeprefix("https://").rstrip("/")
    return host in ACCOUNT_HOSTS and bool(dig(props, "accountId"))


def _check_no_workspace_local_group(args: ResourceValidationArgs, report: Say) -> None:
    provider = args.provider
    if provider is None or not _is_account_provider(provider.props):
        report(f"group {dig(args.props, 'displayName') or args.name!r} is created through a workspace provider: a "
               "workspace-local group, which neither follows Entra ID nor can be granted Unity Catalog privileges")


NO_WORKSPACE_LOCAL_GROUPS = resource_rule(
    "databricks-no-workspace-local-groups",
    "Groups are account groups (Entra ID) assigned to the workspace, never workspace-local databricks Groups.",
    "Name the Entra group in access.groups: the toolkit resolves it in the account and assigns it to the workspace "
    "(MwsPermissionAssignment); a Group, if any, goes through the account provider.",
    [GROUP],
    _check_no_workspace_local_group,
)


def _admin_assignments(args: StackValidationArgs) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type in (ACCOUNT_ASSIGNMENT, WORKSPACE_ASSIGNMENT)
            and "ADMIN" in [str(p).upper() for p in as_list(dig(r.props, "permissions"))]]


def _check_prod_admins(args: StackValidationArgs, report: Say) -> None:
    admins = _admin_assignments(args)
    if not admins or stack_tier(args) != "prod":
        return
    for res in admins:
        if dig(res.props, "userName") or any(d.resource_type == USER for d in res.dependencies):
            report(f"{res.name!r} makes a person workspace admin: prod has no standing human admins", res.urn)
    if len(admins) > 1:
        report(f"{len(admins)} ADMIN workspace assignments ({', '.join(sorted(r.name for r in admins))}): prod has one, "
               "the just-in-time break-glass group", admins[1].urn)


PROD_ADMINS_BREAK_GLASS_ONLY = stack_rule(
    "databricks-prod-admin-is-break-glass-only",
    "In prod at most one principal is assigned to the workspace as ADMIN (the break-glass group), never a user.",
    "Administer prod as the deploying service principal; give people admin only through the one break-glass group "
    "(access.groups workspace_admin with break_glass_reason, membership through Entra PIM for Groups).",
    _check_prod_admins,
    config_schema=TIER_CONFIG,
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
    if anchor is None or stack_tier(args) != "prod":
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
    WORKSPACE_CONF_COMPLETE,
    TOKEN_LIFETIME,
    IP_LIST_NOT_OPEN,
    CLUSTER_POLICY_LOCKS,
    DATABRICKS_EXPLICIT_PROVIDER,
    NO_WORKSPACE_LOCAL_GROUPS,
    PROD_ADMINS_BREAK_GLASS_ONLY,
    WAREHOUSE_AUTO_STOP,
    COMPUTE_GOVERNED_IN_PROD,
]
