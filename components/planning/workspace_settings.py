"""The workspace conf table: each security-relevant admin setting, its Databricks key and why.

Pure data: the component registers `workspace_conf(...)`, the README documents this table and
the checks read it. Values are strings because the workspace-conf API takes strings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ConfKey:
    key: str  # the workspace-conf key
    field: str  # the WorkspaceSettingsSpec field that sets it
    why: str


CONF_KEYS: tuple[ConfKey, ...] = (
    ConfKey("maxTokenLifetimeDays", "max_token_lifetime_days", "Caps the lifetime of new personal access tokens."),
    ConfKey("enableTokensConfig", "personal_access_tokens",
            "Personal access tokens at all; who may use them is set by the token permissions."),
    ConfKey("enableResultsDownloading", "results_download", "Downloading notebook results: a bulk exfiltration path."),
    ConfKey("enableExportNotebook", "notebook_export", "Exporting notebooks (with their outputs) out of the workspace."),
    ConfKey("enableNotebookTableClipboard", "table_clipboard", "Copying result tables to the clipboard."),
    ConfKey("enableDbfsFileBrowser", "dbfs_file_browser", "Browsing DBFS files in the UI."),
    ConfKey("enableUploadDataUis", "upload_data_uis", "Uploading data through the UI, around governed ingestion."),
    ConfKey("enableWebTerminal", "web_terminal", "A shell on cluster drivers from the browser."),
    ConfKey("enableVerboseAuditLogs", "verbose_audit_logs", "Audit events for every notebook command, for the SIEM."),
    ConfKey("enableDeprecatedGlobalInitScripts", "legacy_global_init_scripts",
            "Legacy global init scripts run unaudited on every cluster."),
    ConfKey("enableDeprecatedClusterNamedInitScripts", "legacy_cluster_named_init_scripts",
            "Legacy cluster-named init scripts, outside cluster policies."),
    ConfKey("enableDcs", "container_services", "Custom container images on clusters (Databricks Container Services)."),
    ConfKey("storeInteractiveNotebookResultsInCustomerAccount", "store_results_in_customer_account",
            "Interactive notebook results kept in the workspace's own storage, not the control plane."),
    ConfKey("enforceUserIsolation", "enforce_user_isolation",
            "Shared clusters must isolate users (no unrestricted no-isolation shared compute)."),
    ConfKey("enable-X-Frame-Options", "security_headers", "Clickjacking protection header."),
    ConfKey("enable-X-Content-Type-Options", "security_headers", "MIME-sniffing protection header."),
    ConfKey("enable-X-XSS-Protection", "security_headers", "Cross-site scripting protection header."),
)
IP_ACCESS_LISTS_KEY = ConfKey("enableIpAccessLists", "ip_access.enabled",
                              "Turns the IP access lists on; without it they are stored but not enforced.")


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def workspace_conf(settings: Any, ip_access_enabled: bool, token_users: int) -> dict[str, str]:
    """The custom_config map for the workspace. Tokens stay off when nobody is allowed to use them."""
    conf = {c.key: _text(getattr(settings, c.field)) for c in CONF_KEYS}
    conf["enableTokensConfig"] = _text(bool(settings.personal_access_tokens and token_users))
    conf[IP_ACCESS_LISTS_KEY.key] = _text(ip_access_enabled)
    return dict(sorted(conf.items()))
