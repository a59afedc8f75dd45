"""The ingress tier on prod's recorded registrations: cluster, controller, routes, credentials, policies."""

from __future__ import annotations

import re

import pytest
import yaml

import stacks
from brickwall.engine import Recording, Secret
from components.ingress import AUTH_MIDDLEWARE
from components.planning.ingress import (
    CERT_MANAGER_CHART,
    CERT_MANAGER_NAMESPACE,
    NON_PUBLIC,
    TRAEFIK_CHART,
    network_policies,
)
from components.spec import EnvironmentSpec

K = "kubernetes:"
NETPOL, RELEASE, SECRET = K + "networking.k8s.io/v1:NetworkPolicy", K + "helm.sh/v3:Release", K + "core/v1:Secret"
DEPLOY, NS = K + "apps/v1:Deployment", K + "core/v1:Namespace"
ROUTE, MIDDLEWARE, TLSOPT = K + "traefik.io/v1alpha1:IngressRoute", K + "traefik.io/v1alpha1:Middleware", K + "traefik.io/v1alpha1:TLSOption"
TRANSPORT, CERT = K + "traefik.io/v1alpha1:ServersTransport", K + "cert-manager.io/v1:Certificate"
AKS = "azure-native:containerservice:ManagedCluster"


def meta(reg) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    m = reg.inputs["metadata"]
    return m.get("namespace", ""), m["name"]


def by_name(rec: Recording, type_: str) -> dict[tuple[str, str], object]:
    return {meta(r): r for r in rec.of_type(type_)}


def test_private_aks_cluster(prod: Recording) -> None:
    spec = stacks.load("prod")
    cluster = prod.one(AKS)
    i = cluster.inputs
    assert i["resourceName"] == spec.names.aks_cluster
    assert i["networkProfile"]["networkPlugin"] == "azure"
    assert i["networkProfile"]["networkPolicy"] == "calico"
    assert i["apiServerAccessProfile"]["enablePrivateCluster"] is True
    assert i["disableLocalAccounts"] is True
    assert i["aadProfile"] == {"managed": True, "enableAzureRBAC": True}
    assert i["securityProfile"]["workloadIdentity"]["enabled"] is True
    assert i["oidcIssuerProfile"]["enabled"] is True
    # Container logs, the controller's JSON access logs among them, ship to the environment's Log Analytics.
    workspace = prod.one("azure-native:operationalinsights:Workspace")
    assert i["addonProfiles"]["omsagent"]["enabled"] is True
    assert i["addonProfiles"]["omsagent"]["config"]["logAnalyticsWorkspaceResourceID"].endswith(
        f"/providers/Microsoft.OperationalInsights/workspaces/{spec.names.log_analytics}")
    assert workspace.inputs["retentionInDays"] == spec.monitoring.log_retention_days
    assert workspace.protect is True
    pool = i["agentPoolProfiles"][0]
    assert pool["count"] == 3 and pool["enableNodePublicIP"] is False
    assert pool["vnetSubnetID"].endswith(f"/subnets/{spec.names.aks_subnet}")
    # Egress follows the firewall's route table in prod.
    assert i["networkProfile"]["outboundType"] == "userDefinedRouting"
    subnet = next(s for s in prod.of_type("azure-native:network:Subnet") if s.inputs["subnetName"] == spec.names.aks_subnet)
    assert subnet.inputs["addressPrefix"] == str(spec.network.plan["aks"])
    assert "routeTable" in subnet.inputs


def test_aks_upgrades_and_node_hardening(prod: Recording) -> None:
    """Patch releases of the pinned minor version and a weekly node image; ephemeral OS disks on a size with a temp disk,
    encrypted at the host; Key Vault secrets through the Secrets Store CSI driver with rotation (checkov CKV_AZURE_171,
    226, 227, 172)."""
    aks = stacks.load("prod").ingress.aks
    i = prod.one(AKS).inputs
    assert i["autoUpgradeProfile"] == {"upgradeChannel": "patch", "nodeOSUpgradeChannel": "NodeImage"}
    assert aks.kubernetes_version.count(".") == 1  # a minor version: `patch` moves only within it
    [pool] = i["agentPoolProfiles"]
    assert pool["osDiskType"] == "Ephemeral" and pool["enableEncryptionAtHost"] is True
    assert pool["vmSize"] == "Standard_D4ds_v5" and pool["osDiskSizeGB"] == 64  # the size's temp disk holds 150 GiB
    assert i["addonProfiles"]["azureKeyvaultSecretsProvider"] == {
        "enabled": True, "config": {"enableSecretRotation": "true", "rotationPollInterval": "2m"}}


