"""The Kubernetes ingress tier: cluster, Traefik controller, routes, oauth2-proxy, connectors."""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.spec.base import StrictModel
from components.spec.errors import Problem, raise_problems

_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_HOST = re.compile(r"(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def _label(v: str) -> str:
    if not _DNS_LABEL.fullmatch(v):
        raise ValueError("a DNS label: 1-63 lowercase letters, digits and -, starting and ending with a letter or digit")
    return v


def _cidrs(values: tuple[str, ...]) -> tuple[str, ...]:
    bad = []
    for v in values:
        try:
            ipaddress.ip_network(v, strict=True)
        except ValueError as exc:
            bad.append(f"{v!r} is not a CIDR with its host bits clear ({exc})")
    if bad:
        raise ValueError("; ".join(bad))
    return values


def _vm_size(v: str) -> str:
    if not re.fullmatch(r"Standard_[A-Za-z0-9_]+", v):
        raise ValueError("an Azure VM size such as Standard_D4ds_v5")
    return v


class AksUserPoolSpec(StrictModel):
    """A user node pool for the ingress tier's workloads, apart from the system pool.

    With one, the system pool is tainted `CriticalAddonsOnly=true:NoSchedule`, so it keeps only critical system pods
    and the tier's pods run here (https://learn.microsoft.com/azure/aks/use-system-pools). It takes the cluster's
    OS disk and encryption-at-host settings and autoscales between min_count and max_count."""

    # Linux pool names: lowercase letters and digits, starting with a letter, 1-12 characters
    # (https://learn.microsoft.com/azure/aks/create-node-pools#limitations).
    name: str = "ingress"
    vm_size: str = "Standard_D4ds_v5"
    min_count: int = Field(default=2, ge=1, le=100)
    max_count: int = Field(default=4, ge=1, le=100)
    max_pods: int = Field(default=50, ge=10, le=250)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if v == "system" or not re.fullmatch(r"[a-z][a-z0-9]{0,11}", v):
            raise ValueError("a Linux node pool name: 1-12 lowercase letters and digits, starting with a letter, not 'system'")
        return v

    _size = field_validator("vm_size")(classmethod(lambda cls, v: _vm_size(v)))

    @model_validator(mode="after")
    def _counts(self) -> AksUserPoolSpec:
        if self.min_count > self.max_count:
            raise_problems([Problem(("max_count",), f"below min_count ({self.min_count})")])
        return self


class AksSpec(StrictModel):
    """A private AKS cluster in the workspace VNet's AKS subnet (network.subnets.aks_prefix_length)."""

    kubernetes_version: str = "1.33"
    vm_size: str = "Standard_D4ds_v5"
    node_count: int = Field(default=2, ge=1, le=100)
    max_pods: int = Field(default=50, ge=10, le=250)
    private_api_server: bool = True
    # Only when the API server is public: who may reach it.
    authorized_ip_ranges: tuple[str, ...] = ()
    # The engine that enforces NetworkPolicies; never none.
    network_policy: Literal["azure", "calico", "cilium"] = "calico"
    # Cluster auto-upgrade channel; never none. `patch` keeps the minor version this spec pins (kubernetes_version)
    # and takes its patch releases; `stable`/`rapid` would move the minor version away from the spec
    # (https://learn.microsoft.com/azure/aks/auto-upgrade-cluster).
    upgrade_channel: Literal["patch", "stable", "rapid", "node-image"] = "patch"
    # Node OS security updates, apart from the cluster channel: NodeImage rolls a patched VHD weekly, at no extra
    # cost; SecurityPatch patches in place (https://learn.microsoft.com/azure/aks/auto-upgrade-node-image). Never None.
    node_os_upgrade_channel: Literal["NodeImage", "SecurityPatch"] = "NodeImage"
    # Ephemeral OS disks live on the VM's local storage (cache or temp disk), so node state never lands in Azure
    # Storage; the OS disk must fit that local storage, or AKS rejects the pool
    # (https://learn.microsoft.com/azure/aks/concepts-storage#ephemeral-os-disk). Standard_D4ds_v5 has a 150 GiB
    # temp disk and supports ephemeral OS disks (MicrosoftDocs/azure-docs articles/virtual-machines/ddv5-ddsv5-series.md).
    os_disk_type: Literal["Ephemeral", "Managed"] = "Ephemeral"
    os_disk_size_gb: int = Field(default=64, ge=30, le=2048)
    # Host-based encryption of temp disks, OS/data disk caches and their flows to Storage. The subscription must
    # register the Microsoft.Compute/EncryptionAtHost feature first (`az feature register --namespace
    # Microsoft.Compute --name EncryptionAtHost`); only at pool creation (https://learn.microsoft.com/azure/aks/enable-host-encryption).
    encryption_at_host: bool = True
    # The Secrets Store CSI driver's Key Vault provider, with auto-rotation: mounted secrets follow Key Vault within
    # the poll interval (https://learn.microsoft.com/azure/aks/csi-secrets-store-configuration-options).
    secret_rotation_poll_interval: str = "2m"
    # A separate user pool for the tier's workloads (None: everything runs on the system pool).
    user_pool: AksUserPoolSpec | None = None
    # The Entra ID group (object id) that administers the cluster: it holds "Azure Kubernetes Service RBAC Cluster
    # Admin" on it, beside the identity that runs `pulumi up` (https://learn.microsoft.com/azure/aks/manage-azure-rbac).
    admin_group_object_id: str | None = None

    @field_validator("kubernetes_version")
    @classmethod
    def _version(cls, v: str) -> str:
        if not re.fullmatch(r"1\.(2[89]|3[0-9])(\.\d+)?", v):
            raise ValueError("a supported AKS version such as 1.33 or 1.33.2")
        return v

    _vm = field_validator("vm_size")(classmethod(lambda cls, v: _vm_size(v)))

    _ranges = field_validator("authorized_ip_ranges")(classmethod(lambda cls, v: _cidrs(v)))

    @field_validator("admin_group_object_id")
    @classmethod
    def _group(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", v):
            raise ValueError("an Entra ID group object id (a lowercase GUID)")
        return v

    @field_validator("secret_rotation_poll_interval")
    @classmethod
    def _interval(cls, v: str) -> str:
        if not re.fullmatch(r"[1-9]\d*[smh]", v):
            raise ValueError("a duration such as 2m, 30s or 1h")
        return v

    @model_validator(mode="after")
    def _reachable_api(self) -> AksSpec:
        if not self.private_api_server and not self.authorized_ip_ranges:
            raise_problems([Problem(("authorized_ip_ranges",),
                                    "a public API server needs authorized IP ranges; or keep private_api_server")])
        if self.private_api_server and self.authorized_ip_ranges:
            raise_problems([Problem(("authorized_ip_ranges",), "a private API server has no public ranges to authorize")])
        return self

    @model_validator(mode="after")
    def _ephemeral_fits(self) -> AksSpec:
        # Azure's size names mark a local temp disk with a lower-case `d` among the additive features from v4 on
        # (https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions; Dv5/Dsv5 "don't require local temp
        # disk", Ddv5/Ddsv5 have one: MicrosoftDocs/azure-docs articles/virtual-machines/dv5-dsv5-series.md):
        # without one (and without a cache) there is no local storage for an ephemeral OS disk.
        problems = []
        pools: list[tuple[tuple[str, ...], str]] = [(("os_disk_type",), self.vm_size)]
        if self.user_pool is not None:
            pools.append((("user_pool", "vm_size"), self.user_pool.vm_size))
        for path, size in pools:
            if self.os_disk_type == "Ephemeral" and _no_local_disk(size):
                problems.append(Problem(path, f"{size} has no local temp disk for an ephemeral OS disk (os_disk_type): "
                                              "pick a size with one (e.g. Standard_D4ds_v5) or os_disk_type 'Managed'"))
        if problems:
            raise_problems(problems)
        return self


def _no_local_disk(vm_size: str) -> bool:
    """A v4-or-later size whose additive features (the lower-case letters after the vCPU count) lack `d`."""
    m = re.fullmatch(r"Standard_[A-Z]+\d+(?:-\d+)?([a-z]*)_v(\d+)", vm_size)
    return m is not None and int(m.group(2)) >= 4 and "d" not in m.group(1)


_GUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Entra ID's issuers: v2.0 tokens carry `iss` https://login.microsoftonline.com/<tenant>/v2.0, v1.0 tokens
# https://sts.windows.net/<tenant>/ (MicrosoftDocs/entra-docs docs/identity-platform/access-token-claims-reference.md, `iss`).
_ENTRA_V2 = re.compile(r"https://login\.microsoftonline\.com/([^/]+)/v2\.0")
_ENTRA_V1 = re.compile(r"https://sts\.windows\.net/([^/]+)/")


def _entra_version(issuer: str) -> str | None:
    """'2.0' or '1.0' for an Entra ID tenant issuer, '?' for another Entra URL, None for a non-Entra issuer."""
    for version, pattern in (("2.0", _ENTRA_V2), ("1.0", _ENTRA_V1)):
        m = pattern.fullmatch(issuer)
        if m and _GUID.fullmatch(m.group(1)):
            return version
    host = issuer.split("/")[2] if issuer.count("/") >= 2 else ""
    return "?" if host in ("login.microsoftonline.com", "sts.windows.net") else None


class OAuth2ProxySpec(StrictModel):
    """oauth2-proxy: browser sign-in (OIDC) and bearer-JWT validation for routes, as Traefik forward auth.
    Its client and cookie secrets come from stack config as Pulumi secrets.

    With Entra ID: `issuer_url` is the tenant's v2.0 issuer, `client_id` the web app registration that signs browser
    users in, `allowed_groups` group object ids (the `groups` claim), `api_client_id` the protected API's application
    (client) id, which v2.0 access tokens carry as `aud`, and `app_roles` the API's app roles that admit app-only
    tokens on `app` routes (the `roles` claim)."""

    issuer_url: str
    client_id: str
    allowed_groups: tuple[str, ...] = ()
    email_domains: tuple[str, ...] = ()
    # Extra issuers whose bearer JWTs are accepted on "jwt" routes: (issuer URL, audience).
    jwt_issuers: tuple[tuple[str, str], ...] = ()
    api_client_id: str | None = None
    app_roles: tuple[str, ...] = ()
    image: str = "quay.io/oauth2-proxy/oauth2-proxy:v7.12.0"

    @field_validator("issuer_url")
    @classmethod
    def _https(cls, v: str) -> str:
        if not re.fullmatch(r"https://[^\s/]+(/[^\s]*)?", v):
            raise ValueError("an https:// issuer URL")
        return v

    @model_validator(mode="after")
    def _who(self) -> OAuth2ProxySpec:
        problems = []
        entra = _entra_version(self.issuer_url)
        if entra is not None and entra != "2.0":
            # oauth2-proxy discovers the issuer and go-oidc refuses a discovery document whose `issuer` differs from the
            # configured URL (coreos/go-oidc oidc/oidc.go NewProvider, "issuer did not match"): `common` and
            # `organizations` publish a `{tenantid}` template. Browser sign-in uses the v2.0 endpoints.
            problems.append(Problem(("issuer_url",), "an Entra ID issuer is the tenant's v2.0 issuer: "
                                                     "https://login.microsoftonline.com/<tenant id>/v2.0"))
        for field, value in (("client_id", self.client_id), ("api_client_id", self.api_client_id)):
            if value is not None and not value.strip():
                # pkg/validation/providers.go:45-47: "provider missing setting: client-id".
                problems.append(Problem((field,), "an OAuth client id; oauth2-proxy does not start without one"))
        if entra is not None:
            # Entra application (client) ids and group object ids are GUIDs (access-token-claims-reference.md: `aud`
            # in v2.0 is the API's client id, `groups` a JSON array of GUIDs).
            ids: list[tuple[str, str]] = [("client_id", self.client_id)]
            if self.api_client_id is not None:
                ids.append(("api_client_id", self.api_client_id))
            for field, value in ids:
                if not _GUID.fullmatch(value):
                    problems.append(Problem((field,), "an Entra application (client) id: a lowercase GUID"))
            problems += [Problem(("allowed_groups", i), "an Entra group object id (the groups claim holds GUIDs)")
                         for i, g in enumerate(self.allowed_groups) if not _GUID.fullmatch(g)]
        if not self.allowed_groups and not self.email_domains:
            problems.append(Problem(("allowed_groups",), "name the allowed groups or email domains; otherwise any account of the issuer gets in"))
        if "*" in self.email_domains:
            problems.append(Problem(("email_domains",), "'*' admits every account of the issuer; name the domains"))
        if self.email_domains and self.jwt_issuers:
            # A bearer session's email is the token's `email` claim or else `sub` (pkg/apis/middleware/session.go:39-41,
            # providers/oidc.go:210-213), and access tokens carry no email by default: named email domains would
            # refuse every bearer token (oauthproxy.go getAuthenticatedSession, validator.go).
            problems.append(Problem(("email_domains",), "bearer tokens (jwt_issuers) carry no email claim, so named email "
                                                        "domains refuse them all; authorise by allowed_groups instead"))
        # pflag reads --allowed-group, --email-domain and --extra-jwt-issuers as CSV (spf13/pflag string_slice.go
        # readAsCSV, Go encoding/csv): a comma would split one value into two, a bare quote is a parse error.
        for field, values in (("allowed_groups", self.allowed_groups), ("email_domains", self.email_domains),
                              ("app_roles", self.app_roles)):
            problems += [Problem((field, i), "no commas, quotes or white space (oauth2-proxy reads list flags as CSV)")
                         for i, v in enumerate(values) if not v or re.search(r"[,\s\"]", v)]
        # An api_client_id that is not a GUID is reported above; audiences are then judged on their own.
        api = self.api_client_id if self.api_client_id and _GUID.fullmatch(self.api_client_id) else None
        for i, (issuer, audience) in enumerate(self.jwt_issuers):
            problems += [Problem(("jwt_issuers", i, j), m) for j, m in _jwt_issuer_problems(issuer, audience, api)]
        if problems:
            raise_problems(problems)
        return self


def _jwt_issuer_problems(issuer: str, audience: str, api_client_id: str | None) -> list[tuple[int, str]]:
    """(0 issuer | 1 audience, reason) for one --extra-jwt-issuers pair."""
    # oauth2-proxy splits `issuer=audience` at the first `=` (pkg/validation/options.go:129-141).
    if not re.fullmatch(r"https://[^\s/=,\"]+(/[^\s=,\"]*)?", issuer):
        return [(0, "an https:// issuer URL without '=' or ',' (oauth2-proxy reads issuer=audience)")]
    if not audience or re.search(r"[\s,\"]", audience):
        return [(1, "the audience the tokens carry, without ',', quotes or white space")]
    version = _entra_version(issuer)
    if version is None:
        return []
    if version == "?":
        return [(0, "an Entra ID tenant issuer: https://login.microsoftonline.com/<tenant id>/v2.0")]
    # v2.0 access tokens: `aud` is always the API's client id; v1.0: the client id or the App ID URI requested
    # (access-token-claims-reference.md, `aud`). The default App ID URI is api://<application id>.
    if api_client_id is not None and audience not in (
            expected := (api_client_id,) if version == "2.0" else (api_client_id, f"api://{api_client_id}")):
        return [(1, f"Entra v{version} access tokens carry {' or '.join(expected)} (api_client_id) as aud")]
    if version == "2.0" and not _GUID.fullmatch(audience):
        return [(1, "Entra v2.0 access tokens carry the API's application (client) id as aud: a GUID, never an api:// URI")]
    m = re.fullmatch(r"api://(.+)", audience)
    if version == "1.0" and not _GUID.fullmatch(audience) and not (m and _GUID.fullmatch(m.group(1))):
        return [(1, "Entra v1.0 access tokens carry the API's client id or its App ID URI api://<application id> as aud")]
    return []


class ConnectorIdentitySpec(StrictModel):
    """A connector's own identity: a user-assigned managed identity the toolkit creates, trusted for the connector's
    service account through AKS workload identity (a federated identity credential; no client secret, no personal
    access token: https://learn.microsoft.com/azure/aks/workload-identity-overview), and registered in the workspace as
    its own Databricks service principal (application id = the identity's client id;
    https://learn.microsoft.com/azure/databricks/dev-tools/auth/azure-mi)."""

    # Databricks SQL (warehouses) for this connector's service principal; workspace access is always on.
    databricks_sql_access: bool = False


class ConnectorSpec(StrictModel):
    """A workload behind the ingress that talks to Databricks, with its own service account and identity."""

    name: str
    port: int = Field(default=8443, ge=1, le=65535)
    image: str
    # Every connector has its own identity (workload identity, one Databricks service principal per connector);
    # None is rejected: there is no shared identity, secret or token to fall back on.
    identity: ConnectorIdentitySpec | None = ConnectorIdentitySpec()
    # Serves TLS itself (the ingress verifies it); "mtls" also asks the ingress for a client certificate.
    upstream: Literal["https", "mtls"] = "https"

    _name = field_validator("name")(classmethod(lambda cls, v: _label(v)))

    @model_validator(mode="after")
    def _identity(self) -> ConnectorSpec:
        if self.identity is None:
            raise_problems([Problem(("identity",), "every connector needs its own identity (AKS workload identity and "
                                                   "its own Databricks service principal); no client secret or "
                                                   "personal access token stands in for one")])
        return self


# The methods a route may allow. Traefik v3's `Method` matcher compares one method exactly (upper-cased), so GET does
# not imply HEAD (traefik/traefik v3.5.2 pkg/muxer/http/matcher.go, `method`). CONNECT and TRACE are never routed.
HttpMethod = Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class RouteSpec(StrictModel):
    name: str
    host: str
    path: str = "/"
    match: Literal["Exact", "Prefix"] = "Prefix"
    backend: str  # a connector's name
    # The HTTP methods this route serves (required, no default): the IngressRoute matches only these, so a read-only
    # route cannot POST runs/submit or DELETE; another method on the route's host and path gets 405 (a second,
    # lower-priority rule per route, components/ingress.py).
    methods: tuple[HttpMethod, ...]
    # oauth2: browser users signed in through the issuer, by group; jwt: users' bearer tokens, by group; app: app-only
    # bearer tokens (client credentials), by app role. "jwt" and "app" routes match only requests carrying
    # `Authorization: Bearer` (machine clients: no browser session reaches them).
    auth: Literal["oauth2", "jwt", "app"] = "oauth2"
    # Source addresses allowed on this route (Traefik IPAllowList); empty allows any source that reaches the LB.
    allow_cidrs: tuple[str, ...] = ()
    tls: bool = True
    certificate_issuer: Literal["acme", "private-ca"] = "private-ca"
    # Require and verify client certificates against this CA (a Secret in the ingress namespace).
    client_ca_secret: str | None = None
    client_mtls: bool = False

    _name = field_validator("name")(classmethod(lambda cls, v: _label(v)))
    _backend = field_validator("backend")(classmethod(lambda cls, v: _label(v)))
    _allow = field_validator("allow_cidrs")(classmethod(lambda cls, v: _cidrs(v)))

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        if not _HOST.fullmatch(v) or len(v) > 253:
            raise ValueError("a lowercase DNS name such as api.example.com (one leading *. at most)")
        return v

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not re.fullmatch(r"/[A-Za-z0-9._~/-]*", v) or "//" in v or "/../" in f"{v}/":
            raise ValueError("an absolute path of letters, digits and . _ ~ - / (no regex, no '..')")
        return v

    @field_validator("tls")
    @classmethod
    def _tls(cls, v: bool) -> bool:
        if not v:
            raise ValueError("every route terminates TLS (1.2 or later); plain HTTP is never routed")
        return v

    @field_validator("methods")
    @classmethod
    def _methods(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("state the HTTP methods this route allows, e.g. ['GET'] for a read-only route")
        twice = sorted({m for m in v if v.count(m) > 1})
        if twice:
            raise ValueError(f"{', '.join(twice)} listed more than once")
        return v

    @model_validator(mode="after")
    def _route(self) -> RouteSpec:
        problems = []
        if self.client_mtls and self.client_ca_secret is None:
            problems.append(Problem(("client_ca_secret",), "client mTLS needs the CA that signs client certificates"))
        if self.client_ca_secret is not None and not self.client_mtls:
            problems.append(Problem(("client_mtls",), "a client CA is set but client mTLS is off; set client_mtls: true"))
        if self.client_ca_secret is not None:
            try:
                _label(self.client_ca_secret)
            except ValueError as exc:
                problems.append(Problem(("client_ca_secret",), str(exc)))
        if problems:
            raise_problems(problems)
        return self


class IngressSpec(StrictModel):
    enabled: bool = False
    cluster: Literal["aks", "existing"] = "aks"
    aks: AksSpec = AksSpec()
    namespace: str = "ingress"
    apps_namespace: str = "databricks-apps"
    load_balancer: Literal["internal", "public"] = "internal"
    # Who may reach the load balancer at all (Azure LB source ranges).
    load_balancer_source_ranges: tuple[str, ...] = ()
    replicas: int = Field(default=2, ge=1, le=10)
    acme_email: str | None = None
    oauth2_proxy: OAuth2ProxySpec | None = None
    connectors: tuple[ConnectorSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    # Where connectors may send traffic besides the Databricks private endpoints.
    approved_egress_cidrs: tuple[str, ...] = ()
    # An existing cluster's API server range (AKS: the toolkit uses the AKS subnet).
    api_server_cidr: str | None = None
    # Where Prometheus runs: the only namespace that may scrape the controller's per-route metrics.
    metrics_namespace: str | None = "monitoring"
    # An existing cluster's OIDC issuer URL (`az aks show --query oidcIssuerProfile.issuerUrl`): the issuer its
    # connectors' federated identity credentials trust. AKS clusters the toolkit creates publish their own.
    oidc_issuer_url: str | None = None

    _ns = field_validator("namespace", "apps_namespace")(classmethod(lambda cls, v: _label(v)))
    _metrics = field_validator("metrics_namespace")(classmethod(lambda cls, v: v if v is None else _label(v)))
    _lb = field_validator("load_balancer_source_ranges", "approved_egress_cidrs")(classmethod(lambda cls, v: _cidrs(v)))

    @field_validator("acme_email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[a-z]{2,}", v):
            raise ValueError("an email address for the ACME account")
        return v

    @field_validator("oidc_issuer_url")
    @classmethod
    def _issuer(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https://[^\s/]+(/[^\s]*)?", v):
            raise ValueError("an https:// OIDC issuer URL")
        return v

    @field_validator("api_server_cidr")
    @classmethod
    def _api(cls, v: str | None) -> str | None:
        return None if v is None else _cidrs((v,))[0]
