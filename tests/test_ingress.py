"""The ingress tier on prod's recorded registrations: cluster, controller, routes, credentials, policies."""

from __future__ import annotations

import stacks
from brickwall.engine import Recording, Secret
from components.planning.ingress import (
    CERT_MANAGER_CHART,
    CERT_MANAGER_NAMESPACE,
    NON_PUBLIC,
    TRAEFIK_CHART,
    network_policies,
    tier_layout,
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
    planned = {(p.namespace, p.name): p.spec for p in network_policies(tier_layout(stacks.load("prod")))}
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
    assert v["providers"]["kubernetesIngress"]["enabled"] is False


def test_tls_options_and_routes(prod: Recording) -> None:
    options = {name: r.inputs["spec"] for (_, name), r in by_name(prod, TLSOPT).items()}  # type: ignore[attr-defined]
    assert options["default"]["minVersion"] == "VersionTLS12" and options["default"]["sniStrict"] is True
    assert options["jobs-mtls"]["clientAuth"] == {"secretNames": ["partner-client-ca"], "clientAuthType": "RequireAndVerifyClientCert"}
    routes = {name: r.inputs["spec"] for (_, name), r in by_name(prod, ROUTE).items()}  # type: ignore[attr-defined]
    assert set(routes) == {"sql", "jobs"}
    spec = stacks.load("prod").ingress
    for route in spec.routes:
        r = routes[route.name]
        assert r["entryPoints"] == ["websecure"]
        assert r["tls"]["secretName"] == f"{route.name}-tls"
        rule = r["routes"][0]
        assert rule["match"] == f"Host(`{route.host}`) && PathPrefix(`{route.path}`)"
        names = [m["name"] for m in rule["middlewares"]]
        assert names == [f"{route.name}-allowlist", "security-headers", "oauth2-forward-auth"]
        svc = rule["services"][0]
        assert svc["scheme"] == "https" and svc["serversTransport"] == f"{route.name}-upstream"
    assert routes["jobs"]["tls"]["options"] == {"name": "jobs-mtls", "namespace": "ingress"}
    transports = {name: r.inputs["spec"] for (_, name), r in by_name(prod, TRANSPORT).items()}  # type: ignore[attr-defined]
    assert transports["sql-upstream"]["insecureSkipVerify"] is False
    assert "certificatesSecrets" in transports["jobs-upstream"] and "certificatesSecrets" not in transports["sql-upstream"]
    middlewares = {name: r.inputs["spec"] for (_, name), r in by_name(prod, MIDDLEWARE).items()}  # type: ignore[attr-defined]
    assert middlewares["sql-allowlist"] == {"ipAllowList": {"sourceRange": ["10.200.0.0/16"]}}
    assert middlewares["oauth2-forward-auth"]["forwardAuth"]["trustForwardHeader"] is False


def test_short_lived_certificates_by_automation(prod: Recording) -> None:
    certs = {name: r.inputs["spec"] for (_, name), r in by_name(prod, CERT).items()}  # type: ignore[attr-defined]
    for name in ("sql-tls", "jobs-tls", "sql-gateway-serving-tls", "jobs-api-serving-tls"):
        assert certs[name]["duration"] == "168h" and certs[name]["renewBefore"] == "72h"
        assert certs[name]["privateKey"]["rotationPolicy"] == "Always"
    assert certs["sql-tls"]["dnsNames"] == ["sql.data.contoso.com"]


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
    assert set(namespaces) == {"ingress", "databricks-apps", CERT_MANAGER_NAMESPACE}
    assert all(labels["pod-security.kubernetes.io/enforce"] == "restricted" for labels in namespaces.values())


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


def test_kubelogin_mode_workloadidentity_from_stack_config() -> None:
    """CI with a federated credential: the stack config value kubeloginMode switches the exec plugin's login."""
    import yaml

    from brickwall import project

    rec = project.run("prod", extra_config={"brickwall:kubeloginMode": "workloadidentity"})
    kubeconfig = rec.one("pulumi:providers:kubernetes").inputs["kubeconfig"]
    assert isinstance(kubeconfig, Secret)
    (user,) = yaml.safe_load(kubeconfig.value)["users"]
    assert user["user"]["exec"]["args"][:3] == ["get-token", "--login", "workloadidentity"]