def test_explicit_kubernetes_provider_from_the_cluster_kubeconfig(prod: Recording) -> None:
    provider = prod.one("pulumi:providers:kubernetes")
    assert isinstance(provider.inputs["kubeconfig"], Secret)
    cluster = prod.one(AKS)
    for reg in prod.registrations:
        if reg.type.startswith(K) and reg.custom:
            assert reg.provider.startswith(provider.urn + "::"), reg.urn
            assert reg.deleted_with == cluster.urn, reg.urn


def test_network_policies_are_the_planned_table(prod: Recording) -> None:
    planned = {(p.namespace, p.name): p.spec for p in network_policies(stacks.load("prod").plan.tier)}
    registered = {meta(r): r.inputs["spec"] for r in prod.of_type(NETPOL)}
    assert registered == planned
    for ns in ("ingress", "databricks-apps", CERT_MANAGER_NAMESPACE):
        deny = registered[(ns, "default-deny")]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    # Connectors talk to the Databricks private endpoints and, for the workload identity token exchange, to Entra ID
    # over public HTTPS (no private range), on 443 only.
    endpoints = str(stacks.load("prod").network.plan["private_endpoints"])
    sql = registered[("databricks-apps", "sql-gateway")]
    https = [{"protocol": "TCP", "port": 443}]
    assert sql["egress"] == [{"to": [{"ipBlock": {"cidr": endpoints}}], "ports": https},
                             {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": NON_PUBLIC}}], "ports": https}]
    # Per-route metrics reach only the monitoring namespace's scraper.
    traefik = registered[("ingress", "traefik")]
    assert {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"protocol": "TCP", "port": 9100}]} in traefik["ingress"]
    # Every workload pod waits for its namespace's policies.
    netpol_urns = {r.urn for r in prod.of_type(NETPOL)}
    for release in prod.of_type(RELEASE):
        assert netpol_urns <= set(release.dependencies)


def test_controller_and_cert_manager_charts(prod: Recording) -> None:
    releases = {r.inputs["chart"]: r.inputs for r in prod.of_type(RELEASE)}
    traefik, cm = releases["traefik"], releases["cert-manager"]
    assert (traefik["version"], traefik["repositoryOpts"]["repo"]) == TRAEFIK_CHART[1:]
    assert (cm["version"], cm["repositoryOpts"]["repo"]) == CERT_MANAGER_CHART[1:]
    v = traefik["values"]
    assert v["service"]["spec"]["externalTrafficPolicy"] == "Local"
    assert v["service"]["annotations"]["service.beta.kubernetes.io/azure-load-balancer-internal"] == "true"
    assert v["service"]["spec"]["loadBalancerSourceRanges"] == ["10.200.0.0/16", "10.130.0.0/24"]
    assert v["ingressRoute"]["dashboard"]["enabled"] is False and v["api"]["dashboard"] is False
    assert v["ports"]["web"]["expose"]["default"] is False  # no ACME here: plain HTTP never exposed
    assert v["logs"]["access"] == {"enabled": True, "format": "json", "fields": {"headers": {
        "defaultmode": "drop", "names": {"User-Agent": "keep", "X-Forwarded-For": "keep"}}}}
    assert v["metrics"]["prometheus"]["entryPoint"] == "metrics" and v["ports"]["metrics"]["expose"]["default"] is False
    assert v["podSecurityContext"]["runAsNonRoot"] is True
    assert v["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": True}
    assert v["podDisruptionBudget"]["enabled"] is True and "limits" in v["resources"]
    assert v["providers"]["kubernetesIngress"] == {"enabled": False, "ingressClass": "brickwall", "namespaces": ["ingress"]}
    crd = v["providers"]["kubernetesCRD"]
    assert crd["namespaces"] == ["ingress", "databricks-apps"] and crd["allowCrossNamespace"] is True
    assert crd["allowExternalNameServices"] is False


