"""The workspace conf table: each security-relevant admin setting, its Databricks key, its group and its source.

Pure data: the component registers one `WorkspaceConf` per group (`conf_groups`), docs/access-control.md documents
this table, the policy pack checks every key is set, and the checks read it. Values are strings because the
workspace-conf API takes strings.

Why groups: the workspace-conf API applies a PATCH whole or not at all, and answers `Invalid keys: [...]` for
a key a workspace does not know (terraform-provider-databricks workspace/resource_workspace_conf.go,
`parseInvalidKeysFromError`; the provider tolerates it only for keys being removed). One map for every key
would let one refused key also drop the IP access list switch and the token settings. One resource per
concern keeps each concern's keys together: a refusal fails that group alone, named by its resource.

Why `<name>-conf` keeps the IP access list switch: a stack deployed before the split has one `<name>-conf`
with every key. Updating it removes the moved keys, and the provider writes "false" for each removed key
(`applyWorkspaceConf`); every other group depends on `<name>-conf`, so it writes its keys after that reset,
never before. Deleting a WorkspaceConf resets its `enable*`/`enforce*` keys to false (the provider docs,
docs/resources/workspace_conf.md), so a group must never be deleted while its keys still matter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Where a key is documented. The provider's own list of the keys it knows (exporter/context.go,
# `workspaceConfKeys`, databricks/terraform-provider-databricks@684f4424) backs most of them; the rest cite
# the Azure Databricks page that documents the key.
PROVIDER_KEYS = ("https://github.com/databricks/terraform-provider-databricks/blob/"
                 "684f4424982431d3433e5c23353c6b208b263e75/exporter/context.go")
_LEARN = "https://learn.microsoft.com/azure/databricks/"

IP_ACCESS = "ip-access"
TOKENS = "tokens"
DATA_EGRESS = "data-egress"
COMPUTE = "compute"
LEGACY_INIT_SCRIPTS = "legacy-init-scripts"
AUDIT = "audit"
HEADERS = "headers"
# The order the groups are written in: the IP access list switch first (it keeps the pre-split resource name).
GROUPS = (IP_ACCESS, TOKENS, DATA_EGRESS, COMPUTE, AUDIT, HEADERS, LEGACY_INIT_SCRIPTS)


@dataclass(frozen=True)
class ConfKey:
    key: str  # the workspace-conf key
    field: str  # the WorkspaceSettingsSpec field that sets it
    why: str
    group: str  # the WorkspaceConf resource (concern) it is written with
    source: str  # where Databricks (or its provider) documents the key


CONF_KEYS: tuple[ConfKey, ...] = (
    ConfKey("maxTokenLifetimeDays", "max_token_lifetime_days", "Caps the lifetime of new personal access tokens.",
            TOKENS, PROVIDER_KEYS),
    ConfKey("enableTokensConfig", "personal_access_tokens",
            "Personal access tokens at all; who may use them is set by the token permissions.", TOKENS, PROVIDER_KEYS),
    ConfKey("enableResultsDownloading", "results_download", "Downloading notebook results: a bulk exfiltration path.",
            DATA_EGRESS, PROVIDER_KEYS),
    ConfKey("enableExportNotebook", "notebook_export", "Exporting notebooks (with their outputs) out of the workspace.",
            DATA_EGRESS, PROVIDER_KEYS),
    ConfKey("enableNotebookTableClipboard", "table_clipboard", "Copying result tables to the clipboard.",
            DATA_EGRESS, PROVIDER_KEYS),
    ConfKey("enableDbfsFileBrowser", "dbfs_file_browser", "Browsing DBFS files in the UI.", DATA_EGRESS, PROVIDER_KEYS),
    ConfKey("enableUploadDataUis", "upload_data_uis", "Uploading data through the UI, around governed ingestion.",
            DATA_EGRESS, PROVIDER_KEYS),
    ConfKey("enableWebTerminal", "web_terminal", "A shell on cluster drivers from the browser.", COMPUTE, PROVIDER_KEYS),
    ConfKey("enableVerboseAuditLogs", "verbose_audit_logs", "Audit events for every notebook command, for the SIEM.",
            AUDIT, PROVIDER_KEYS),
    ConfKey("enableDeprecatedGlobalInitScripts", "legacy_global_init_scripts",
            "Legacy global init scripts run unaudited on every cluster.", LEGACY_INIT_SCRIPTS, PROVIDER_KEYS),
    ConfKey("enableDeprecatedClusterNamedInitScripts", "legacy_cluster_named_init_scripts",
            "Legacy cluster-named init scripts, outside cluster policies.", LEGACY_INIT_SCRIPTS, PROVIDER_KEYS),
    ConfKey("enableDcs", "container_services", "Custom container images on clusters (Databricks Container Services).",
            COMPUTE, _LEARN + "compute/custom-containers"),
    ConfKey("storeInteractiveNotebookResultsInCustomerAccount", "store_results_in_customer_account",
            "Interactive notebook results kept in the workspace's own storage, not the control plane.", AUDIT, PROVIDER_KEYS),
    ConfKey("enforceUserIsolation", "enforce_user_isolation",
            "Shared clusters must isolate users (no unrestricted no-isolation shared compute).", COMPUTE, PROVIDER_KEYS),
    ConfKey("enable-X-Frame-Options", "security_headers", "Clickjacking protection header.", HEADERS, PROVIDER_KEYS),
    ConfKey("enable-X-Content-Type-Options", "security_headers", "MIME-sniffing protection header.", HEADERS, PROVIDER_KEYS),
    ConfKey("enable-X-XSS-Protection", "security_headers", "Cross-site scripting protection header.", HEADERS, PROVIDER_KEYS),
)
IP_ACCESS_LISTS_KEY = ConfKey("enableIpAccessLists", "ip_access.enabled",
                              "Turns the IP access lists on; without it they are stored but not enforced.", IP_ACCESS,
                              PROVIDER_KEYS)
ALL_KEYS: tuple[ConfKey, ...] = (IP_ACCESS_LISTS_KEY, *CONF_KEYS)

# Keys a newer workspace may refuse ("Invalid keys"): legacy global and cluster-named init scripts are end of
# life and can no longer be used (learn.microsoft.com/azure/databricks/archive/init-scripts/legacy-cluster-named),
# so their switches are in a group of their own.
MAY_BE_REFUSED = frozenset({"enableDeprecatedGlobalInitScripts", "enableDeprecatedClusterNamedInitScripts"})


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def workspace_conf(settings: Any, ip_access_enabled: bool, token_users: int) -> dict[str, str]:
    """Every key and value the workspace gets. Tokens stay off when nobody is allowed to use them."""
    conf = {c.key: _text(getattr(settings, c.field)) for c in CONF_KEYS}
    conf["enableTokensConfig"] = _text(bool(settings.personal_access_tokens and token_users))
    conf[IP_ACCESS_LISTS_KEY.key] = _text(ip_access_enabled)
    return dict(sorted(conf.items()))


def conf_groups(settings: Any, ip_access_enabled: bool, token_users: int) -> dict[str, dict[str, str]]:
    """`workspace_conf` split by concern, in `GROUPS` order: one WorkspaceConf resource each."""
    conf = workspace_conf(settings, ip_access_enabled, token_users)
    group_of = {c.key: c.group for c in ALL_KEYS}
    return {g: {k: v for k, v in conf.items() if group_of[k] == g} for g in GROUPS}


def resource_suffix(group: str) -> str:
    """`<name>-conf` for the IP access switch (the pre-split name), `<name>-conf-<group>` for the rest."""
    return "conf" if group == IP_ACCESS else f"conf-{group}"
