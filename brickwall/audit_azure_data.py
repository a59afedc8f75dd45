"""The Azure part of `python -m brickwall audit`, data stores: the public network access and firewall of every storage
account and Key Vault the plan creates, against the plan's own inputs (brickwall/audit_azure.py hooks it in).

Expected: the `azure-native:storage:StorageAccount` inputs `publicNetworkAccess` and `networkRuleSet` (bypass,
defaultAction, ipRules, virtualNetworkRules), and the `azure-native:keyvault:Vault` inputs `properties.publicNetworkAccess`
and `properties.networkAcls` (the same four). A rule list the plan leaves out is expected empty: Azure's default, so a
rule added by hand is drift. Live, one GET each, with Microsoft's SDKs:

    storage  GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{name}
             StorageManagementClient.storage_accounts.get_properties (azure-mgmt-storage 25.3.0; the REST body names
             the rule set `networkAcls`, the SDK `network_rule_set`; IPRule.value is `ip_address_or_range`)
    vault    GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/{name}
             KeyVaultManagementClient.vaults.get (azure-mgmt-keyvault 14.1.0: properties.network_acls, public_network_access)

Response shapes: azure-rest-api-specs specification/storage/resource-manager/Microsoft.Storage/stable/2025-01-01/
examples/StorageAccountGetProperties.json (properties.networkAcls: bypass "AzureServices", defaultAction, ipRules,
virtualNetworkRules) and specification/keyvault/resource-manager/Microsoft.KeyVault/stable/2024-11-01/examples/
getVault.json (properties.publicNetworkAccess). Storage's bypass is a comma-separated set ("Logging, Metrics,
AzureServices", NetworkRuleSet.bypass in the SDK's models): compared as a set.

Least role: Reader on the resource group (Microsoft.Storage/storageAccounts/read, Microsoft.KeyVault/vaults/read are
in Reader's `*/read`, https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/general#reader);
neither read returns keys or secrets.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from brickwall.audit import HIGH, MEDIUM, Finding
from components.planning import azure_types as az

T_STORAGE = az.STORAGE_ACCOUNT.token
T_VAULT = az.KEY_VAULT.token
STORAGE, VAULT = "storage", "vault"
GRANT = {STORAGE: "Microsoft.Storage/storageAccounts/read", VAULT: "Microsoft.KeyVault/vaults/read"}
KEYS = ("publicNetworkAccess", "defaultAction", "bypass", "ipRules", "virtualNetworkRules")
NONE = "(none)"

Key = tuple[str, str, str]  # (storage|vault, resource group, name)


def _set(values: Any) -> str:
    return ", ".join(sorted({str(v).strip() for v in values if str(v).strip()})) or NONE


def _vnet_rule(rule_id: Any) -> str:
    """A subnet by resource group, VNet and name: the plan's ids hold the offline placeholder subscription."""
    return re.split(r"/resourceGroups/", str(rule_id or ""), maxsplit=1, flags=re.IGNORECASE)[-1].lower()


def _acls(public: Any, acls: Mapping[str, Any] | None, ip_key: str, vnet_key: str) -> dict[str, str]:
    out: dict[str, str] = {}
    if public is not None:
        out["publicNetworkAccess"] = str(public)
    if acls is not None:
        if acls.get("defaultAction") is not None:
            out["defaultAction"] = str(acls["defaultAction"])
        if acls.get("bypass") is not None:
            out["bypass"] = _set(str(acls["bypass"]).split(","))
        out["ipRules"] = _set(r.get(ip_key) for r in acls.get("ipRules") or [])
        out["virtualNetworkRules"] = _set(_vnet_rule(r.get(vnet_key)) for r in acls.get("virtualNetworkRules") or [])
    return out