def test_tls_options_and_routes(prod: Recording) -> None:
    options = {name: r.inputs["spec"] for (_, name), r in by_name(prod, TLSOPT).items()}  # type: ignore[attr-defined]
    assert options["default"]["minVersion"] == "VersionTLS12" and options["default"]["sniStrict"] is True
    assert options["jobs-mtls"]["clientAuth"] == {"secretNames": ["partner-client-ca"], "clientAuthType": "RequireAndVerifyClientCert"}
    routes = {name: r.inputs["spec"] for (_, name), r in by_name(prod, ROUTE).items()}  # type: ignore[attr-defined]
    # Each route, and `/oauth2/` to oauth2-proxy on the host of the browser route (tests/test_oauth2_proxy.py).
    assert set(routes) == {"sql", "jobs", "sql-oauth2"}
    spec = stacks.load("prod").ingress
    for route in spec.routes:
        r = routes[route.name]
        assert r["entryPoints"] == ["websecure"]
        assert r["tls"]["secretName"] == f"{route.name}-tls"
        rule = r["routes"][0]
        methods = " || ".join(f"Method(`{m}`)" for m in route.methods)
        methods = methods if len(route.methods) == 1 else f"({methods})"
        bearer = " && HeaderRegexp(`Authorization`, `(?i)^bearer [^ ]+$`)" if route.auth in ("jwt", "app") else ""
        assert rule["match"] == f"Host(`{route.host}`) && PathPrefix(`{route.path}`) && {methods}{bearer}"
        names = [m["name"] for m in rule["middlewares"]]
        assert names == [f"{route.name}-allowlist", "security-headers", AUTH_MIDDLEWARE[route.auth]]
        svc = rule["services"][0]
        assert svc["scheme"] == "https" and svc["serversTransport"] == f"ingress-{route.name}-upstream@kubernetescrd"
    assert routes["jobs"]["tls"]["options"] == {"name": "jobs-mtls", "namespace": "ingress"}
    transports = {name: r.inputs["spec"] for (_, name), r in by_name(prod, TRANSPORT).items()}  # type: ignore[attr-defined]
    assert transports["sql-upstream"]["insecureSkipVerify"] is False
    assert "certificatesSecrets" in transports["jobs-upstream"] and "certificatesSecrets" not in transports["sql-upstream"]
    middlewares = {name: r.inputs["spec"] for (_, name), r in by_name(prod, MIDDLEWARE).items()}  # type: ignore[attr-defined]
    assert middlewares["sql-allowlist"] == {"ipAllowList": {"sourceRange": ["10.200.0.0/16"]}}
    assert all(middlewares[m]["forwardAuth"]["trustForwardHeader"] is False for m in ("oauth2-sign-in", "oauth2-bearer", "oauth2-app"))


def test_short_lived_certificates_by_automation(prod: Recording) -> None:
    certs = {name: r.inputs["spec"] for (_, name), r in by_name(prod, CERT).items()}  # type: ignore[attr-defined]
    for name in ("sql-tls", "jobs-tls", "sql-gateway-serving-tls", "jobs-api-serving-tls"):
        assert certs[name]["duration"] == "168h" and certs[name]["renewBefore"] == "72h"
        assert certs[name]["privateKey"]["rotationPolicy"] == "Always"
    assert certs["sql-tls"]["dnsNames"] == ["sql.data.contoso.com"]


def test_the_private_root_keeps_its_key_across_its_yearly_renewal(prod: Recording) -> None:
    """Leaves rotate their keys on every renewal; the root does not: its renewal 30 days before expiry re-signs the
    same key, so certificates issued before and after verify against either root (docs/ingress.md "Trusting the private CA")."""
    certs = {(ns, name): r.inputs["spec"] for (ns, name), r in by_name(prod, CERT).items()}  # type: ignore[attr-defined]
    root = certs[("cert-manager", "brickwall-ca")]
    assert root["isCA"] is True and root["issuerRef"] == {"name": "brickwall-selfsigned", "kind": "ClusterIssuer"}
    assert (root["duration"], root["renewBefore"]) == ("8760h", "720h")
    assert root["privateKey"]["rotationPolicy"] == "Never"
    issuers = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in prod.of_type(K + "cert-manager.io/v1:ClusterIssuer")}
    assert issuers["brickwall-private-ca"] == {"ca": {"secretName": root["secretName"]}}
    # Every other certificate is a short-lived leaf of that root, with a fresh key each time.
    leaves = {key: spec for key, spec in certs.items() if key != ("cert-manager", "brickwall-ca")}
    assert leaves and all(spec["privateKey"]["rotationPolicy"] == "Always" and not spec.get("isCA") for spec in leaves.values())


def test_oauth2_proxy_secrets_are_secrets_mounted_as_files(prod: Recording) -> None:
    secrets = by_name(prod, SECRET)
    # A map holding a secret travels as one secret: nothing of it is ever written in clear.
    oauth = secrets[("ingress", "oauth2-proxy")].inputs["stringData"]  # type: ignore[attr-defined]
    assert isinstance(oauth, Secret) and set(oauth.value) == {"client-secret", "cookie-secret"}
    deployments = by_name(prod, DEPLOY)
    proxy = deployments[("ingress", "oauth2-proxy")].inputs["spec"]["template"]["spec"]["containers"][0]  # type: ignore[attr-defined]
    assert "--cookie-secure=true" in proxy["args"] and "--skip-jwt-bearer-tokens=true" in proxy["args"]
    assert not any("secret=" in a for a in proxy["args"])  # secrets come from files, never the command line


