"""Invalid ingress tiers are rejected with every problem at its dotted field path, and nothing is registered.

Routes, connectors, oauth2-proxy, the AKS cluster (or an existing one), namespaces and the load balancer, plus
the cross-field rule `_ingress` (AKS subnet, prod wildcards, prod allowlists and source ranges). Like
tests/test_invalid_access.py, each case edits a valid base with `edit` (numeric segments index lists) and lists
every problem it must produce as (dotted path, reason fragment); the reported paths must equal the expected set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from brickwall import project
from brickwall.engine import Secret
from components.spec import EnvironmentSpec
from tests.spec_cases import (
    DELETE,
    Case,
    assert_reported,
    base,
    case_params,
    check_file_loader,
    check_program_registers_nothing,
    check_reported,
    edit,
    problems_of,
)

# The prod base (stacks/prod.py) enables the tier: an AKS cluster in a /23 subnet, an internal load balancer with
# source ranges, oauth2-proxy with one JWT issuer, connectors sql-gateway and jobs-api, and two routes:
#   routes.0 "sql"  sql.data.contoso.com/  -> sql-gateway, oauth2, allow 10.200.0.0/16
#   routes.1 "jobs" jobs.data.contoso.com/api/2.1/jobs -> jobs-api, jwt, allow 10.200.10.0/24, client mTLS (partner-client-ca)
# "dev-ingress" is the dev stack with prod's ingress section and an AKS subnet: dev rules, the same tier.
R0, R1 = "ingress.routes.0", "ingress.routes.1"
OAUTH = "ingress.oauth2_proxy"
AKS = "ingress.aks"
HOST_REASON = "a lowercase DNS name such as api.example.com"
PATH_REASON = "an absolute path of letters, digits and . _ ~ - / (no regex, no '..')"
LABEL_REASON = "a DNS label: 1-63 lowercase letters"
TENANT_ISSUER = "https://login.microsoftonline.com/5b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d10/v2.0"
V1_ISSUER = "https://sts.windows.net/5b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d10/"
API = "2c1d0e9f-8a7b-4c6d-9e5f-1a2b3c4d5e6f"  # prod's connectors API (api_client_id)
KUBECONFIG = "apiVersion: v1\nkind: Config\n"
EXISTING_ISSUER = "https://westeurope.oic.prod-aks.azure.com/5b3c2d1e-0f9a-4b8c-9d7e-6f5a4b3c2d10/1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f/"


def ingress_base(name: str) -> dict[str, Any]:
    if name == "dev-ingress":
        prod = base("prod")
        return edit(base("dev"), {"ingress": prod["ingress"], "network.subnets.aks_prefix_length": 23})
    if name == "prod-existing":
        return edit(base("prod"), {"ingress.cluster": "existing", "ingress.api_server_cidr": "10.40.0.0/28",
                                   "ingress.oidc_issuer_url": EXISTING_ISSUER})
    return base(name)


# Another route like prod's jobs route (same host, client CA and connector), for cases that add routes.
JOBS_LIKE: dict[str, Any] = {"name": "jobs-2", "host": "jobs.data.contoso.com", "path": "/api/2.1/jobs", "backend": "jobs-api",
                             "methods": ["GET"], "auth": "jwt", "allow_cidrs": ["10.200.10.0/24"], "client_mtls": True,
                             "client_ca_secret": "partner-client-ca"}


@dataclass(frozen=True)
class IngressCase(Case):
    def data(self) -> dict[str, Any]:
        return edit(ingress_base(self.base), self.changes)


CASES: list[IngressCase] = [
    # --- routes: uniqueness ----------------------------------------------------------------------------------
    IngressCase("duplicate-host-path-and-match", "prod",
                {f"{R1}.host": "sql.data.contoso.com", f"{R1}.path": "/", f"{R1}.client_mtls": False, f"{R1}.client_ca_secret": None},
                ((f"{R1}.path", "Prefix sql.data.contoso.com/ is already routed by route 0"),)),
    IngressCase("duplicate-exact-route-on-a-third-route", "prod",
                {"ingress.routes": [*base("prod")["ingress"]["routes"],
                                    {**JOBS_LIKE, "name": "jobs-exact", "match": "Exact"},
                                    {**JOBS_LIKE, "name": "jobs-exact-2", "match": "Exact"}]},
                (("ingress.routes.3.path", "Exact jobs.data.contoso.com/api/2.1/jobs is already routed by route 2"),)),
    IngressCase("duplicate-route-names", "prod", {f"{R1}.name": "sql"},
                ((f"{R1}.name", "route 'sql' appears twice"),)),
    # --- routes: methods ---------------------------------------------------------------------------------------------
    IngressCase("route-without-methods", "prod", {f"{R1}.methods": DELETE},
                ((f"{R1}.methods", "Field required"),), program=True, fmt="json"),
    IngressCase("route-with-no-method", "prod", {f"{R0}.methods": []},
                ((f"{R0}.methods", "state the HTTP methods this route allows"),)),
    IngressCase("route-with-an-unknown-method", "dev-ingress", {f"{R1}.methods": ["GET", "TRACE"]},
                ((f"{R1}.methods.1", "'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE' or 'OPTIONS'"),)),
    IngressCase("route-with-a-lowercase-method", "prod", {f"{R1}.methods": ["get"]},
                ((f"{R1}.methods.0", "'GET', 'HEAD'"),)),
    IngressCase("route-with-a-method-twice", "prod", {f"{R0}.methods": ["GET", "POST", "GET"]},
                ((f"{R0}.methods", "GET listed more than once"),)),
    # --- routes: client certificates per host and per connector ----------------------------------------------------
    # Route 0 on the jobs host without client mTLS: Traefik would fall back to the default TLS options for the host.
    IngressCase("routes-on-one-host-with-different-client-cas", "prod", {f"{R0}.host": "jobs.data.contoso.com"},
                ((f"{R1}.client_ca_secret", "route 0 on host jobs.data.contoso.com asks no client certificate; "
                                            "Traefik applies TLS options per host"),)),
    IngressCase("routes-on-one-host-with-two-client-cas", "prod",
                {"ingress.routes": [*base("prod")["ingress"]["routes"],
                                    {**JOBS_LIKE, "name": "jobs-runs", "path": "/api/2.1/jobs/runs", "client_ca_secret": "other-ca"}]},
                (("ingress.routes.2.client_ca_secret", "route 1 on host jobs.data.contoso.com asks client CA 'partner-client-ca'"),)),
    IngressCase("one-client-ca-for-two-connectors", "prod",
                {f"{R0}.client_mtls": True, f"{R0}.client_ca_secret": "partner-client-ca"},
                ((f"{R1}.client_ca_secret", "client CA 'partner-client-ca' already trusts the clients of connector 'sql-gateway' (route 0)"),)),
    IngressCase("sixteen-routes-on-one-host", "prod",
                {"ingress.routes": [*base("prod")["ingress"]["routes"],
                                    *({**JOBS_LIKE, "name": f"jobs-{i}", "path": f"/api/2.1/jobs/{i}"} for i in range(15))]},
                (("ingress.routes.16.host", "more than 15 routes on jobs.data.contoso.com"),)),
    # --- routes: TLS, wildcards and allowlists --------------------------------------------------------------------
    IngressCase("prod-wildcard-host", "prod", {f"{R0}.host": "*.data.contoso.com"},
                ((f"{R0}.host", "prod routes name exact hosts, never wildcards"),), program=True, fmt="json"),
    IngressCase("route-without-tls", "dev-ingress", {f"{R0}.tls": False},
                ((f"{R0}.tls", "plain HTTP is never routed"),)),
    IngressCase("prod-route-allows-the-whole-internet", "prod", {f"{R0}.allow_cidrs": ["10.200.0.0/16", "0.0.0.0/0"]},
                ((f"{R0}.allow_cidrs.1", "prod never allows every source address"),)),
    IngressCase("prod-route-allows-every-ipv6-address", "prod", {f"{R1}.allow_cidrs": ["::/0"]},
                ((f"{R1}.allow_cidrs.0", "prod never allows every source address"),)),
    IngressCase("prod-route-without-allowlist", "prod", {f"{R1}.allow_cidrs": []},
                ((f"{R1}.allow_cidrs", "prod routes carry a source-IP allowlist"),)),
    IngressCase("route-allowlist-host-bits-set", "dev-ingress", {f"{R0}.allow_cidrs": ["10.200.0.1/16"]},
                ((f"{R0}.allow_cidrs", "'10.200.0.1/16' is not a CIDR with its host bits clear"),)),
    # --- routes: client mTLS -----------------------------------------------------------------------------------------
    IngressCase("client-mtls-without-ca-secret", "prod", {f"{R1}.client_ca_secret": None},
                ((f"{R1}.client_ca_secret", "client mTLS needs the CA that signs client certificates"),),
                program=True, fmt="yaml"),
    IngressCase("ca-secret-without-client-mtls", "prod", {f"{R1}.client_mtls": False},
                ((f"{R1}.client_mtls", "a client CA is set but client mTLS is off"),)),
    IngressCase("ca-secret-name-not-a-dns-label", "prod", {f"{R1}.client_ca_secret": "Partner_Client_CA"},
                ((f"{R1}.client_ca_secret", LABEL_REASON),)),
    # --- connectors -----------------------------------------------------------------------------------------------------
    IngressCase("unknown-backend-connector", "prod", {f"{R0}.backend": "sql-gw"},
                ((f"{R0}.backend", "unknown connector 'sql-gw'; declare it in ingress.connectors"),)),
    # Renaming jobs-api to a duplicate also leaves route 1 without its backend.
    IngressCase("duplicate-connector-names", "prod", {"ingress.connectors.1.name": "sql-gateway"},
                (("ingress.connectors.1.name", "connector 'sql-gateway' appears twice"),
                 (f"{R1}.backend", "unknown connector 'jobs-api'"))),
    IngressCase("connector-name-not-a-dns-label", "dev-ingress", {"ingress.connectors.0.name": "SQL_Gateway"},
                (("ingress.connectors.0.name", LABEL_REASON),)),
    IngressCase("connector-name-longer-than-63", "dev-ingress", {"ingress.connectors.0.name": "c" * 64},
                (("ingress.connectors.0.name", LABEL_REASON),)),
    IngressCase("connector-ports-out-of-range", "prod", {"ingress.connectors.0.port": 0, "ingress.connectors.1.port": 65536},
                (("ingress.connectors.0.port", "greater than or equal to 1"),
                 ("ingress.connectors.1.port", "less than or equal to 65535"))),
    # --- connector identities (AKS workload identity, one Databricks service principal each) -----------------------------
    IngressCase("connector-without-identity", "prod", {"ingress.connectors.1.identity": None},
                (("ingress.connectors.1.identity", "every connector needs its own identity"),), program=True, fmt="yaml"),
    IngressCase("connector-with-a-personal-access-token", "prod", {"ingress.connectors.1.databricks_auth": "token"},
                (("ingress.connectors.1.databricks_auth", "unknown field"),)),
    IngressCase("connector-identity-unknown-field", "dev-ingress", {"ingress.connectors.0.identity": {"client_secret": "s"}},
                (("ingress.connectors.0.identity.client_secret", "unknown field"),)),
    IngressCase("existing-cluster-connectors-without-oidc-issuer", "prod-existing", {"ingress.oidc_issuer_url": None},
                (("ingress.oidc_issuer_url", "trusts the existing cluster's OIDC issuer"),)),
    IngressCase("created-cluster-with-an-oidc-issuer", "prod", {"ingress.oidc_issuer_url": EXISTING_ISSUER},
                (("ingress.oidc_issuer_url", "publishes its own OIDC issuer"),)),
    IngressCase("oidc-issuer-not-https", "prod-existing", {"ingress.oidc_issuer_url": "http://oidc.example.com/"},
                (("ingress.oidc_issuer_url", "an https:// OIDC issuer URL"),)),
    IngressCase("aks-without-an-admin-group", "dev-ingress", {f"{AKS}.admin_group_object_id": None},
                ((f"{AKS}.admin_group_object_id", "name the Entra ID group that administers the cluster"),)),
    IngressCase("aks-admin-group-not-a-guid", "prod", {f"{AKS}.admin_group_object_id": "aks-admins"},
                ((f"{AKS}.admin_group_object_id", "an Entra ID group object id"),)),
    IngressCase("route-backend-not-a-dns-label", "dev-ingress", {f"{R0}.backend": "sql gateway"},
                ((f"{R0}.backend", LABEL_REASON),)),
    # --- hosts --------------------------------------------------------------------------------------------------------
    IngressCase("host-uppercase", "prod", {f"{R0}.host": "SQL.data.contoso.com"}, ((f"{R0}.host", HOST_REASON),)),
    IngressCase("host-trailing-dot", "prod", {f"{R0}.host": "sql.data.contoso.com."}, ((f"{R0}.host", HOST_REASON),)),
    IngressCase("host-with-spaces", "dev-ingress", {f"{R0}.host": "sql data.contoso.com"}, ((f"{R0}.host", HOST_REASON),)),
    IngressCase("host-ip-literal", "dev-ingress", {f"{R0}.host": "10.200.1.10"}, ((f"{R0}.host", HOST_REASON),)),
    IngressCase("host-double-wildcard", "dev-ingress", {f"{R0}.host": "*.*.contoso.com"}, ((f"{R0}.host", HOST_REASON),)),
    IngressCase("host-with-scheme", "dev-ingress", {f"{R1}.host": "https://jobs.data.contoso.com"}, ((f"{R1}.host", HOST_REASON),)),
    # --- paths --------------------------------------------------------------------------------------------------------
    IngressCase("path-without-leading-slash", "prod", {f"{R1}.path": "api/2.1/jobs"}, ((f"{R1}.path", PATH_REASON),)),
    IngressCase("path-with-dot-dot", "prod", {f"{R1}.path": "/api/../admin"}, ((f"{R1}.path", PATH_REASON),)),
    IngressCase("path-ending-in-dot-dot", "dev-ingress", {f"{R1}.path": "/api/.."}, ((f"{R1}.path", PATH_REASON),)),
    IngressCase("path-with-regex", "dev-ingress", {f"{R1}.path": "/api/(jobs|runs)"}, ((f"{R1}.path", PATH_REASON),)),
    IngressCase("path-with-regex-anchor", "dev-ingress", {f"{R1}.path": "/api/2.1/jobs$"}, ((f"{R1}.path", PATH_REASON),)),
    IngressCase("path-with-double-slash", "prod", {f"{R1}.path": "/api//jobs"}, ((f"{R1}.path", PATH_REASON),)),
    # --- oauth2-proxy ---------------------------------------------------------------------------------------------------
    IngressCase("jwt-route-without-jwt-issuers", "prod", {f"{R1}.auth": "jwt", f"{OAUTH}.jwt_issuers": []},
                ((f"{R1}.auth", "jwt routes need ingress.oauth2_proxy.jwt_issuers"),)),
    IngressCase("routes-without-oauth2-proxy", "prod", {OAUTH: None},
                ((f"{R0}.auth", "oauth2 routes are checked by oauth2-proxy: configure ingress.oauth2_proxy"),
                 (f"{R1}.auth", "app routes are checked by oauth2-proxy"))),
    IngressCase("app-route-without-api-or-roles", "prod", {f"{OAUTH}.app_roles": [], f"{OAUTH}.api_client_id": None,
                                                           f"{OAUTH}.jwt_issuers": []},
                ((f"{R1}.auth", "app routes need ingress.oauth2_proxy.api_client_id and app_roles"),)),
    # oauth2-proxy configurations that would not start, or would refuse every token, each at its field.
    IngressCase("oauth2-audiences-entra-does-not-issue", "prod",
                {f"{OAUTH}.jwt_issuers": [[TENANT_ISSUER, "api://brickwall-connectors"], [TENANT_ISSUER, "connectors"],
                                          [TENANT_ISSUER, "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"],
                                          [V1_ISSUER, "api://brickwall-connectors"], [V1_ISSUER, f"api://{API}"],
                                          ["https://login.microsoftonline.com/common/v2.0", API]]},
                ((f"{OAUTH}.jwt_issuers.0.1", "carry 2c1d0e9f-8a7b-4c6d-9e5f-1a2b3c4d5e6f (api_client_id) as aud"),
                 (f"{OAUTH}.jwt_issuers.1.1", "as aud"), (f"{OAUTH}.jwt_issuers.2.1", "as aud"),
                 (f"{OAUTH}.jwt_issuers.3.1", f"{API} or api://{API} (api_client_id)"),
                 (f"{OAUTH}.jwt_issuers.5.0", "an Entra ID tenant issuer"))),
    IngressCase("oauth2-audiences-without-api-client-id", "dev-ingress",
                {f"{OAUTH}.api_client_id": None, f"{R1}.auth": "jwt",
                 f"{OAUTH}.jwt_issuers": [[TENANT_ISSUER, "api://brickwall-connectors"], [V1_ISSUER, "api://brickwall-connectors"],
                                          [V1_ISSUER, f"api://{API}"], [TENANT_ISSUER, API]]},
                ((f"{OAUTH}.jwt_issuers.0.1", "a GUID, never an api:// URI"),
                 (f"{OAUTH}.jwt_issuers.1.1", "App ID URI api://<application id>"))),
    IngressCase("oauth2-entra-ids-not-guids", "prod",
                {f"{OAUTH}.client_id": "brickwall-web", f"{OAUTH}.api_client_id": "API", f"{OAUTH}.allowed_groups": ["Data Engineers"]},
                ((f"{OAUTH}.client_id", "a lowercase GUID"), (f"{OAUTH}.api_client_id", "a lowercase GUID"),
                 (f"{OAUTH}.allowed_groups.0", "the groups claim holds GUIDs"),
                 (f"{OAUTH}.allowed_groups.0", "no commas, quotes or white space"))),
    IngressCase("oauth2-empty-client-id-with-another-issuer", "prod",
                {f"{OAUTH}.issuer_url": "https://idp.contoso.com/realms/data", f"{OAUTH}.client_id": " ",
                 f"{OAUTH}.allowed_groups": ["data-engineers"], f"{OAUTH}.jwt_issuers": [], f"{OAUTH}.api_client_id": ""},
                ((f"{OAUTH}.client_id", "oauth2-proxy does not start without one"),
                 (f"{OAUTH}.api_client_id", "oauth2-proxy does not start without one"))),
    IngressCase("oauth2-entra-common-issuer", "prod", {f"{OAUTH}.issuer_url": "https://login.microsoftonline.com/common/v2.0"},
                ((f"{OAUTH}.issuer_url", "the tenant's v2.0 issuer"),)),
    IngressCase("oauth2-entra-v1-issuer-for-sign-in", "prod", {f"{OAUTH}.issuer_url": V1_ISSUER},
                ((f"{OAUTH}.issuer_url", "the tenant's v2.0 issuer"),)),
    IngressCase("oauth2-email-domains-refuse-bearer-tokens", "prod", {f"{OAUTH}.email_domains": ["contoso.com"]},
                ((f"{OAUTH}.email_domains", "bearer tokens (jwt_issuers) carry no email claim"),)),
    IngressCase("oauth2-list-values-with-commas", "prod",
                {f"{OAUTH}.app_roles": ["Jobs.Submit,Jobs.Admin", ""], f"{OAUTH}.jwt_issuers": [[TENANT_ISSUER + "?a=b", API]]},
                ((f"{OAUTH}.app_roles.0", "no commas"), (f"{OAUTH}.app_roles.1", "no commas"),
                 (f"{OAUTH}.jwt_issuers.0.0", "without '=' or ','"))),
    IngressCase("oauth2-issuer-not-https", "prod", {f"{OAUTH}.issuer_url": TENANT_ISSUER.replace("https://", "http://")},
                ((f"{OAUTH}.issuer_url", "an https:// issuer URL"),)),
    IngressCase("oauth2-without-groups-or-email-domains", "prod", {f"{OAUTH}.allowed_groups": []},
                ((f"{OAUTH}.allowed_groups", "name the allowed groups or email domains"),)),
    IngressCase("oauth2-email-domain-star", "dev-ingress", {f"{OAUTH}.email_domains": ["contoso.com", "*"]},
                ((f"{OAUTH}.email_domains", "'*' admits every account of the issuer"),)),
    IngressCase("oauth2-jwt-issuer-not-https-and-no-audience", "prod",
                {f"{OAUTH}.jwt_issuers": [[TENANT_ISSUER, "api://brickwall-connectors"], ["http://sts.contoso.com", "api://x"],
                                          [TENANT_ISSUER, ""]]},
                ((f"{OAUTH}.jwt_issuers.0.1", "as aud"), (f"{OAUTH}.jwt_issuers.1.0", "an https:// issuer URL"),
                 (f"{OAUTH}.jwt_issuers.2.1", "the audience the tokens carry"))),
    IngressCase("oauth2-missing-client-id", "prod", {f"{OAUTH}.client_id": DELETE},
                ((f"{OAUTH}.client_id", "Field required"),)),
    # --- certificates ---------------------------------------------------------------------------------------------------
    IngressCase("acme-without-email-on-internal-lb", "prod", {f"{R0}.certificate_issuer": "acme"},
                ((f"{R0}.certificate_issuer", "ACME certificates need ingress.acme_email"),
                 (f"{R0}.certificate_issuer", "ACME HTTP-01 needs a public load balancer"))),
    IngressCase("acme-without-email-on-public-lb", "prod", {f"{R0}.certificate_issuer": "acme", "ingress.load_balancer": "public"},
                ((f"{R0}.certificate_issuer", "ACME certificates need ingress.acme_email"),)),
    IngressCase("unknown-certificate-issuer", "dev-ingress", {f"{R0}.certificate_issuer": "letsencrypt"},
                ((f"{R0}.certificate_issuer", "'acme' or 'private-ca'"),)),
    # --- the AKS cluster ------------------------------------------------------------------------------------------------
    IngressCase("aks-without-subnet", "prod", {"network.subnets.aks_prefix_length": None},
                (("network.subnets.aks_prefix_length", "an AKS cluster needs its own subnet"),)),
    IngressCase("aks-without-subnet-in-dev", "dev-ingress", {"network.subnets.aks_prefix_length": DELETE},
                (("network.subnets.aks_prefix_length", "set network.subnets.aks_prefix_length"),)),
    IngressCase("aks-public-api-without-authorized-ranges", "prod", {f"{AKS}.private_api_server": False},
                ((f"{AKS}.authorized_ip_ranges", "a public API server needs authorized IP ranges"),)),
    IngressCase("aks-private-api-with-authorized-ranges", "prod", {f"{AKS}.authorized_ip_ranges": ["52.174.20.0/28"]},
                ((f"{AKS}.authorized_ip_ranges", "a private API server has no public ranges to authorize"),)),
    IngressCase("aks-authorized-range-not-a-cidr", "dev-ingress",
                {f"{AKS}.private_api_server": False, f"{AKS}.authorized_ip_ranges": ["52.174.20/28"]},
                ((f"{AKS}.authorized_ip_ranges", "'52.174.20/28' is not a CIDR"),)),
    IngressCase("aks-version-too-old", "prod", {f"{AKS}.kubernetes_version": "1.27"},
                ((f"{AKS}.kubernetes_version", "a supported AKS version such as 1.33"),)),
    IngressCase("aks-version-with-v-prefix", "dev-ingress", {f"{AKS}.kubernetes_version": "v1.33"},
                ((f"{AKS}.kubernetes_version", "a supported AKS version"),)),
    IngressCase("aks-vm-size-without-standard-prefix", "prod", {f"{AKS}.vm_size": "D4ds_v5"},
                ((f"{AKS}.vm_size", "an Azure VM size such as Standard_D4ds_v5"),)),
    IngressCase("aks-zero-nodes", "prod", {f"{AKS}.node_count": 0},
                ((f"{AKS}.node_count", "greater than or equal to 1"),)),
    IngressCase("aks-network-policy-none", "prod", {f"{AKS}.network_policy": "none"},
                ((f"{AKS}.network_policy", "'azure', 'calico' or 'cilium'"),)),
    # --- upgrades and node hardening (checkov CKV_AZURE_171/226/227/172; tiers.py floors in prod) -------------------------
    IngressCase("aks-upgrade-channel-none", "prod", {f"{AKS}.upgrade_channel": "none"},
                ((f"{AKS}.upgrade_channel", "Input should be"),)),
    IngressCase("aks-node-os-channel-unmanaged", "dev-ingress", {f"{AKS}.node_os_upgrade_channel": "Unmanaged"},
                ((f"{AKS}.node_os_upgrade_channel", "'NodeImage' or 'SecurityPatch'"),)),
    IngressCase("aks-ephemeral-os-on-a-size-without-temp-disk", "prod", {f"{AKS}.vm_size": "Standard_D4s_v5"},
                ((f"{AKS}.os_disk_type", "Standard_D4s_v5 has no local temp disk for an ephemeral OS disk"),)),
    IngressCase("aks-managed-os-disk-in-prod", "prod", {f"{AKS}.os_disk_type": "Managed"},
                ((f"{AKS}.os_disk_type", "prod keeps AKS node state off Azure Storage"),)),
    IngressCase("aks-no-encryption-at-host-in-prod", "prod", {f"{AKS}.encryption_at_host": False},
                ((f"{AKS}.encryption_at_host", "prod encrypts the AKS nodes' temp disks"),)),
    # --- a user node pool apart from the system pool -------------------------------------------------------------------
    IngressCase("aks-user-pool-name-not-a-linux-pool-name", "prod", {f"{AKS}.user_pool": {"name": "Ingress_1"}},
                ((f"{AKS}.user_pool.name", "1-12 lowercase letters and digits"),)),
    IngressCase("aks-user-pool-named-system", "prod", {f"{AKS}.user_pool": {"name": "system"}},
                ((f"{AKS}.user_pool.name", "not 'system'"),)),
    IngressCase("aks-user-pool-max-below-min", "prod", {f"{AKS}.user_pool": {"min_count": 5, "max_count": 3}},
                ((f"{AKS}.user_pool.max_count", "below min_count (5)"),)),
    IngressCase("aks-user-pool-ephemeral-without-temp-disk", "prod", {f"{AKS}.user_pool": {"vm_size": "Standard_D8s_v5"}},
                ((f"{AKS}.user_pool.vm_size", "Standard_D8s_v5 has no local temp disk for an ephemeral OS disk"),)),
    IngressCase("aks-pools-outgrow-the-subnet", "prod", {f"{AKS}.user_pool": {"max_count": 8}},
                (("network.subnets.aks_prefix_length", "/23 holds 507 usable addresses but the AKS pools need 663"),)),
    IngressCase("aks-rotation-poll-interval-in-words", "dev-ingress", {f"{AKS}.secret_rotation_poll_interval": "2 minutes"},
                ((f"{AKS}.secret_rotation_poll_interval", "a duration such as 2m"),)),
    IngressCase("aks-os-disk-too-small", "prod", {f"{AKS}.os_disk_size_gb": 20},
                ((f"{AKS}.os_disk_size_gb", "greater than or equal to 30"),)),
    # --- an existing cluster --------------------------------------------------------------------------------------------
    IngressCase("existing-cluster-without-api-server-cidr", "prod", {"ingress.cluster": "existing"},
                (("ingress.api_server_cidr", "an existing cluster's API server range is needed"),
                 ("ingress.oidc_issuer_url", "trusts the existing cluster's OIDC issuer"))),
    IngressCase("existing-cluster-api-server-cidr-host-bits", "prod-existing", {"ingress.api_server_cidr": "10.40.0.1/28"},
                (("ingress.api_server_cidr", "is not a CIDR with its host bits clear"),)),
    IngressCase("unknown-cluster-kind", "prod", {"ingress.cluster": "eks"},
                (("ingress.cluster", "'aks' or 'existing'"),)),
    # --- namespaces, replicas, the tier itself --------------------------------------------------------------------------
    IngressCase("namespace-equals-apps-namespace", "prod", {"ingress.apps_namespace": "ingress"},
                (("ingress.apps_namespace", "apps run in their own namespace"),)),
    IngressCase("namespace-not-a-dns-label", "prod", {"ingress.namespace": "Ingress_NS"},
                (("ingress.namespace", LABEL_REASON),)),
    IngressCase("apps-namespace-trailing-hyphen", "dev-ingress", {"ingress.apps_namespace": "apps-"},
                (("ingress.apps_namespace", LABEL_REASON),)),
    IngressCase("replicas-zero", "dev-ingress", {"ingress.replicas": 0},
                (("ingress.replicas", "greater than or equal to 1"),)),
    IngressCase("enabled-tier-without-routes", "prod", {"ingress.routes": []},
                (("ingress.routes", "an enabled ingress tier needs at least one route"),)),
    # --- the load balancer ----------------------------------------------------------------------------------------------
    IngressCase("prod-lb-source-range-whole-internet", "prod", {"ingress.load_balancer_source_ranges": ["10.200.0.0/16", "0.0.0.0/0"]},
                (("ingress.load_balancer_source_ranges.1", "prod never opens the load balancer to every address"),)),
    IngressCase("dev-public-lb-without-source-ranges", "dev-ingress",
                {"ingress.load_balancer": "public", "ingress.load_balancer_source_ranges": []},
                (("ingress.load_balancer_source_ranges", "a public load balancer needs source ranges: the AKS subnet's NSG"),)),
    IngressCase("prod-public-lb-without-source-ranges", "prod",
                {"ingress.load_balancer": "public", "ingress.load_balancer_source_ranges": []},
                (("ingress.load_balancer_source_ranges",
                  "a public load balancer needs source ranges in prod: the AKS subnet's NSG admits only them"),)),
    IngressCase("lb-source-range-not-a-cidr", "dev-ingress", {"ingress.load_balancer_source_ranges": ["corp-network"]},
                (("ingress.load_balancer_source_ranges", "'corp-network' is not a CIDR"),)),
    IngressCase("egress-cidr-host-bits-set", "dev-ingress", {"ingress.approved_egress_cidrs": ["20.50.1.1/24"]},
                (("ingress.approved_egress_cidrs", "'20.50.1.1/24' is not a CIDR with its host bits clear"),)),
    # --- unknown fields ---------------------------------------------------------------------------------------------------
    IngressCase("unknown-route-field", "prod", {f"{R0}.weight": 10}, ((f"{R0}.weight", "unknown field"),)),
    IngressCase("unknown-oauth2-field", "prod", {f"{OAUTH}.cookie_secret": "hunter2"},
                ((f"{OAUTH}.cookie_secret", "unknown field"),)),
    IngressCase("route-missing-backend", "prod", {f"{R0}.backend": DELETE}, ((f"{R0}.backend", "Field required"),)),
    # --- several problems at once ------------------------------------------------------------------------------------------
    # Every prod rule of `_ingress` at once, on an otherwise valid tier.
    IngressCase("prod-every-ingress-rule", "prod",
                {f"{R0}.host": "*.data.contoso.com", f"{R0}.allow_cidrs": ["0.0.0.0/0"], f"{R1}.allow_cidrs": [],
                 "ingress.load_balancer": "public", "ingress.load_balancer_source_ranges": [],
                 "network.subnets.aks_prefix_length": None},
                ((f"{R0}.host", "never wildcards"), (f"{R0}.allow_cidrs.0", "prod never allows every source address"),
                 (f"{R1}.allow_cidrs", "source-IP allowlist"),
                 ("ingress.load_balancer_source_ranges", "a public load balancer needs source ranges in prod: the AKS subnet's NSG admits only them"),
                 ("network.subnets.aks_prefix_length", "an AKS cluster needs its own subnet")),
                program=True, fmt="yaml"),
    # The tier-wide checks of IngressSpec, all at once, beside an invalid network section.
    IngressCase("tier-wide-problems-beside-bad-network", "dev-ingress",
                {"ingress.apps_namespace": "ingress", f"{R1}.name": "sql", f"{R0}.backend": "sql-gw",
                 f"{OAUTH}.jwt_issuers": [], f"{R1}.auth": "jwt", "ingress.cluster": "existing", "ingress.routes.0.certificate_issuer": "acme",
                 "network.egress.mode": "proxy"},
                (("ingress.apps_namespace", "apps run in their own namespace"), (f"{R1}.name", "route 'sql' appears twice"),
                 (f"{R0}.backend", "unknown connector 'sql-gw'"), (f"{R1}.auth", "jwt_issuers"),
                 ("ingress.api_server_cidr", "an existing cluster's API server range"),
                 ("ingress.oidc_issuer_url", "OIDC issuer"),
                 (f"{R0}.certificate_issuer", "ingress.acme_email"), (f"{R0}.certificate_issuer", "public load balancer"),
                 ("network.egress.mode", "'nat_gateway' or 'firewall'"))),
    # Field problems in routes, connectors, oauth2-proxy and AKS at once: each at its own path.
    IngressCase("field-problems-in-every-ingress-part", "prod",
                {f"{R0}.host": "SQL.data.contoso.com", f"{R1}.path": "/api//jobs",
                 "ingress.connectors.0.port": 70000, f"{OAUTH}.issuer_url": "http://sts.contoso.com",
                 f"{AKS}.node_count": 0, f"{AKS}.network_policy": "none", "ingress.namespace": "Ingress"},
                ((f"{R0}.host", HOST_REASON), (f"{R1}.path", PATH_REASON),
                 ("ingress.connectors.0.port", "less than or equal to 65535"), (f"{OAUTH}.issuer_url", "https://"),
                 (f"{AKS}.node_count", "greater than or equal to 1"), (f"{AKS}.network_policy", "'calico'"),
                 ("ingress.namespace", LABEL_REASON))),
    # An invalid route path does not hide the prod rules that read the routes' other, valid fields, the load
    # balancer or the network.
    IngressCase("bad-path-beside-prod-rules", "prod",
                {f"{R0}.path": "api", f"{R1}.allow_cidrs": [], "ingress.load_balancer_source_ranges": ["0.0.0.0/0"],
                 "network.subnets.aks_prefix_length": None},
                ((f"{R0}.path", PATH_REASON), (f"{R1}.allow_cidrs", "source-IP allowlist"),
                 ("ingress.load_balancer_source_ranges.0", "prod never opens the load balancer"),
                 ("network.subnets.aks_prefix_length", "an AKS cluster needs its own subnet"))),
    # An invalid host on one route does not hide the other routes' prod rules or the AKS subnet rule.
    IngressCase("bad-host-beside-prod-rules", "prod",
                {f"{R0}.host": "SQL.data.contoso.com", f"{R1}.host": "*.data.contoso.com",
                 "network.subnets.aks_prefix_length": None},
                ((f"{R0}.host", HOST_REASON), (f"{R1}.host", "never wildcards"),
                 ("network.subnets.aks_prefix_length", "an AKS cluster needs its own subnet"))),
    # An invalid field of a route does not hide that route's own checks (plain HTTP).
    IngressCase("bad-path-beside-plain-http", "prod", {f"{R1}.path": "/api//jobs", f"{R1}.tls": False},
                ((f"{R1}.path", PATH_REASON), (f"{R1}.tls", "plain HTTP is never routed"))),
    # An invalid field in one route does not hide the tier-wide checks on the others (an unknown backend).
    IngressCase("bad-host-beside-unknown-backend", "prod",
                {f"{R0}.host": "sql.data.contoso.com.", f"{R1}.backend": "jobs"},
                ((f"{R0}.host", HOST_REASON), (f"{R1}.backend", "unknown connector 'jobs'"))),
]

PROGRAM_CASES = [c for c in CASES if c.program]


def test_case_ids_are_unique_and_numerous() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 25
    assert sum(len({p for p, _ in c.expected}) >= 3 for c in CASES) >= 3
    assert len(PROGRAM_CASES) == 5


@pytest.mark.parametrize("name", ["prod", "dev-ingress", "prod-existing"])
def test_bases_are_valid_and_enable_the_tier(name: str) -> None:
    spec = EnvironmentSpec.model_validate(ingress_base(name))
    assert spec.ingress.enabled
    assert [r.name for r in spec.ingress.routes] == ["sql", "jobs"]
    assert [c.name for c in spec.ingress.connectors] == ["sql-gateway", "jobs-api"]


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_ingress_reports_every_problem_at_its_path(case: IngressCase) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_ingress_is_rejected_by_the_file_loader(case: IngressCase, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_an_invalid_ingress(case: IngressCase, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, "prod")


# --- what the rules accept ---------------------------------------------------------------------------------------------


def test_dev_accepts_a_wildcard_host_and_a_route_without_allowlist() -> None:
    data = edit(ingress_base("dev-ingress"), {f"{R0}.host": "*.data.contoso.com", f"{R0}.allow_cidrs": []})
    spec = EnvironmentSpec.model_validate(data)
    assert spec.ingress.routes[0].host == "*.data.contoso.com"
    assert spec.ingress.routes[0].allow_cidrs == ()
    # The same change is two problems in prod.
    prod = edit(base("prod"), {f"{R0}.host": "*.data.contoso.com", f"{R0}.allow_cidrs": []})
    assert_reported(problems_of(prod), ((f"{R0}.host", "never wildcards"), (f"{R0}.allow_cidrs", "allowlist")))


def test_same_host_and_path_with_a_different_match_is_a_different_route() -> None:
    extra = {"name": "sql-root", "host": "sql.data.contoso.com", "path": "/", "match": "Exact", "backend": "sql-gateway",
             "methods": ["GET"], "allow_cidrs": ["10.200.0.0/16"]}
    data = edit(base("prod"), {"ingress.routes": [*base("prod")["ingress"]["routes"], extra]})
    spec = EnvironmentSpec.model_validate(data)
    assert [(r.host, r.path, r.match) for r in spec.ingress.routes if r.host == "sql.data.contoso.com"] == [
        ("sql.data.contoso.com", "/", "Prefix"), ("sql.data.contoso.com", "/", "Exact")]


def test_prod_accepts_acme_on_a_public_load_balancer_with_an_email_and_source_ranges() -> None:
    data = edit(base("prod"), {f"{R0}.certificate_issuer": "acme", "ingress.load_balancer": "public",
                               "ingress.acme_email": "platform@contoso.com"})
    spec = EnvironmentSpec.model_validate(data)
    assert spec.ingress.routes[0].certificate_issuer == "acme"
    assert spec.ingress.load_balancer_source_ranges


def test_disabled_tier_skips_the_tier_rules() -> None:
    """A disabled tier needs no AKS subnet, and prod's route rules do not apply to it."""
    data = edit(base("prod"), {"ingress.enabled": False, "network.subnets.aks_prefix_length": None,
                               f"{R0}.host": "*.data.contoso.com", f"{R1}.allow_cidrs": []})
    assert EnvironmentSpec.model_validate(data).ingress.enabled is False


def test_existing_cluster_runs_with_a_secret_kubeconfig_and_no_aks(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(ingress_base("prod-existing")))
    rec = project.run("prod", spec_file=path, extra_config={"brickwall:kubeconfig": KUBECONFIG},
                      extra_secret_keys=["brickwall:kubeconfig"])
    provider = rec.one("pulumi:providers:kubernetes")
    kubeconfig = provider.inputs["kubeconfig"]
    assert isinstance(kubeconfig, Secret)
    assert kubeconfig.value == KUBECONFIG
    assert rec.of_type("azure-native:containerservice:ManagedCluster") == []
    # The tier itself is still built on that provider.
    assert rec.of_type("brickwall:kubernetes:IngressTier")
    assert rec.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    # Connectors' federated credentials trust the existing cluster's OIDC issuer from the spec.
    credentials = rec.of_type("azure-native:managedidentity:FederatedIdentityCredential")
    assert len(credentials) == 2 and {c.inputs["issuer"] for c in credentials} == {EXISTING_ISSUER}
    assert rec.of_type("azure-native:authorization:RoleAssignment")  # the workspace's, none for a cluster it lacks
    assert not [r for r in rec.of_type("azure-native:authorization:RoleAssignment") if "-aks-" in r.name]
