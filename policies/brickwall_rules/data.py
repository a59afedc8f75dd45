"""Data source rules: hardened storage accounts, a private data lake, private Entra-only Azure SQL, least-privilege
roles on the lake, and data-bearing resources protected in prod.

Which storage accounts count as a data lake: a hierarchical namespace (`isHnsEnabled`), or the tag `data-lake`
set to "true". Every storage account (the data lake and, for example, a flow-log store) must use TLS 1.2, HTTPS
only, Entra ID only (no shared keys), no public blob access and a default-deny firewall; only data lakes must also
have public network access Disabled, because a flow-log store is written by Network Watcher as a trusted Azure
service over the public endpoint (firewall default deny with the AzureServices bypass).

Role definition ids are Azure's fixed built-in role GUIDs, read from the dependency-free table in
components/planning/roles.py that the components assign from too.
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import (
    PRIVATE_ENDPOINT,
    TIER_CONFIG,
    Say,
    arm_key,
    arm_key_for,
    dig,
    endpoint_groups,
    of_type,
    resource_rule,
    stack_rule,
    tier_of,
)
from components.planning.roles import BUILT_IN_ROLES

STORAGE_ACCOUNT = az.STORAGE_ACCOUNT.token
SQL_SERVER = az.SQL_SERVER.token
SQL_DATABASE = az.SQL_DATABASE.token
ROLE_ASSIGNMENT = az.ROLE_ASSIGNMENT.token
ZONE_GROUP = az.PRIVATE_DNS_ZONE_GROUP.token

# The data-plane roles Databricks may hold on a lake container.
LAKE_ROLES: dict[str, str] = {BUILT_IN_ROLES[name]: name for name in ("Storage Blob Data Contributor", "Storage Blob Data Reader")}
# Broad roles named in the message when they show up on a lake (any role not in LAKE_ROLES is refused).
BROAD_ROLES: dict[str, str] = {
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
    "b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
    "18d7d88d-d35e-4fb5-a5c3-7773c4a72abd": "User Access Administrator",
    "17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
    "81a9662b-bebf-436f-a333-f67b29880f12": "Storage Account Key Operator Service Role",
    "c12c1c16-33a1-487b-954d-41c89c60f349": "Reader and Data Access",
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
}


def is_data_lake(props: Any) -> bool:
    return dig(props, "isHnsEnabled") is True or str(dig(props, "tags.data-lake", "")).lower() == "true"


def _account_name(res_props: Any, fallback: str) -> str:
    return str(dig(res_props, "accountName") or dig(res_props, "name") or fallback)


def storage_key(res: PolicyResource) -> str:
    rg = dig(res.props, "resourceGroupName", "")
    name = _account_name(res.props, res.name)
    return arm_key(dig(res.props, "id") or arm_key_for(az.STORAGE_ACCOUNT, rg, name))


def sql_server_key(res: PolicyResource) -> str:
    rg = dig(res.props, "resourceGroupName", "")
    name = dig(res.props, "serverName") or dig(res.props, "name") or res.name
    return arm_key(dig(res.props, "id") or arm_key_for(az.SQL_SERVER, rg, name))


# --- every storage account -----------------------------------------------------------------------------------


def _check_tls(args: ResourceValidationArgs, report: Say) -> None:
    value = dig(args.props, "minimumTlsVersion")
    if str(value) not in ("TLS1_2", "TLS1_3"):
        report(f"storage account {_account_name(args.props, args.name)!r} has minimumTlsVersion {value!r}: "
               "clients may connect with TLS 1.0/1.1")


STORAGE_TLS = resource_rule(
    "storage-account-tls-1-2",
    "Storage accounts accept TLS 1.2 or later only (minimumTlsVersion TLS1_2).",
    "Set minimumTlsVersion to 'TLS1_2'.",
    [STORAGE_ACCOUNT],
    _check_tls,
)


def _check_shared_key(args: ResourceValidationArgs, report: Say) -> None:
    value = dig(args.props, "allowSharedKeyAccess")
    if value is not False:
        report(f"storage account {_account_name(args.props, args.name)!r} has allowSharedKeyAccess {value!r} "
               "(unset means true): anyone holding an account key or account SAS reads every byte, unlogged by identity")


STORAGE_NO_SHARED_KEY = resource_rule(
    "storage-account-no-shared-key",
    "Storage accounts authorize with Entra ID only (allowSharedKeyAccess false).",
    "Set allowSharedKeyAccess to false (and defaultToOAuthAuthentication to true); grant data roles to identities.",
    [STORAGE_ACCOUNT],
    _check_shared_key,
)


def _check_https(args: ResourceValidationArgs, report: Say) -> None:
    value = dig(args.props, "enableHttpsTrafficOnly")
    if value is not True:
        report(f"storage account {_account_name(args.props, args.name)!r} has enableHttpsTrafficOnly {value!r}: "
               "plain HTTP requests are not refused explicitly")


STORAGE_HTTPS_ONLY = resource_rule(
    "storage-account-https-only",
    "Storage accounts refuse plain HTTP (enableHttpsTrafficOnly true, set explicitly).",
    "Set enableHttpsTrafficOnly to true.",
    [STORAGE_ACCOUNT],
    _check_https,
)


def _check_blob_public_access(args: ResourceValidationArgs, report: Say) -> None:
    value = dig(args.props, "allowBlobPublicAccess")
    if value is not False:
        report(f"storage account {_account_name(args.props, args.name)!r} has allowBlobPublicAccess {value!r}: "
               "a container could be made readable anonymously")


STORAGE_NO_PUBLIC_BLOBS = resource_rule(
    "storage-account-no-public-blob-access",
    "Storage accounts forbid anonymous blob access (allowBlobPublicAccess false, set explicitly).",
    "Set allowBlobPublicAccess to false.",
    [STORAGE_ACCOUNT],
    _check_blob_public_access,
)


def _check_default_deny(args: ResourceValidationArgs, report: Say) -> None:
    action = dig(args.props, "networkRuleSet.defaultAction")
    if str(action).lower() != "deny":
        report(f"storage account {_account_name(args.props, args.name)!r} has networkRuleSet.defaultAction {action!r} "
               "(unset means Allow): its public endpoint accepts every network")


STORAGE_DEFAULT_DENY = resource_rule(
    "storage-account-firewall-default-deny",
    "Storage account firewalls deny by default (networkRuleSet.defaultAction Deny).",
    "Set networkRuleSet = {defaultAction: 'Deny', bypass: 'None'} (or 'AzureServices' where a trusted Azure service "
    "must write to it), and reach the account through private endpoints.",
    [STORAGE_ACCOUNT],
    _check_default_deny,
)


# --- the data lake -------------------------------------------------------------------------------------------


def _check_lake_private(args: ResourceValidationArgs, report: Say) -> None:
    if not is_data_lake(args.props):
        return
    access = dig(args.props, "publicNetworkAccess")
    if str(access).lower() != "disabled":
        report(f"data lake {_account_name(args.props, args.name)!r} has publicNetworkAccess {access!r}: "
               "its public endpoint exists; a data lake is reached only through its private endpoints")


LAKE_NO_PUBLIC_ACCESS = resource_rule(
    "data-lake-no-public-network-access",
    "Data lake storage accounts (hierarchical namespace or tag data-lake=true) have publicNetworkAccess Disabled.",
    "Set publicNetworkAccess to 'Disabled' and reach the lake through dfs and blob private endpoints.",
    [STORAGE_ACCOUNT],
    _check_lake_private,
)


def _endpoints_by_target(args: StackValidationArgs) -> dict[tuple[str, str], list[PolicyResource]]:
    found: dict[tuple[str, str], list[PolicyResource]] = {}
    for pe in of_type(args, PRIVATE_ENDPOINT):
        for group, target in endpoint_groups(pe.props):
            found.setdefault((group.lower(), target), []).append(pe)
    return found


def _has_zone_group(args: StackValidationArgs, pe: PolicyResource) -> bool:
    rg = str(dig(pe.props, "resourceGroupName", "")).lower()
    name = str(dig(pe.props, "privateEndpointName") or pe.name).lower()
    return any(str(dig(zg.props, "resourceGroupName", "")).lower() == rg
               and str(dig(zg.props, "privateEndpointName", "")).lower() == name for zg in of_type(args, ZONE_GROUP))


def _check_lake_endpoints(args: StackValidationArgs, report: Say) -> None:
    endpoints = _endpoints_by_target(args)
    for account in of_type(args, STORAGE_ACCOUNT):
        if not is_data_lake(account.props):
            continue
        key = storage_key(account)
        for group in ("dfs", "blob"):
            found = endpoints.get((group, key), [])
            if not found:
                report(f"data lake {_account_name(account.props, account.name)!r} has no {group!r} private endpoint: "
                       f"Databricks cannot reach it privately over {group}", account.urn)
            elif not any(_has_zone_group(args, pe) for pe in found):
                report(f"the {group!r} private endpoint of data lake {_account_name(account.props, account.name)!r} has no "
                       "DNS zone group: its host name resolves to the public endpoint", account.urn)


LAKE_PRIVATE_ENDPOINTS = stack_rule(
    "data-lake-private-endpoints",
    "Every data lake has dfs and blob private endpoints, each with a private DNS zone group.",
    "Add private endpoints with groupIds ['dfs'] and ['blob'] targeting the lake, with DNS zone groups on "
    "privatelink.dfs.core.windows.net and privatelink.blob.core.windows.net.",
    _check_lake_endpoints,
)


def _lake_keys(args: StackValidationArgs) -> set[str]:
    """Lakes this stack creates, and existing accounts it reaches over a dfs endpoint (only HNS accounts have one)."""
    keys = {storage_key(a) for a in of_type(args, STORAGE_ACCOUNT) if is_data_lake(a.props)}
    keys |= {target for pe in of_type(args, PRIVATE_ENDPOINT) for group, target in endpoint_groups(pe.props)
             if group.lower() == "dfs" and "/providers/microsoft.storage/storageaccounts/" in target}
    return keys


def _check_lake_roles(args: StackValidationArgs, report: Say) -> None:
    lakes = _lake_keys(args)
    for assignment in of_type(args, ROLE_ASSIGNMENT):
        scope = arm_key(dig(assignment.props, "scope"))
        if not any(scope == lake or scope.startswith(lake + "/") for lake in lakes):
            continue
        role = str(dig(assignment.props, "roleDefinitionId", "")).rstrip("/").rsplit("/", 1)[-1].lower()
        if role not in LAKE_ROLES:
            named = BROAD_ROLES.get(role, f"role {role or '(none)'}")
            report(f"role assignment on data lake scope {scope.rsplit('/providers/', 1)[-1]!r} grants {named}: only "
                   f"{' or '.join(sorted(LAKE_ROLES.values()))} are allowed there", assignment.urn)


LAKE_LEAST_PRIVILEGE = stack_rule(
    "data-lake-role-least-privilege",
    "Role assignments on a data lake (or its containers) grant only Storage Blob Data Contributor or Reader: never "
    "Owner, Contributor, Storage Account Contributor or any role that reads keys or assigns roles.",
    "Assign 'Storage Blob Data Contributor' (or 'Reader') at each container's scope to the access connector's identity.",
    _check_lake_roles,
)


# --- Azure SQL -----------------------------------------------------------------------------------------------


def _server_name(args: ResourceValidationArgs) -> str:
    return str(dig(args.props, "serverName") or args.name)


def _check_sql_public(args: ResourceValidationArgs, report: Say) -> None:
    access = dig(args.props, "publicNetworkAccess")
    if str(access).lower() != "disabled":
        report(f"SQL server {_server_name(args)!r} has publicNetworkAccess {access!r} (unset means Enabled): "
               "its public endpoint accepts connections")


SQL_NO_PUBLIC_ACCESS = resource_rule(
    "sql-server-no-public-access",
    "Azure SQL servers have publicNetworkAccess Disabled.",
    "Set publicNetworkAccess to 'Disabled' and add a private endpoint (groupIds ['sqlServer']).",
    [SQL_SERVER],
    _check_sql_public,
)


def _check_sql_entra_only(args: ResourceValidationArgs, report: Say) -> None:
    if dig(args.props, "administrators.azureADOnlyAuthentication") is not True:
        report(f"SQL server {_server_name(args)!r} does not enforce Entra-only authentication "
               "(administrators.azureADOnlyAuthentication is not true): SQL logins can sign in")
    for key in ("administratorLogin", "administratorLoginPassword"):
        if dig(args.props, key) is not None:
            report(f"SQL server {_server_name(args)!r} sets {key}: a SQL admin login exists beside Entra ID")


SQL_ENTRA_ONLY = resource_rule(
    "sql-server-entra-only",
    "Azure SQL servers use Entra-only authentication with an Entra admin and no SQL admin login or password.",
    "Set administrators = {administratorType: 'ActiveDirectory', azureADOnlyAuthentication: true, login: <group>, "
    "sid: <object id>, principalType: 'Group'} and drop administratorLogin/administratorLoginPassword.",
    [SQL_SERVER],
    _check_sql_entra_only,
)


def _check_sql_tls(args: ResourceValidationArgs, report: Say) -> None:
    value = dig(args.props, "minimalTlsVersion")
    if str(value) not in ("1.2", "1.3"):
        report(f"SQL server {_server_name(args)!r} has minimalTlsVersion {value!r}: clients may connect with older TLS")


SQL_TLS = resource_rule(
    "sql-server-tls-1-2",
    "Azure SQL servers accept TLS 1.2 or later only (minimalTlsVersion '1.2').",
    "Set minimalTlsVersion to '1.2'.",
    [SQL_SERVER],
    _check_sql_tls,
)


def _check_sql_endpoint(args: StackValidationArgs, report: Say) -> None:
    endpoints = _endpoints_by_target(args)
    for server in of_type(args, SQL_SERVER):
        if not endpoints.get(("sqlserver", sql_server_key(server))):
            name = dig(server.props, "serverName") or server.name
            report(f"SQL server {name!r} has no private endpoint (groupIds ['sqlServer']): with public access "
                   "Disabled nothing can reach it", server.urn)


SQL_PRIVATE_ENDPOINT = stack_rule(
    "sql-server-private-endpoint",
    "Every Azure SQL server has a sqlServer private endpoint.",
    "Add a private endpoint with groupIds ['sqlServer'] targeting the server, with a DNS zone group on "
    "privatelink.database.windows.net.",
    _check_sql_endpoint,
)


# --- protection ----------------------------------------------------------------------------------------------


def _check_data_protected(args: ResourceValidationArgs, report: Say) -> None:
    if args.resource_type == STORAGE_ACCOUNT and not is_data_lake(args.props):
        return
    if tier_of(args.urn, args.get_config(), args.props) == "prod" and not args.opts.protect:
        kind = {STORAGE_ACCOUNT: "data lake", SQL_SERVER: "SQL server", SQL_DATABASE: "SQL database"}[args.resource_type]
        report(f"{kind} {args.name!r} is not protected in prod: a `pulumi destroy` or a replacement would delete it and its data")


DATA_PROTECTED = resource_rule(
    "data-protected-in-prod",
    "Data-bearing resources (data lake storage accounts, SQL servers and databases) are protected (`protect=True`) in prod.",
    "Pass ResourceOptions(protect=True, retain_on_delete=True) (spec.protection.protect_data).",
    [STORAGE_ACCOUNT, SQL_SERVER, SQL_DATABASE],
    _check_data_protected,
    config_schema=TIER_CONFIG,
)


def _check_sql_zone_redundant(args: ResourceValidationArgs, report: Say) -> None:
    if tier_of(args.urn, args.get_config(), args.props) == "prod" and dig(args.props, "zoneRedundant") is not True:
        report(f"SQL database {dig(args.props, 'databaseName') or args.name!r} in prod is not zone redundant: the loss of "
               "one availability zone takes it down")


SQL_ZONE_REDUNDANT_IN_PROD = resource_rule(
    "sql-database-zone-redundant-in-prod",
    "In prod, Azure SQL databases are zone redundant.",
    "Keep data.sql.zone_redundant on (the prod floor) with a General Purpose, Business Critical, Hyperscale or Premium SKU.",
    [SQL_DATABASE],
    _check_sql_zone_redundant,
    config_schema=TIER_CONFIG,
)


RULES: list[Policy] = [
    STORAGE_TLS,
    STORAGE_NO_SHARED_KEY,
    STORAGE_HTTPS_ONLY,
    STORAGE_NO_PUBLIC_BLOBS,
    STORAGE_DEFAULT_DENY,
    LAKE_NO_PUBLIC_ACCESS,
    LAKE_PRIVATE_ENDPOINTS,
    LAKE_LEAST_PRIVILEGE,
    SQL_NO_PUBLIC_ACCESS,
    SQL_ENTRA_ONLY,
    SQL_TLS,
    SQL_PRIVATE_ENDPOINT,
    SQL_ZONE_REDUNDANT_IN_PROD,
    DATA_PROTECTED,
]