def test_connectors_sign_in_with_workload_identity_as_their_own_service_principal(prod: Recording) -> None:
    """Per connector: a managed identity, a federated credential trusting exactly its service account on the cluster's
    OIDC issuer, a Databricks service principal with the identity's client id, the service account naming that client
    id and pods labelled for the webhook. No connector Secret, no Role to read one, no credential in the pod."""
    spec = stacks.load("prod")
    apps = spec.ingress.apps_namespace
    assert not [meta(r) for r in prod.of_type(SECRET) if meta(r)[0] == apps]
    assert not prod.of_type(K + "rbac.authorization.k8s.io/v1:Role")
    identities = {r.inputs["resourceName"]: r for r in prod.of_type("azure-native:managedidentity:UserAssignedIdentity")}
    credentials = {r.inputs["subject"]: r.inputs for r in prod.of_type("azure-native:managedidentity:FederatedIdentityCredential")}
    principals = {r.inputs["displayName"]: r for r in prod.of_type("databricks:index/servicePrincipal:ServicePrincipal")}
    accounts, deployments = by_name(prod, K + "core/v1:ServiceAccount"), by_name(prod, DEPLOY)
    client_ids = set()
    issuers = {c["issuer"] for c in credentials.values()}
    assert len(issuers) == 1 and next(iter(issuers)).startswith("https://westeurope.oic.prod-aks.azure.com/")
    for c in spec.ingress.connectors:
        assert f"id-{spec.names.aks_cluster}-{c.name}" in identities
        credential = credentials[f"system:serviceaccount:{apps}:{c.name}"]
        assert credential["audiences"] == ["api://AzureADTokenExchange"]
        assert credential["resourceName"] == f"id-{spec.names.aks_cluster}-{c.name}"
        account = accounts[(apps, c.name)].inputs  # type: ignore[attr-defined]
        client_id = account["metadata"]["annotations"]["azure.workload.identity/client-id"]
        principal = principals[f"connector {c.name}"]
        assert principal.inputs["applicationId"] == client_id and principal.provider.split("::")[-2].endswith("databricks")
        assert principal.deleted_with.endswith("::prod-workspace-workspace")
        client_ids.add(client_id)
        template = deployments[(apps, c.name)].inputs["spec"]["template"]  # type: ignore[attr-defined]
        assert template["metadata"]["labels"]["azure.workload.identity/use"] == "true"
        pod = template["spec"]
        assert pod["serviceAccountName"] == c.name and pod["automountServiceAccountToken"] is False
        assert [v["secret"]["secretName"] for v in pod["volumes"]] == [f"{c.name}-serving-tls"]
        container = pod["containers"][0]
        assert [e["name"] for e in container["env"]] == ["DATABRICKS_HOST"]
        assert container["env"][0]["value"].startswith("https://adb-")
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert len(client_ids) == len(spec.ingress.connectors)  # one identity per connector, none shared
    assert principals["connector sql-gateway"].inputs["databricksSqlAccess"] is True
    assert principals["connector jobs-api"].inputs["databricksSqlAccess"] is False


def test_aks_role_assignments(prod: Recording) -> None:
    """Network Contributor for the cluster identity on its subnet; AKS RBAC Cluster Admin for the admin group and the
    deploying identity on the cluster; the Kubernetes provider waits for them."""
    spec = stacks.load("prod")
    cluster = prod.one(AKS)
    assignments = {r.name: r for r in prod.of_type("azure-native:authorization:RoleAssignment") if r.name.startswith("prod-aks-")}
    subnet = assignments["prod-aks-subnet-network-contributor"].inputs
    assert subnet["roleDefinitionId"].endswith("/roleDefinitions/4d97b98b-1d4f-4787-a291-c67834d212e7")
    assert subnet["scope"] == cluster.inputs["agentPoolProfiles"][0]["vnetSubnetID"]
    assert subnet["principalType"] == "ServicePrincipal" and subnet["principalId"]
    group = assignments["prod-aks-admin-group-cluster-admin"].inputs
    assert group["principalId"] == spec.ingress.aks.admin_group_object_id and group["principalType"] == "Group"
    deployer = assignments["prod-aks-deployer-cluster-admin"].inputs
    for a in (group, deployer):
        assert a["roleDefinitionId"].endswith("/roleDefinitions/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")
        assert a["scope"].endswith(f"/managedClusters/{spec.names.aks_cluster}")
    assert deployer["principalId"] == "00000000-0000-0000-0000-000000000000"  # the mocks' getClientConfig objectId
    provider = prod.one("pulumi:providers:kubernetes")
    assert {r.urn for r in assignments.values()} <= set(provider.dependencies)


def test_kubernetes_provider_signs_in_through_kubelogin(prod: Recording) -> None:
    """The user kubeconfig AKS returns, converted to a kubelogin exec user with the Azure CLI login by default."""
    import yaml

    kubeconfig = prod.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
    assert isinstance(kubeconfig, Secret)
    config = yaml.safe_load(kubeconfig.value)
    (user,) = config["users"]
    assert user["user"]["exec"]["command"] == "kubelogin"
    assert user["user"]["exec"]["args"] == ["get-token", "--login", "azurecli", "--server-id", "6dae42f8-4368-4678-94ff-3960e28e3630"]
    assert set(user["user"]) == {"exec"}