def expected_data(plan: Mapping[str, Any]) -> dict[Key, dict[str, str]]:
    """(kind, resource group, name) -> the planned values (KEYS, the lists as sorted sets)."""
    out: dict[Key, dict[str, str]] = {}
    for r in plan.get("resources", []):
        i = r.get("inputs") or {}
        if r.get("type") == T_STORAGE:
            # azure-native StorageAccount inputs: networkRuleSet.ipRules[].iPAddressOrRange (the provider's casing of
            # the REST `value`), virtualNetworkRules[].virtualNetworkResourceId (REST `id`).
            out[(STORAGE, i["resourceGroupName"], i["accountName"])] = _acls(
                i.get("publicNetworkAccess"), i.get("networkRuleSet"), "iPAddressOrRange", "virtualNetworkResourceId")
        elif r.get("type") == T_VAULT:
            p = i.get("properties") or {}
            out[(VAULT, i["resourceGroupName"], i["vaultName"])] = _acls(
                p.get("publicNetworkAccess"), p.get("networkAcls"), "value", "id")
    return out


def _v(x: Any) -> Any:
    return getattr(x, "value", x)  # an SDK enum member (str-valued) or a plain string


def _live(public: Any, acls: Any, storage: bool) -> dict[str, str]:
    out: dict[str, str] = {"publicNetworkAccess": str(_v(public)) if public is not None else "not set"}
    if acls is None:
        return out | {"ipRules": NONE, "virtualNetworkRules": NONE}
    if acls.default_action is not None:
        out["defaultAction"] = str(_v(acls.default_action))
    if acls.bypass is not None:
        out["bypass"] = _set(str(_v(acls.bypass)).split(","))
    ips = [(r.ip_address_or_range if storage else r.value) for r in acls.ip_rules or []]
    vnets = [(r.virtual_network_resource_id if storage else r.id) for r in acls.virtual_network_rules or []]
    return out | {"ipRules": _set(ips), "virtualNetworkRules": _set(_vnet_rule(v) for v in vnets)}


def reads(clients: Any, exp: Mapping[Key, Mapping[str, str]]) -> dict[str, tuple[str, Callable[[], Any], Key]]:
    """name -> (resource group, the read, key): each planned storage account and vault once."""
    def storage(rg: str, name: str) -> dict[str, str]:
        p = clients.storage.storage_accounts.get_properties(rg, name).properties
        return _live(p.public_network_access, p.network_rule_set, True) if p is not None else {}

    def vault(rg: str, name: str) -> dict[str, str]:
        p = clients.keyvault.vaults.get(rg, name).properties
        return _live(p.public_network_access, p.network_acls, False)

    fns = {STORAGE: storage, VAULT: vault}
    return {f"{kind} {name}": (rg, functools.partial(fns[kind], rg, name), (kind, rg, name)) for kind, rg, name in exp}


def _more_open(key: str, want: str, have: str) -> bool:
    if key == "publicNetworkAccess":
        return want.lower() == "disabled" and have.lower() != "disabled"
    if key == "defaultAction":
        return want.lower() == "deny" and have.lower() != "deny"
    if key in ("ipRules", "virtualNetworkRules", "bypass"):
        wanted = set(want.split(", ")) - {NONE, "None"}
        return bool(set(have.split(", ")) - {NONE, "None"} - wanted)
    return False


def compare_data(exp: Mapping[Key, Mapping[str, str]], live: Mapping[Key, Mapping[str, str] | None]) -> list[Finding]:
    """`storage-drifted` / `key-vault-drifted`: HIGH when the live value lets more in (public access on, default
    Allow, an IP or VNet rule or a bypass added), MEDIUM otherwise; `storage-missing` / `key-vault-missing` HIGH."""
    out: list[Finding] = []
    for (kind, rg, name), want in sorted(exp.items()):
        what = "storage account" if kind == STORAGE else "Key Vault"
        prefix = "storage" if kind == STORAGE else "key-vault"
        have = live.get((kind, rg, name))
        if have is None:
            out.append(Finding(f"{prefix}-missing", HIGH, f"{what} {name} ({rg})", "the planned resource",
                               "no such resource"))
            continue
        for key in KEYS:
            if key not in want:
                continue
            w, h = want[key], have.get(key, "not set")
            same = (set(w.lower().split(", ")) == set(h.lower().split(", "))) if key == "bypass" else w.lower() == h.lower()
            if not same:
                where = key if key == "publicNetworkAccess" else f"networkAcls.{key}"
                out.append(Finding(f"{prefix}-drifted", HIGH if _more_open(key, w, h) else MEDIUM,
                                   f"{what} {name} {where}", w, h))
    return out
