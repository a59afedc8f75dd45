"""Human-readable plan: the resource tree by component, key security settings, a summary."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from components.planning import azure_types as az

Resource = dict[str, Any]


def _get(inputs: dict[str, Any], path: str, default: Any = None) -> Any:
    cur: Any = inputs
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return default
        cur = cur[part]
    return cur


def _list(*values: Any) -> str:
    out: list[str] = []
    for v in values:
        if v is None:
            continue
        out.extend(v if isinstance(v, list) else [v])
    return ",".join(str(x) for x in out) or "-"


def _workspace(i: dict[str, Any]) -> str:
    if i.get("computeMode") == "Serverless":
        return f"serverless web-auth workspace, publicNetworkAccess={i.get('publicNetworkAccess')}"
    return (
        f"sku={_get(i, 'sku.name')} publicNetworkAccess={i.get('publicNetworkAccess')} "
        f"requiredNsgRules={i.get('requiredNsgRules')} noPublicIp={_get(i, 'parameters.enableNoPublicIp.value')} "
        f"storageFirewall={i.get('defaultStorageFirewall')} storage={_get(i, 'parameters.storageAccountName.value')}"
        + _enhanced_security(i.get("enhancedSecurityCompliance"))
    )


def _enhanced_security(esc: Any) -> str:
    if not isinstance(esc, dict):
        return ""
    on = [label for key, label in (("complianceSecurityProfile", "complianceProfile"), ("enhancedSecurityMonitoring", "monitoring"),
                                   ("automaticClusterUpdate", "autoUpdate")) if _get(esc, f"{key}.value") == "Enabled"]
    standards = _get(esc, "complianceSecurityProfile.complianceStandards") or []
    return f" enhancedSecurity={','.join(on) or 'none'}" + (f" standards={_list(standards)}" if standards else "")


def _subnet(i: dict[str, Any]) -> str:
    parts = [str(i.get("addressPrefix"))]
    if i.get("delegations"):
        parts.append("delegated=" + _list([d.get("serviceName") for d in i["delegations"]]))
    if i.get("networkSecurityGroup"):
        parts.append("nsg=yes")
    if i.get("natGateway"):
        parts.append("egress=nat-gateway")
    if i.get("routeTable"):
        parts.append("egress=route-table")
    if i.get("privateEndpointNetworkPolicies"):
        parts.append(f"endpointPolicies={i['privateEndpointNetworkPolicies']}")
    return " ".join(parts)


def _rule(i: dict[str, Any]) -> str:
    return (
        f"{i.get('direction')} {i.get('access')} p{i.get('priority')} {i.get('protocol')} "
        f"{_list(i.get('sourceAddressPrefix'), i.get('sourceAddressPrefixes'))} -> "
        f"{_list(i.get('destinationAddressPrefix'), i.get('destinationAddressPrefixes'))}:"
        f"{_list(i.get('destinationPortRange'), i.get('destinationPortRanges'))}"
    )


def _endpoint(i: dict[str, Any]) -> str:
    conns = i.get("privateLinkServiceConnections") or []
    groups = [g for c in conns for g in c.get("groupIds", [])]
    target = conns[0].get("privateLinkServiceId", "") if conns else ""
    return f"groups={_list(groups)} target={str(target).rsplit('/', 1)[-1]}"


def _conf(i: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted((i.get("customConfig") or {}).items()))


def _access_controls(i: dict[str, Any]) -> str:
    if i.get("authorization") == "tokens":
        target = "tokens"
    elif i.get("sqlEndpointId"):
        target = f"warehouse {str(i.get('sqlEndpointId')).removeprefix('mock-')}"
    else:
        target = f"policy {str(i.get('clusterPolicyId', '')).removeprefix('mock-')}"
    who = [
        f"{ac.get('groupName') or ac.get('servicePrincipalName') or ac.get('userName')}:{ac.get('permissionLevel')}"
        for ac in i.get("accessControls", [])
    ]
    return f"{target} -> {', '.join(who)}"


def _policy(i: dict[str, Any]) -> str:
    family = i.get("policyFamilyId")
    try:
        # A built-in policy (Personal Compute) carries its locks as overrides of its family's definition.
        definition = json.loads(i.get("policyFamilyDefinitionOverrides" if family else "definition", "{}"))
    except (TypeError, ValueError):
        return "definition=?"
    locked = [k for k, rule in sorted(definition.items()) if rule.get("type") in ("fixed", "forbidden")]
    mode = definition.get("data_security_mode", {}).get("value")
    kind = definition.get("cluster_type", {}).get("value")
    return (f"{'family=' + family + ' overrides: ' if family else ''}clusterType={kind} dataSecurityMode={mode} "
            f"locked={len(locked)} rules={len(definition)} maxClustersPerUser={i.get('maxClustersPerUser')}")


def _network_policy(i: dict[str, Any]) -> str:
    access = _get(i, "egress.networkAccess") or {}
    allowed = [d.get("destination") for d in access.get("allowedInternetDestinations") or []]
    storage = [d.get("azureStorageAccount") for d in access.get("allowedStorageDestinations") or []]
    return (f"{access.get('restrictionMode')} {_get(access, 'policyEnforcement.enforcementMode')} "
            f"domains={_list(allowed)} storage={_list(storage)}")


def _identity(i: dict[str, Any]) -> str:
    ident = i.get("externalId") or i.get("applicationId")
    return (f"entra={ident} clusterCreate={i.get('allowClusterCreate', False)} "
            f"sqlAccess={i.get('databricksSqlAccess', False)}")


KEY_SETTINGS: dict[str, Callable[[dict[str, Any]], str]] = {
    "databricks:index/workspaceConf:WorkspaceConf": _conf,
    "databricks:index/ipAccessList:IpAccessList": lambda i: f"{i.get('listType')} {_list(i.get('ipAddresses'))}",
    "databricks:index/permissions:Permissions": _access_controls,
    "databricks:index/clusterPolicy:ClusterPolicy": _policy,
    "databricks:index/group:Group": _identity,
    "databricks:index/servicePrincipal:ServicePrincipal": _identity,
    "databricks:index/accountSettingV2:AccountSettingV2": lambda i: (
        f"{i.get('name')}={_get(i, 'personalCompute.value') or _get(i, 'booleanVal.value')}"),
    "databricks:index/disableLegacyAccessSetting:DisableLegacyAccessSetting": lambda i: (
        f"disableLegacyAccess={_get(i, 'disableLegacyAccess.value')}"),
    "databricks:index/disableLegacyDbfsSetting:DisableLegacyDbfsSetting": lambda i: (
        f"disableLegacyDbfs={_get(i, 'disableLegacyDbfs.value')}"),
    "databricks:index/restrictWorkspaceAdminsSetting:RestrictWorkspaceAdminsSetting": lambda i: (
        f"status={_get(i, 'restrictWorkspaceAdmins.status')}"),
    "databricks:index/sqlEndpoint:SqlEndpoint": lambda i: (
        f"{i.get('warehouseType')} serverless={i.get('enableServerlessCompute')} size={i.get('clusterSize')} "
        f"clusters={i.get('minNumClusters')}-{i.get('maxNumClusters')} autoStop={i.get('autoStopMins')}m"),
    "databricks:index/accountNetworkPolicy:AccountNetworkPolicy": _network_policy,
    "databricks:index/workspaceNetworkOption:WorkspaceNetworkOption": lambda i: (
        f"workspace={i.get('workspaceId')} networkPolicy={i.get('networkPolicyId')}"),
    "databricks:index/entitlements:Entitlements": lambda i: (
        f"group={i.get('groupId')} workspaceAccess={i.get('workspaceAccess', False)} sqlAccess={i.get('databricksSqlAccess', False)} "
        f"clusterCreate={i.get('allowClusterCreate', False)} instancePoolCreate={i.get('allowInstancePoolCreate', False)}"),
    # An account group's (or principal's) assignment to the workspace: USER or ADMIN.
    "databricks:index/mwsPermissionAssignment:MwsPermissionAssignment": lambda i: (
        f"principal={i.get('principalId')} workspace={i.get('workspaceId', 'unknown until the workspace exists')} "
        f"permissions={_list(i.get('permissions'))}"),
    "kubernetes:networking.k8s.io/v1:NetworkPolicy": lambda i: "types=" + _list(_get(i, "spec.policyTypes")) + (
        " (default deny)" if not _get(i, "spec.ingress") and not _get(i, "spec.egress") else ""),
    "kubernetes:helm.sh/v3:Release": lambda i: f"chart={i.get('chart')}@{i.get('version')} namespace={i.get('namespace')}",
    "kubernetes:traefik.io/v1alpha1:IngressRoute": lambda i: " ".join(r.get("match", "") for r in _get(i, "spec.routes", [])),
    az.MANAGED_CLUSTER.token: lambda i: (
        f"networkPolicy={_get(i, 'networkProfile.networkPolicy')} privateApi={_get(i, 'apiServerAccessProfile.enablePrivateCluster')} "
        f"localAccounts={'off' if i.get('disableLocalAccounts') else 'on'} entraRbac={_get(i, 'aadProfile.enableAzureRBAC')}"),
    "pulumi:providers:databricks": lambda i: f"host={i.get('host', 'unknown until the workspace exists')}",
    "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig": lambda i: (
        f"name={i.get('name')} region={i.get('region')}"),
    "databricks:index/mwsNccPrivateEndpointRule:MwsNccPrivateEndpointRule": lambda i: (
        f"group={i.get('groupId')} target={str(i.get('resourceId', '')).rsplit('/', 1)[-1]} "
        "(lands pending: the storage owner approves it)"),
    "databricks:index/mwsNccBinding:MwsNccBinding": lambda i: f"workspace={i.get('workspaceId')}",
    "databricks:index/metastoreAssignment:MetastoreAssignment": lambda i: (
        f"metastore={i.get('metastoreId')} workspace={i.get('workspaceId')} api={i.get('api')}"),
    az.DATABRICKS_WORKSPACE.token: _workspace,
    az.SUBNET.token: _subnet,
    az.SECURITY_RULE.token: _rule,
    az.PRIVATE_ENDPOINT.token: _endpoint,
    az.VIRTUAL_NETWORK.token: lambda i: _list(_get(i, "addressSpace.addressPrefixes")) + (
        " inlineSubnets=yes" if i.get("subnets") else "") + (
        f" encryption={_get(i, 'encryption.enforcement')}" if _get(i, "encryption.enabled") else " encryption=off"),
    az.NETWORK_SECURITY_GROUP.token: lambda i: "inlineRules=yes" if i.get("securityRules") else "rules=standalone",
    az.NAT_GATEWAY.token: lambda i: f"sku={_get(i, 'sku.name')} idleTimeout={i.get('idleTimeoutInMinutes')}m",
    az.ROUTE.token: lambda i: f"{i.get('addressPrefix')} -> {i.get('nextHopType')} {i.get('nextHopIpAddress', '')}".strip(),
    az.PRIVATE_DNS_ZONE_GROUP.token: lambda i: "zones=" + _list(
        [str(c.get("privateDnsZoneId", "")).rsplit("/", 1)[-1] for c in i.get("privateDnsZoneConfigs", [])]),
    az.PRIVATE_DNS_ZONE_LINK.token: lambda i: f"{i.get('privateZoneName')} -> vnet "
        f"{str(_get(i, 'virtualNetwork.id', '')).rsplit('/', 1)[-1]} autoRegistration={i.get('registrationEnabled')}",
}

# The azure-native types whose Azure name the tree shows beside the logical name (the input holding it comes from the
# Azure type catalog); the others' names are in the plan file.
_NAMED_AZURE_TYPES = frozenset(t.token for t in (
    az.RESOURCE_GROUP, az.VIRTUAL_NETWORK, az.SUBNET, az.NETWORK_SECURITY_GROUP, az.SECURITY_RULE, az.NAT_GATEWAY,
    az.PUBLIC_IP_ADDRESS, az.ROUTE_TABLE, az.ROUTE, az.DATABRICKS_WORKSPACE, az.ACCESS_CONNECTOR, az.MANAGED_CLUSTER,
    az.PRIVATE_ENDPOINT, az.PRIVATE_DNS_ZONE_GROUP, az.PRIVATE_DNS_ZONE, az.PRIVATE_DNS_ZONE_LINK,
))
# The input holding the name of the other types the tree names.
_OWN_NAME_KEY = {
    "databricks:index/ipAccessList:IpAccessList": "label",
    "databricks:index/group:Group": "displayName",
    "databricks:index/servicePrincipal:ServicePrincipal": "displayName",
    "databricks:index/clusterPolicy:ClusterPolicy": "name",
    "databricks:index/sqlEndpoint:SqlEndpoint": "name",
    "databricks:index/accountNetworkPolicy:AccountNetworkPolicy": "networkPolicyId",
}


def physical_name(res: Resource) -> str | None:
    if res["type"].startswith("kubernetes:") and isinstance(res["inputs"].get("metadata"), dict):
        meta = res["inputs"]["metadata"]
        return "/".join(str(x) for x in (meta.get("namespace"), meta.get("name")) if x)
    entry = az.entry_of(res["type"]) if res["type"] in _NAMED_AZURE_TYPES else None
    key = entry.own_name_input if entry else _OWN_NAME_KEY.get(res["type"])
    value = res["inputs"].get(key) if key else None
    return str(value) if value is not None else None


def short_type(type_: str) -> str:
    return type_.split(":")[-1] if not type_.startswith("pulumi:providers:") else f"provider:{type_.split(':')[-1]}"


def render_tree(plan: dict[str, Any]) -> list[str]:
    resources: list[Resource] = plan["resources"]
    urns = {r["urn"] for r in resources}
    children: dict[str, list[Resource]] = defaultdict(list)
    roots: list[Resource] = []
    for res in resources:
        (children[res["parent"]] if res["parent"] in urns else roots).append(res)

    lines: list[str] = []

    def walk(res: Resource, depth: int) -> None:
        label = f"{'  ' * depth}{short_type(res['type'])} {res['name']}"
        phys = physical_name(res)
        if phys and phys != res["name"]:
            label += f" ({phys})"
        detail = KEY_SETTINGS.get(res["type"])
        extras = []
        if detail:
            extras.append(detail(res["inputs"]))
        if res["protect"]:
            extras.append("[protected, retained on delete]" if res["retainOnDelete"] else "[protected]")
        lines.append(label + (": " + " ".join(extras) if extras else ""))
        # Components first, then their resources, each group by name: a stable, readable order.
        for kid in sorted(children[res["urn"]], key=lambda r: (r["custom"], r["type"], r["name"])):
            walk(kid, depth + 1)

    for root in sorted(roots, key=lambda r: (r["custom"], r["type"], r["name"])):
        walk(root, 0)
    return lines


def summary(plan: dict[str, Any]) -> str:
    resources = plan["resources"]
    custom = [r for r in resources if r["custom"] and not r["type"].startswith("pulumi:providers:")]
    components = [r for r in resources if not r["custom"]]
    providers = [r for r in resources if r["type"].startswith("pulumi:providers:")]
    protected = [r for r in resources if r["protect"]]
    endpoints = Counter(
        g for r in resources if r["type"] == az.PRIVATE_ENDPOINT.token
        for c in r["inputs"].get("privateLinkServiceConnections", []) for g in c.get("groupIds", [])
    )
    outputs = plan.get("outputs", {})
    parts = [
        f"{plan['stack']}: {len(custom)} resources in {len(components)} components, {len(providers)} explicit provider(s)",
        f"{len(protected)} protected",
        "private endpoints " + (", ".join(f"{g} x{n}" for g, n in sorted(endpoints.items())) or "none"),
    ]
    if "maxClusterNodes" in outputs:
        parts.append(f"max cluster nodes {outputs['maxClusterNodes']}")
    return "; ".join(parts)


def render(plan: dict[str, Any]) -> str:
    return "\n".join([*render_tree(plan), "", summary(plan)]) + "\n"