def test_namespaces_enforce_restricted_pod_security(prod: Recording) -> None:
    namespaces = {r.inputs["metadata"]["name"]: r.inputs["metadata"]["labels"] for r in prod.of_type(NS)}
    # The tier's own three, and the metrics namespace a cluster the toolkit creates does not have yet (its default
    # deny needs it); a monitoring stack's node agents may need host access, so no Pod Security level there.
    assert set(namespaces) == {"ingress", "databricks-apps", CERT_MANAGER_NAMESPACE, "monitoring"}
    assert all(labels["pod-security.kubernetes.io/enforce"] == "restricted" for n, labels in namespaces.items() if n != "monitoring")
    assert namespaces["monitoring"] == {"app.kubernetes.io/part-of": "brickwall-ingress"}


def test_default_deny_in_every_namespace_the_tier_creates_or_uses(prod: Recording) -> None:
    policies = {(r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r for r in prod.of_type(K + "networking.k8s.io/v1:NetworkPolicy")}
    for ns in ("ingress", "databricks-apps", CERT_MANAGER_NAMESPACE, "monitoring", "default"):
        deny = policies[(ns, "default-deny")].inputs["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}, ns
    # default holds nothing of the tier: closed both ways, not even DNS.
    assert {name for ns, name in policies if ns == "default"} == {"default-deny"}


def test_dev_and_staging_have_no_ingress_tier(dev: Recording, staging: Recording) -> None:
    for rec in (dev, staging):
        assert not [r for r in rec.registrations if r.type.startswith(K) or r.type == AKS]


def test_user_pool_runs_the_tier_apart_from_the_system_pool(all_features_env: tuple[Recording, EnvironmentSpec],
                                                            prod: Recording) -> None:
    """A user pool (Microsoft: keep the system pool for critical system pods, https://learn.microsoft.com/azure/aks/use-system-pools):
    its own AgentPool on the AKS subnet, autoscaled, hardened like the system pool, which is tainted CriticalAddonsOnly."""
    rec, spec = all_features_env
    aks, pool_spec = spec.ingress.aks, spec.ingress.aks.user_pool
    assert pool_spec is not None
    cluster = rec.one("azure-native:containerservice:ManagedCluster")
    (system,) = cluster.inputs["agentPoolProfiles"]
    assert system["mode"] == "System" and system["nodeTaints"] == ["CriticalAddonsOnly=true:NoSchedule"]
    pool = rec.one("azure-native:containerservice:AgentPool")
    i = pool.inputs
    assert i["agentPoolName"] == pool_spec.name and i["mode"] == "User" and i["resourceName"] == cluster.inputs["resourceName"]
    assert i["vnetSubnetID"] == system["vnetSubnetID"] and i["enableNodePublicIP"] is False
    assert (i["enableAutoScaling"], i["minCount"], i["maxCount"], i["count"]) == (True, pool_spec.min_count, pool_spec.max_count,
                                                                                  pool_spec.min_count)
    assert (i["osDiskType"], i["enableEncryptionAtHost"], i["orchestratorVersion"]) == ("Ephemeral", True, aks.kubernetes_version)
    assert pool.parent.endswith("AksCluster::prod-aks")
    # Without a user pool (prod as shipped) the system pool runs everything: no taint, no AgentPool.
    (prod_system,) = prod.one("azure-native:containerservice:ManagedCluster").inputs["agentPoolProfiles"]
    assert "nodeTaints" not in prod_system and not prod.of_type("azure-native:containerservice:AgentPool")


# --- Traefik's view of the rendered objects -------------------------------------------------------------------------
# What the controller does with the IngressRoutes, as in traefik/traefik v3.5.2 pkg/provider/kubernetes/crd: it sees
# only objects in its watched namespaces (client.go), resolves an unqualified middleware, TLS option or service in the
# route's namespace unless `namespace` is given (kubernetes_http.go), refuses any other namespace without
# allowCrossNamespace (isNamespaceAllowed), and looks a service's serversTransport up in the *service's* namespace
# unless it is `<ns>-<name>@kubernetescrd` (makeServersTransportKey, a form refused without allowCrossNamespace).


def _traefik_references(rec: Recording, watched: list[str], allow_cross: bool) -> tuple[list[str], set[tuple[str, str, str]]]:
    """(problems Traefik would log, the cross-namespace references it followed as (kind, from ns, to ns))."""
    objects: dict[str, set[tuple[str, str]]] = {}
    for kind, type_ in (("Middleware", MIDDLEWARE), ("TLSOption", TLSOPT), ("ServersTransport", TRANSPORT),
                        ("Service", K + "core/v1:Service")):
        objects[kind] = {meta(r) for r in rec.of_type(type_) if meta(r)[0] in watched}
    secrets = {(meta(r)[0], r.inputs["spec"]["secretName"]) for r in rec.of_type(CERT)}
    transports = {f"{ns}-{name}@kubernetescrd": (ns, name) for ns, name in objects["ServersTransport"]}
    problems: list[str] = []
    cross: set[tuple[str, str, str]] = set()

    def ref(kind: str, parent: str, ns: str, name: str) -> None:
        if ns != parent:
            if not allow_cross:
                problems.append(f"{kind} {ns}/{name} is not in the parent namespace {parent}")
                return
            cross.add((kind, parent, ns))
        if (ns, name) not in objects[kind]:
            problems.append(f"{kind} {ns}/{name} not found in the watched namespaces")

    for r in rec.of_type(ROUTE):
        rns, spec = meta(r)[0], r.inputs["spec"]
        if rns not in watched:
            problems.append(f"IngressRoute {rns}/{meta(r)[1]} is in an unwatched namespace")
            continue
        if spec["tls"]["secretName"] and (rns, spec["tls"]["secretName"]) not in secrets:
            problems.append(f"TLS secret {rns}/{spec['tls']['secretName']} is issued by no certificate")
        if "options" in spec["tls"]:
            ref("TLSOption", rns, spec["tls"]["options"].get("namespace") or rns, spec["tls"]["options"]["name"])
        for route in spec["routes"]:
            for m in route.get("middlewares", []):
                ref("Middleware", rns, m.get("namespace") or rns, m["name"])
            for svc in route["services"]:
                if svc.get("kind") == "TraefikService" and svc["name"].endswith("@internal"):
                    continue  # Traefik's own internal service, no Kubernetes object
                sns = svc.get("namespace") or rns
                ref("Service", rns, sns, svc["name"])
                transport = svc.get("serversTransport")
                if transport is None:
                    continue
                if transport.endswith("@kubernetescrd"):
                    if not allow_cross:
                        problems.append(f"serversTransport {transport}: the qualified form needs allowCrossNamespace")
                        continue
                    target = transports.get(transport)
                else:
                    target = (sns, transport) if (sns, transport) in objects["ServersTransport"] else None
                if target is None:
                    problems.append(f"serversTransport {transport!r} of service {sns}/{svc['name']} not found")
                elif target[0] != sns:
                    cross.add(("ServersTransport", sns, target[0]))
    for t in rec.of_type(TRANSPORT):
        tns, spec = meta(t)[0], t.inputs["spec"]
        for name in [c["secret"] for c in spec.get("rootCAs", [])] + spec.get("certificatesSecrets", []):
            if (tns, name) not in secrets:
                problems.append(f"ServersTransport {tns}/{meta(t)[1]} reads secret {name} that no certificate issues there")
    return problems, cross


def test_traefik_resolves_every_reference_and_crosses_namespaces_only_to_the_backends(prod: Recording) -> None:
    values = next(r.inputs["values"] for r in prod.of_type(RELEASE) if r.inputs["chart"] == "traefik")
    crd = values["providers"]["kubernetesCRD"]
    problems, cross = _traefik_references(prod, crd["namespaces"], crd["allowCrossNamespace"])
    assert problems == []
    # The only references that leave the ingress namespace: each route's backend Service in the apps namespace, and
    # from that Service back to its ServersTransport (kept beside the TLS material in the ingress namespace).
    assert cross == {("Service", "ingress", "databricks-apps"), ("ServersTransport", "databricks-apps", "ingress")}
    # The settings are needed, not decoration: watching only the ingress namespace (the previous values) loses the
    # backends, and without allowCrossNamespace nothing reaches them.
    narrow, _ = _traefik_references(prod, ["ingress"], True)
    assert "Service databricks-apps/sql-gateway not found in the watched namespaces" in narrow
    closed, _ = _traefik_references(prod, crd["namespaces"], False)
    assert "Service databricks-apps/jobs-api is not in the parent namespace ingress" in closed


def test_every_host_has_one_set_of_tls_options(prod: Recording) -> None:
    """Traefik maps TLS options to the hosts of the rules; two options on one host conflict and the host falls back to
    the default options, without client certificates (pkg/server/router/tcp/manager.go; ingressroute.md "Conflicting
    TLS Options"). Every rule on a host, whichever IngressRoute holds it, names the same options."""
    options: dict[str, set[str]] = {}
    for r in prod.of_type(ROUTE):
        rns, spec = meta(r)[0], r.inputs["spec"]
        ref = spec.get("tls", {}).get("options")
        name = f"{ref.get('namespace') or rns}/{ref['name']}" if ref else "default"
        for rule in spec["routes"]:
            for host in re.findall(r"Host\(`([^`]+)`\)", rule["match"]):
                options.setdefault(host, set()).add(name)
    assert options == {"sql.data.contoso.com": {"default"}, "jobs.data.contoso.com": {"ingress/jobs-mtls"}}


def _matches(rule: str, method: str, host: str, path: str, headers: dict[str, str]) -> bool:
    """Evaluate a Traefik v3 rule with the matchers the tier uses (pkg/muxer/http/matcher.go: Host, Path, PathPrefix,
    Method compare one value each; HeaderRegexp searches the header's value; && and || with parentheses)."""
    assert set(re.findall(r"([A-Za-z]+)\(", rule)) <= {"Host", "Path", "PathPrefix", "Method", "HeaderRegexp"}, rule
    expr = re.sub(r"`([^`]*)`", lambda m: repr(m.group(1)), rule).replace("&&", " and ").replace("||", " or ")
    env = {"Host": lambda h: host == h, "Path": lambda p: path == p, "PathPrefix": lambda p: path.startswith(p),
           "Method": lambda m: method == m.upper(),
           "HeaderRegexp": lambda k, r: k in headers and re.search(r, headers[k]) is not None}
    return bool(eval(expr, {"__builtins__": {}}, env))  # our own rendered rule, matchers only


def _served_by(rec: Recording, method: str, url: str, headers: dict[str, str] | None = None) -> str | int:
    """Which IngressRoute rule answers a request on websecure: the route's name for a rule with a connector behind it,
    else the status Traefik answers. The highest priority wins, a rule's default priority being its length
    (rules-and-priority.md, "Priority Calculation"); with none matching, the entry point's default handler is
    http.NotFoundHandler (pkg/server/router/router.go): 404. A rule served by noop@internal (418) through an `errors`
    middleware answers the status that middleware rewrites 418 to."""
    host, _, path = url.partition("/")
    middlewares = {meta(m): m.inputs["spec"] for m in rec.of_type(MIDDLEWARE)}
    hits: list[tuple[int, str | int]] = []
    for r in rec.of_type(ROUTE):
        spec = r.inputs["spec"]
        for rule in spec["routes"]:
            if "websecure" not in spec["entryPoints"] or not _matches(rule["match"], method, host, "/" + path, headers or {}):
                continue
            svc = rule["services"][0]
            if svc["name"] == "noop@internal":
                rewrites = [middlewares[(m["namespace"], m["name"])]["errors"]["statusRewrites"] for m in rule["middlewares"]
                            if "errors" in middlewares[(m["namespace"], m["name"])]]
                answer: str | int = rewrites[-1]["418"] if rewrites else 418
            else:
                answer = meta(r)[1]
            hits.append((rule.get("priority") or len(rule["match"]), answer))
    if not hits:
        return 404
    hits.sort(key=lambda h: h[0], reverse=True)
    assert len(hits) == 1 or hits[0][0] > hits[1][0], hits  # never a tie at the top
    return hits[0][1]


def test_each_route_serves_only_its_methods(prod: Recording) -> None:
    bearer = {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}
    # The partner's jobs route is read-only: listing and reading jobs and runs, never submitting or deleting.
    assert _served_by(prod, "GET", "jobs.data.contoso.com/api/2.1/jobs/list", bearer) == "jobs"
    assert _served_by(prod, "GET", "jobs.data.contoso.com/api/2.1/jobs/runs/get", bearer) == "jobs"
    for method, path in (("POST", "api/2.1/jobs/runs/submit"), ("POST", "api/2.1/jobs/run-now"),
                         ("DELETE", "api/2.1/jobs/delete"), ("PUT", "api/2.1/jobs/reset"), ("HEAD", "api/2.1/jobs/list")):
        assert _served_by(prod, method, f"jobs.data.contoso.com/{path}", bearer) == 405
    # A jwt route takes bearer tokens only: a request without one never reaches the connector (its 405 rule's forward
    # auth answers it first).
    assert _served_by(prod, "GET", "jobs.data.contoso.com/api/2.1/jobs/list", {"Cookie": "_oauth2_proxy=x"}) == 405
    assert _served_by(prod, "GET", "jobs.data.contoso.com/api/2.1/jobs/list", {"Authorization": "Basic dXNlcjpwdw=="}) == 405
    # SQL statements are submitted and polled; nothing else.
    assert _served_by(prod, "POST", "sql.data.contoso.com/api/2.0/sql/statements") == "sql"
    assert _served_by(prod, "GET", "sql.data.contoso.com/api/2.0/sql/statements/01ef") == "sql"
    assert _served_by(prod, "DELETE", "sql.data.contoso.com/api/2.0/sql/statements/01ef") == 405
    # Unknown paths and hosts: no rule at all.
    assert _served_by(prod, "GET", "jobs.data.contoso.com/api/2.0/clusters/list", bearer) == 404
    assert _served_by(prod, "GET", "admin.data.contoso.com/", bearer) == 404


def test_the_405_rules_keep_the_routes_middlewares_and_tls(prod: Recording) -> None:
    spec = stacks.load("prod").ingress
    middlewares = {meta(m)[1]: m.inputs["spec"] for m in prod.of_type(MIDDLEWARE)}
    assert middlewares["method-not-allowed"] == {"errors": {
        "status": ["418"], "statusRewrites": {"418": 405}, "service": {"name": "noop@internal", "kind": "TraefikService"}}}
    routes = {x.name: x for x in spec.routes}
    for r in prod.of_type(ROUTE):
        name = meta(r)[1]
        if name not in routes:  # a host's `/oauth2/` route to oauth2-proxy: one rule, its own methods
            assert name.endswith("-oauth2") and len(r.inputs["spec"]["routes"]) == 1, name
            continue
        (allowed, other), route = r.inputs["spec"]["routes"], routes[name]
        assert other["match"] == f"Host(`{route.host}`) && PathPrefix(`{route.path}`)"
        assert other["services"] == [{"name": "noop@internal", "kind": "TraefikService"}]
        # The allowlist (403) and the forward auth (401) come first, then the Allow header and the 405.
        assert other["middlewares"] == [*allowed["middlewares"], {"name": f"{name}-allowed-methods", "namespace": "ingress"},
                                        {"name": "method-not-allowed", "namespace": "ingress"}]
        assert middlewares[f"{name}-allowed-methods"] == {"headers": {"customResponseHeaders": {"Allow": ", ".join(route.methods)}}}
        # Below the method rule, and both below any default (rule-length) priority on the host.
        assert 1 <= other["priority"] < allowed["priority"] < len(other["match"])


def test_route_priorities_put_the_most_specific_path_first_and_405_last() -> None:
    from components.planning.ingress import MAX_ROUTES_PER_HOST, RoutePriority, route_priorities

    prio = route_priorities([("root", "a.example.com", "/", False), ("jobs", "a.example.com", "/api/2.1/jobs", False),
                             ("jobs-exact", "a.example.com", "/api/2.1/jobs", True), ("other", "b.example.com", "/x", False)])
    assert prio == {"root": RoutePriority(2, 1), "jobs": RoutePriority(4, 3), "jobs-exact": RoutePriority(6, 5),
                    "other": RoutePriority(2, 1)}
    # The highest priority a full host stays below the default priority (rule length) of the shortest rule naming a
    # host and a path, so a default-priority rule on the host (a sign-in callback) outranks every route.
    full = route_priorities([(f"r{i}", "a.bc", "/" + "x" * i, False) for i in range(MAX_ROUTES_PER_HOST)])
    assert max(p.methods for p in full.values()) < len("Host(`a.bc`) && PathPrefix(`/`)")


@pytest.fixture(scope="module")
def prod_variant(prod_ingress_variant: Recording) -> Recording:
    """prod with a catch-all route `/` with five methods on the jobs host and the stack config value kubeloginMode
    set to workloadidentity (and an ACME certificate on the first route, which the tests below do not read:
    tests/conftest.py)."""
    return prod_ingress_variant


def test_a_more_specific_route_wins_whatever_its_methods(prod_variant: Recording) -> None:
    """Left to rule length, `/` with five methods would outrank `/api/2.1/jobs` with one and take its requests. The
    more specific path owns them: its GETs reach jobs-api, anything else there is 405, though `/` allows POST."""
    rec = prod_variant
    bearer = {"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"}
    assert _served_by(rec, "GET", "jobs.data.contoso.com/api/2.1/jobs/list", bearer) == "jobs"
    assert _served_by(rec, "POST", "jobs.data.contoso.com/api/2.1/jobs/run-now", bearer) == 405  # jobs' 405 rule
    assert _served_by(rec, "POST", "jobs.data.contoso.com/api/2.0/other", bearer) == "jobs-root"
    assert _served_by(rec, "DELETE", "jobs.data.contoso.com/api/2.0/other", bearer) == 405


def test_kubelogin_mode_workloadidentity_from_stack_config(prod_variant: Recording, prod: Recording) -> None:
    """CI with a federated credential: the stack config value kubeloginMode switches the exec plugin's login."""
    def login(rec: Recording) -> list[str]:
        kubeconfig = rec.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
        assert isinstance(kubeconfig, Secret)
        (user,) = yaml.safe_load(kubeconfig.value)["users"]
        return list(user["user"]["exec"]["args"][:3])

    assert login(prod_variant) == ["get-token", "--login", "workloadidentity"]
    assert login(prod)[2] != "workloadidentity"  # the stack as it stands: the config value is what switched it
