"""Customer-managed keys and locks: a hardened Key Vault, rotating keys (HSM-protected in prod), workspace encryption in
prod, the DBFS root key only on a prepared workspace, CanNotDelete locks on prod's data-bearing resources and its
browser-authentication workspace, and none in dev."""

from __future__ import annotations

from typing import Any

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import (
    ADVISORY,
    TIER_CONFIG,
    WORKSPACE,
    Say,
    as_list,
    dig,
    is_serverless,
    resource_rule,
    stack_rule,
    tier_of,
)

VAULT = az.KEY_VAULT.token
KEY = az.KEY_VAULT_KEY.token
LOCK = az.MANAGEMENT_LOCK.token
KEY_VAULT_SOURCE = "microsoft.keyvault"

# Data-bearing types a prod lock must cover; a lock's scope names each by its ARM type and own name (the catalog's).
LOCKED_IN_PROD = (az.DATABRICKS_WORKSPACE, az.KEY_VAULT, az.LOG_ANALYTICS_WORKSPACE, az.STORAGE_ACCOUNT)
_LOCKED_TOKENS = frozenset(entry.token for entry in LOCKED_IN_PROD)


def _is(value: Any, expected: str) -> bool:
    return str(value or "").lower() == expected.lower()


def _check_vault(args: ResourceValidationArgs, report: Say) -> None:
    props = dig(args.props, "properties", {}) or {}
    problems = []
    if dig(props, "enableRbacAuthorization") is not True:
        problems.append("enableRbacAuthorization is not true (access policies, editable by any vault contributor, decide who reads keys)")
    if dig(props, "enablePurgeProtection") is not True:
        problems.append("enablePurgeProtection is not true (a deleted key, and every byte it wraps, can be purged at once)")
    if dig(props, "enableSoftDelete") is False:
        problems.append("enableSoftDelete is false (a deleted key is gone immediately)")
    if not _is(dig(props, "publicNetworkAccess"), "Disabled"):
        problems.append(f"publicNetworkAccess is {dig(props, 'publicNetworkAccess')!r}, not 'Disabled'")
    if not _is(dig(props, "networkAcls.defaultAction"), "Deny"):
        problems.append(f"networkAcls.defaultAction is {dig(props, 'networkAcls.defaultAction')!r}, not 'Deny'")
    for problem in problems:
        report(f"Key Vault {dig(args.props, 'vaultName') or args.name}: {problem}")


KEY_VAULT_HARDENED = resource_rule(
    "keyvault-hardened",
    "Key Vaults use Azure RBAC, purge protection and soft delete, with public network access Disabled and a default-deny firewall.",
    "Set properties.enableRbacAuthorization, enablePurgeProtection and enableSoftDelete to true, publicNetworkAccess to "
    "'Disabled' and networkAcls {defaultAction: 'Deny', bypass: 'AzureServices'}; reach the vault through a private endpoint.",
    [VAULT],
    _check_vault,
)


def _check_key_rotation(args: ResourceValidationArgs, report: Say) -> None:
    actions = as_list(dig(args.props, "properties.rotationPolicy.lifetimeActions"))
    rotates = [a for a in actions if _is(dig(a, "action.type"), "rotate")
               and (dig(a, "trigger.timeAfterCreate") or dig(a, "trigger.timeBeforeExpiry"))]
    if not rotates:
        report(f"key {dig(args.props, 'keyName') or args.name} has no rotation policy with a 'rotate' action: its one version "
               "would be used for ever")


KEY_ROTATION = resource_rule(
    "keyvault-key-rotation-policy",
    "Key Vault keys carry a rotation policy that rotates them automatically.",
    "Set properties.rotationPolicy.lifetimeActions to a 'rotate' action triggered by timeAfterCreate (for example P90D), "
    "plus a 'notify' action before expiry.",
    [KEY],
    _check_key_rotation,
)


def _check_key_in_hsm(args: ResourceValidationArgs, report: Say) -> None:
    if tier_of(args.urn, args.get_config(), args.props) != "prod":
        return
    kty = dig(args.props, "properties.kty")
    if not str(kty or "").upper().endswith("-HSM"):
        report(f"key {dig(args.props, 'keyName') or args.name} in prod has kty {kty!r}: a software-protected key, not one "
               "that never leaves Key Vault's HSMs")


KEY_IN_HSM_IN_PROD = resource_rule(
    "keyvault-key-hsm-in-prod",
    "In prod, Key Vault keys are HSM-protected (kty RSA-HSM or EC-HSM).",
    "Keep encryption.hsm on (the prod default) with a premium Key Vault (key_vault.sku 'premium'): HSM key types exist "
    "only in the premium SKU.",
    [KEY],
    _check_key_in_hsm,
    config_schema=TIER_CONFIG,
)


def _check_workspace_cmk(args: ResourceValidationArgs, report: Say) -> None:
    if is_serverless(args.props) or tier_of(args.urn, args.get_config(), args.props) != "prod":
        return
    props, missing = args.props, []
    if not _is(dig(props, "encryption.entities.managedServices.keySource"), KEY_VAULT_SOURCE):
        missing.append("encryption.entities.managedServices (notebooks, secrets, queries) under a Key Vault key")
    disk = dig(props, "encryption.entities.managedDisk")
    if not _is(dig(disk, "keySource"), KEY_VAULT_SOURCE):
        missing.append("encryption.entities.managedDisk (cluster disks) under a Key Vault key")
    elif dig(disk, "rotationToLatestKeyVersionEnabled") is not True:
        missing.append("encryption.entities.managedDisk.rotationToLatestKeyVersionEnabled (disks would keep a rotated-out version)")
    if dig(props, "parameters.prepareEncryption.value") is not True:
        missing.append("parameters.prepareEncryption (the DBFS root's identity for its key)")
    if dig(props, "parameters.requireInfrastructureEncryption.value") is not True:
        missing.append("parameters.requireInfrastructureEncryption (a second encryption layer on the DBFS root)")
    for item in missing:
        report(f"prod workspace {dig(props, 'workspaceName') or args.name} lacks {item}")


