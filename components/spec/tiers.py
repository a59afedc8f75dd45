"""Security tiers: the defaults each tier fills in and the floor no spec may go below.

Class defaults on the spec models are the strict (prod) settings; a tier's defaults only
fill fields the spec leaves unset, and its floors reject weaker explicit values.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from components.planning.diagnostics import MIN_LOG_RETENTION_DAYS
from components.planning.ingress import creates_aks
from components.planning.tier_limits import MAX_TOKEN_LIFETIME_DAYS

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec

# In dev the paid Enhanced Security and Compliance add-on stays off unless the spec turns it on; staging runs it like
# prod, so the hardened image and its maintenance restarts meet workloads there first.
_NO_ADD_ON = {"enhanced_security_monitoring": False, "automatic_cluster_update": False}

TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    # dev: public front end (restricted later by IP access lists), back-end private link kept,
    # nothing protected so the environment can be torn down.
    "dev": {
        "workspace": {"public_network_access": "Enabled", "default_storage_firewall": False,
                      "enhanced_security": _NO_ADD_ON},
        "private_link": {"frontend": False, "browser_authentication": "none", "workspace_storage": False},
        "protection": {"protect_data": False, "locks": False},
        # VNet encryption off: a dev box may use any VM size (prod requires it; staging keeps prod's default).
        "network": {"egress": {"allow_internet_outbound": True}, "vnet_encryption": {"enabled": False}},
        # Audit stays on; flow logs, alerts and customer-managed keys cost more than a dev box is worth.
        # Its workspace takes public ingestion and queries, without an Azure Monitor Private Link Scope.
        "monitoring": {"log_retention_days": 30, "flow_logs": {"enabled": False}, "alerts": {"enabled": False},
                       "private_link": {"enabled": False, "public_ingestion": True, "public_query": True}},
        "encryption": {"customer_managed_keys": False},
        # A dev lake and database are rebuilt, not failed over.
        "data": {"lake": {"sku": "Standard_ZRS"}, "sql": {"zone_redundant": False}},
        "access": {
            "settings": {
                "max_token_lifetime_days": 90, "results_download": True, "notebook_export": True,
                "table_clipboard": True, "dbfs_file_browser": True, "upload_data_uis": True, "web_terminal": True,
            },
            "allow_human_tokens": True,
            # Cluster logs stay on DBFS and serverless keeps the account's default network policy.
            "compute": {"disable_legacy_dbfs": False, "serverless_egress": {"mode": "account_default"}},
        },
    },
    "staging": {
        "network": {"egress": {"allow_internet_outbound": True}},
        "data": {"sql": {"zone_redundant": False}},
        "monitoring": {"log_retention_days": 90},
        "access": {"settings": {"max_token_lifetime_days": 60}, "compute": {"disable_legacy_dbfs": False}},
    },
    "prod": {},
}

# Every workspace setting prod holds at its strict value: (field, strict value).
PROD_STRICT_SETTINGS: tuple[tuple[str, bool], ...] = (
    ("results_download", False), ("notebook_export", False), ("table_clipboard", False),
    ("dbfs_file_browser", False), ("upload_data_uis", False), ("web_terminal", False),
    ("verbose_audit_logs", True), ("legacy_global_init_scripts", False), ("legacy_cluster_named_init_scripts", False),
    ("container_services", False), ("store_results_in_customer_account", True), ("enforce_user_isolation", True),
    ("security_headers", True),
)


@dataclass(frozen=True)
class Floor:
    tiers: frozenset[str]
    path: tuple[str, ...]
    holds: Callable[[EnvironmentSpec], bool]
    reason: str


_PRIVATE = frozenset({"staging", "prod"})
_ALL = frozenset({"dev", "staging", "prod"})
_PROD = frozenset({"prod"})


def _ephemeral(spec: EnvironmentSpec) -> bool:
    return bool(spec.stamping.ephemeral) and spec.tier.value != "prod"

TIER_FLOORS: tuple[Floor, ...] = (
    Floor(_ALL, ("workspace", "no_public_ip"), lambda s: s.workspace.no_public_ip,
          "secure cluster connectivity (no public IP) is never turned off, in any tier"),
    Floor(_PRIVATE, ("workspace", "public_network_access"), lambda s: s.workspace.public_network_access == "Disabled",
          "{tier} requires public network access Disabled"),
    Floor(_PRIVATE, ("private_link", "backend"), lambda s: s.private_link.backend,
          "{tier} requires back-end private link"),
    Floor(_PRIVATE, ("private_link", "frontend"), lambda s: s.private_link.frontend,
          "{tier} requires front-end private link"),
    Floor(_PRIVATE, ("private_link", "browser_authentication"), lambda s: s.private_link.browser_authentication != "none",
          "{tier} requires a browser-authentication endpoint"),
    # A stamped test environment (stamping.ephemeral, never prod) may drop data protection so it can be destroyed.
    Floor(_PRIVATE, ("protection", "protect_data"), lambda s: s.protection.protect_data or _ephemeral(s),
          "{tier} requires protection of data-bearing resources"),
    Floor(_PROD, ("stamping", "ephemeral"), lambda s: not s.stamping.ephemeral,
          "prod is never ephemeral: stamp test environments from a dev or staging base"),
    Floor(_ALL, ("stamping", "ephemeral"), lambda s: not s.stamping.ephemeral or "expires-at" in s.tags,
          "an ephemeral environment carries an expires-at tag (python -m brickwall env stamps both)"),
    Floor(_PRIVATE, ("access", "ip_access", "enabled"), lambda s: s.access.ip_access.enabled,
          "{tier} requires IP access lists (defence in depth should public access ever be enabled)"),
    Floor(_ALL, ("access", "settings", "legacy_global_init_scripts"), lambda s: not s.access.settings.legacy_global_init_scripts,
          "legacy global init scripts are deprecated and unaudited; keep them off in every tier"),
    Floor(_PRIVATE, ("access", "settings", "verbose_audit_logs"), lambda s: s.access.settings.verbose_audit_logs,
          "{tier} requires verbose audit logs"),
    # Token caps: the same table the policy pack enforces (components/planning/tier_limits.py).
    *(
        Floor(frozenset({tier}), ("access", "settings", "max_token_lifetime_days"),
              (lambda limit: lambda s: s.access.settings.max_token_lifetime_days <= limit)(cap),
              f"{tier} caps personal access tokens at {cap} days")
        for tier, cap in MAX_TOKEN_LIFETIME_DAYS.items()
    ),
    # Log retention floors: the same table the policy pack enforces (components/planning/diagnostics.py).
    *(
        Floor(frozenset({tier}), ("monitoring", "log_retention_days"),
              (lambda floor: lambda s: s.monitoring.log_retention_days >= floor)(days),
              f"{tier} keeps audit logs at least {days} days")
        for tier, days in MIN_LOG_RETENTION_DAYS.items()
    ),
    Floor(_PRIVATE, ("monitoring", "diagnostics"), lambda s: s.monitoring.diagnostics,
          "{tier} requires diagnostic settings (audit logs to Log Analytics)"),
    Floor(_PRIVATE, ("monitoring", "alerts", "enabled"), lambda s: s.monitoring.alerts.enabled,
          "{tier} requires alerts on the audit logs"),
    Floor(_PRIVATE, ("monitoring", "private_link", "enabled"), lambda s: s.monitoring.private_link.enabled,
          "{tier} requires Log Analytics ingestion and query through an Azure Monitor Private Link Scope"),
    Floor(_PRIVATE, ("monitoring", "private_link", "public_ingestion"), lambda s: not s.monitoring.private_link.public_ingestion,
          "{tier} requires the Log Analytics workspace to refuse ingestion from public networks"),
    Floor(_PRIVATE, ("monitoring", "private_link", "public_query"), lambda s: not s.monitoring.private_link.public_query,
          "{tier} requires the Log Analytics workspace to refuse queries from public networks"),
    Floor(_PROD, ("monitoring", "flow_logs", "enabled"), lambda s: s.monitoring.flow_logs.enabled,
          "prod requires VNet flow logs"),
    Floor(_PROD, ("encryption", "customer_managed_keys"), lambda s: s.encryption.customer_managed_keys,
          "prod requires customer-managed keys"),
    Floor(_PROD, ("encryption", "managed_services"),
          lambda s: not s.encryption.customer_managed_keys or s.encryption.managed_services,
          "prod encrypts managed services (notebooks, secrets, queries) with its own key"),
    Floor(_PROD, ("encryption", "managed_disks"),
          lambda s: not s.encryption.customer_managed_keys or s.encryption.managed_disks,
          "prod encrypts cluster managed disks with its own key"),
    Floor(_PROD, ("encryption", "dbfs_root"),
          lambda s: not s.encryption.customer_managed_keys or s.encryption.dbfs_root != "off",
          "prod encrypts the DBFS root with its own key ('prepare' on the first deployment, then 'apply')"),
    # Traffic between the workspace VNet's VMs encrypted by Azure (components/planning/vnet_encryption.py); the sizes
    # every cluster policy admits are checked against Azure's list (components/spec/rules_serverless.py).
    Floor(_PROD, ("network", "vnet_encryption", "enabled"), lambda s: s.network.vnet_encryption.enabled,
          "prod encrypts traffic between the workspace VNet's VMs (Azure Virtual Network encryption)"),
    Floor(_PROD, ("protection", "locks"), lambda s: s.protection.locks,
          "prod requires CanNotDelete locks on data-bearing resources"),
    # Keys that never leave an HSM: RSA-HSM in a premium vault (https://learn.microsoft.com/azure/key-vault/keys/about-keys).
    Floor(_PROD, ("encryption", "hsm"), lambda s: not s.encryption.customer_managed_keys or s.encryption.hsm,
          "prod keeps its customer-managed keys in an HSM (RSA-HSM, premium Key Vault)"),
    Floor(_PROD, ("data", "sql", "zone_redundant"), lambda s: not s.data.sql.enabled or s.data.sql.zone_redundant,
          "prod's SQL database is zone redundant (it survives the loss of an availability zone)"),
    # The ingress cluster's nodes (components/aks.py): encrypted at the host, on ephemeral OS disks.
    Floor(_PROD, ("ingress", "aks", "encryption_at_host"),
          lambda s: not creates_aks(s.ingress.enabled, s.ingress.cluster) or s.ingress.aks.encryption_at_host,
          "prod encrypts the AKS nodes' temp disks and disk caches at the host"),
    Floor(_PROD, ("ingress", "aks", "os_disk_type"),
          lambda s: not creates_aks(s.ingress.enabled, s.ingress.cluster) or s.ingress.aks.os_disk_type == "Ephemeral",
          "prod keeps AKS node state off Azure Storage (ephemeral OS disks)"),
    # The Enhanced Security and Compliance add-on's monitoring and patching (components/spec/compliance.py).
    Floor(_PROD, ("workspace", "enhanced_security", "enhanced_security_monitoring"),
          lambda s: s.workspace.enhanced_security.enhanced_security_monitoring,
          "prod runs classic compute on the hardened, monitored image (enhanced security monitoring)"),
    Floor(_PROD, ("workspace", "enhanced_security", "automatic_cluster_update"),
          lambda s: s.workspace.enhanced_security.automatic_cluster_update,
          "prod keeps long-running clusters patched (automatic cluster update)"),
    # Every compute path governed in prod (components/spec/compute.py ComputeGovernanceSpec).
    Floor(_PROD, ("access", "compute", "personal_compute", "account_setting"),
          lambda s: s.access.compute.personal_compute.account_setting == "delegate",
          "prod sets the account's Personal Compute setting to DELEGATE, or every user may use Personal Compute"),
    Floor(_PROD, ("access", "compute", "serverless_egress", "mode"),
          lambda s: s.access.compute.serverless_egress.mode == "restricted",
          "prod restricts serverless egress to Unity Catalog locations and the destinations it lists"),
    Floor(_PROD, ("access", "compute", "serverless_egress", "enforcement"),
          lambda s: s.access.compute.serverless_egress.enforcement == "ENFORCED",
          "prod enforces its serverless network policy (DRY_RUN only logs)"),
    Floor(_PROD, ("access", "compute", "disable_legacy_access"), lambda s: s.access.compute.disable_legacy_access,
          "prod disables legacy access (direct Hive metastore access, fallback mode, runtimes before 13.3 LTS)"),
    Floor(_PROD, ("access", "compute", "disable_legacy_dbfs"), lambda s: s.access.compute.disable_legacy_dbfs,
          "prod disables the legacy DBFS root and mounts"),
    Floor(_PROD, ("access", "compute", "restrict_workspace_admins"), lambda s: s.access.compute.restrict_workspace_admins,
          "prod restricts workspace admins (tokens and job run-as only for service principals they hold the role on)"),
    *(
        Floor(frozenset({"prod"}), ("access", "settings", field),
              (lambda f, v: lambda s: getattr(s.access.settings, f) == v)(field, strict),
              f"prod requires {field} {'on' if strict else 'off'}")
        for field, strict in PROD_STRICT_SETTINGS
    ),
)


def _plain(value: Any) -> Any:
    """Nested models become dicts of the fields the author set, so tier defaults fill the rest."""
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in value.model_fields_set}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _merge_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, default in defaults.items():
        if key not in data:
            data[key] = copy.deepcopy(default)
        elif isinstance(data[key], dict) and isinstance(default, dict):
            _merge_defaults(data[key], default)


# Tiers whose stamped (ephemeral) test environments get the engineers' Bastion unless the spec says otherwise.
BASTION_IN_TEST_ENVIRONMENTS = frozenset({"dev", "staging"})


def _bastion_default(data: dict[str, Any], tier: Any) -> None:
    """bastion.enabled left unset is on in a stamped test environment (its front end is private and it lives for
    days), off in every standing environment; prod has it only when the spec asks. Unset stays None, so a base's
    dump stamps to a spec that takes the default again."""
    stamping = data.get("stamping")
    if tier not in BASTION_IN_TEST_ENVIRONMENTS or not isinstance(stamping, dict) or stamping.get("ephemeral") is not True:
        return
    bastion = data.setdefault("bastion", {})
    if isinstance(bastion, dict) and bastion.get("enabled") is None:
        bastion["enabled"] = True


def apply_tier_defaults(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    data = _plain(data)
    tier = data.get("tier")
    tier = getattr(tier, "value", tier)
    if isinstance(tier, str) and tier in TIER_DEFAULTS:
        _merge_defaults(data, TIER_DEFAULTS[tier])
    _bastion_default(data, tier)
    return data