WORKSPACE_CMK_IN_PROD = resource_rule(
    "databricks-workspace-cmk-in-prod",
    "In prod, Databricks workspaces encrypt managed services and managed disks (following the latest key version) with a "
    "customer-managed key, are prepared for DBFS root encryption and require infrastructure encryption.",
    "Set encryption.customer_managed_keys with managed_services, managed_disks, dbfs_root and infrastructure_encryption "
    "in the spec (the toolkit then sets encryption.entities and parameters.prepareEncryption / requireInfrastructureEncryption).",
    [WORKSPACE],
    _check_workspace_cmk,
    config_schema=TIER_CONFIG,
)


def _check_dbfs_key_prepared(args: ResourceValidationArgs, report: Say) -> None:
    if not _is(dig(args.props, "parameters.encryption.value.keySource"), KEY_VAULT_SOURCE):
        return
    if dig(args.props, "parameters.prepareEncryption.value") is not True:
        report(f"workspace {dig(args.props, 'workspaceName') or args.name} sets a DBFS root key without prepareEncryption: "
               "its storage account has no identity to hold the key, so Azure rejects it")


DBFS_KEY_NEEDS_PREPARE = resource_rule(
    "databricks-dbfs-key-needs-prepared-workspace",
    "A DBFS root customer-managed key is set only on a workspace prepared for encryption (parameters.prepareEncryption).",
    "Deploy with encryption.dbfs_root 'prepare' first (prepareEncryption on, the storage identity granted the key), then 'apply'.",
    [WORKSPACE],
    _check_dbfs_key_prepared,
)


def _tail(resource_id: Any) -> str:
    """'<namespace>/<type>/<name>' of the last provider segment of an ARM id, lower case."""
    text = str(resource_id or "").lower().rstrip("/")
    return text.rsplit("/providers/", 1)[-1] if "/providers/" in text else ""


def _lock_scope(lock: PolicyResource) -> str:
    scope = dig(lock.props, "scope")
    if scope:
        return _tail(scope)
    lock_id = str(dig(lock.props, "id") or "")
    return _tail(lock_id.lower().split("/providers/microsoft.authorization/locks/")[0]) if lock_id else ""


def _needs_lock(res: PolicyResource) -> bool:
    # Every workspace, the serverless browser-authentication one included: it holds no data, but deleting it breaks
    # SSO sign-in to every private workspace of the region that uses it.
    if res.resource_type == az.STORAGE_ACCOUNT.token:
        return dig(res.props, "isHnsEnabled") is True  # the data lake; other accounts are not data sources
    return res.resource_type in _LOCKED_TOKENS


def _check_prod_locks(args: StackValidationArgs, report: Say) -> None:
    locks = [r for r in args.resources if r.resource_type == LOCK and _is(dig(r.props, "level"), "CanNotDelete")]
    for res in args.resources:
        if not _needs_lock(res) or tier_of(res.urn, args.get_config(), res.props) != "prod":
            continue
        entry = az.CATALOG[res.resource_type]
        name = dig(res.props, entry.own_name_input) if entry.own_name_input else None
        own = f"{entry.arm_type.lower()}/{str(name or dig(res.props, 'name') or res.name).lower()}"
        covered = any(_lock_scope(lock) == own or (not _lock_scope(lock) and res in lock.dependencies) for lock in locks)
        if not covered:
            report(f"{own} has no CanNotDelete lock in prod: anyone with delete rights, in any tool, can delete it", res.urn)


PROD_LOCKS = stack_rule(
    "prod-data-resources-locked",
    "In prod, every data-bearing resource (Databricks workspace, Key Vault, Log Analytics workspace, data lake) and the "
    "dedicated browser-authentication workspace carry a CanNotDelete management lock.",
    "Keep protection.locks on in the prod spec: the toolkit adds a ManagementLockByScope (level CanNotDelete) on each.",
    _check_prod_locks,
    config_schema=TIER_CONFIG,
)


def _check_no_locks_in_dev(args: ResourceValidationArgs, report: Say) -> None:
    if tier_of(args.urn, args.get_config(), args.props) == "dev":
        report(f"management lock {dig(args.props, 'lockName') or args.name} in dev: an ephemeral environment must be able to "
               "tear itself down")


NO_LOCKS_IN_DEV = resource_rule(
    "no-locks-in-dev",
    "dev (ephemeral) environments carry no management locks, so `pulumi destroy` can remove them.",
    "Leave protection.locks off in dev (the tier default).",
    [LOCK],
    _check_no_locks_in_dev,
    level=ADVISORY,
    config_schema=TIER_CONFIG,
)


RULES: list[Policy] = [
    KEY_VAULT_HARDENED,
    KEY_ROTATION,
    KEY_IN_HSM_IN_PROD,
    WORKSPACE_CMK_IN_PROD,
    DBFS_KEY_NEEDS_PREPARE,
    PROD_LOCKS,
    NO_LOCKS_IN_DEV,
]
