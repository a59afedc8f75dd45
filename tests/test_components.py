"""The recorded registrations of dev, staging and prod: every setting the components promise."""

from __future__ import annotations

import itertools
import json
from collections import Counter

from brickwall import planfile, project
from brickwall.engine import Recording, Registration
from components.planning import audit_network
from components.planning.azure_types import CATALOG
from components.planning.nsg_rules import private_endpoint_subnet_rules, workspace_subnet_rules
from components.spec import EnvironmentSpec

T = "azure-native:"
RG, VNET, SUBNET, NSG, RULE = (T + "resources:ResourceGroup", T + "network:VirtualNetwork", T + "network:Subnet",
                               T + "network:NetworkSecurityGroup", T + "network:SecurityRule")
WS, PE, ZONE, LINK, ZONE_GROUP = (T + "databricks:Workspace", T + "network:PrivateEndpoint", T + "privatedns:PrivateZone",
                                  T + "privatedns:VirtualNetworkLink", T + "network:PrivateDnsZoneGroup")
NAT, PIP, RT, ROUTE = T + "network:NatGateway", T + "network:PublicIPAddress", T + "network:RouteTable", T + "network:Route"
TAGGABLE = {RG, VNET, NSG, WS, PE, ZONE, LINK, NAT, PIP, RT, T + "databricks:AccessConnector"}
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"


def by_phys(rec: Recording, type_: str, key: str, value: str) -> Registration:
    found = [r for r in rec.of_type(type_) if r.inputs.get(key) == value]
    assert len(found) == 1, f"{type_} {key}={value}: {len(found)} found"
    return found[0]


def arm(rg: str, rest: str) -> str:
    return f"{SUB}/resourceGroups/{rg}/providers/{rest}"


def test_tree_parents_and_type_tokens(rec: Recording, spec: EnvironmentSpec) -> None:
    env = rec.one("brickwall:environment:SecureDatabricksEnvironment")
    assert env.name == spec.name
    urns = {r.urn for r in rec.registrations}
    for reg in rec.registrations:
        if reg is env:
            continue
        assert reg.parent in urns, f"{reg.urn} is not parented inside the environment"
        # Walk up: every resource hangs below the environment component.
        node = reg
        while node.parent in urns:
            node = rec.by_urn(node.parent)
        assert node is env
    for comp in (r for r in rec.registrations if not r.custom):
        assert comp.type.startswith("brickwall:"), comp.type
        assert comp.name.startswith(spec.name)


def test_every_azure_resource_uses_the_one_explicit_azure_provider(rec: Recording, spec: EnvironmentSpec) -> None:
    """One provider for the environment; an existing hub in its own subscription adds one for the two resources that
    live there (the hub's side of the peering and the rule collection group in the hub firewall's policy)."""
    providers = {p.name: p for p in rec.of_type("pulumi:providers:azure-native")}
    env_provider = providers.pop(f"{spec.name}-azure")
    hub = spec.network.egress.hub
    in_hub = {f"{spec.name}-hub-peering-from-hub", f"{spec.name}-firewall-hub-rules"}
    if hub is not None and not hub.create:
        assert hub.vnet_id is not None
        hub_provider = providers.pop(f"{spec.name}-azure-hub")
        assert hub_provider.inputs["subscriptionId"] == hub.vnet_id.split("/")[2]
    assert providers == {}
    for reg in rec.registrations:
        if reg.type.startswith("azure-native:"):
            expected = hub_provider if hub is not None and not hub.create and reg.name in in_hub else env_provider
            assert reg.provider.startswith(expected.urn + "::"), reg.urn
    assert env_provider.inputs["location"] == "westeurope"


def test_names_are_unique_and_as_planned(rec: Recording, spec: EnvironmentSpec) -> None:
    assert len({r.urn for r in rec.registrations}) == len(rec.registrations)
    names = spec.names
    assert by_phys(rec, RG, "resourceGroupName", names.resource_group)
    assert by_phys(rec, VNET, "virtualNetworkName", names.virtual_network)
    assert by_phys(rec, WS, "workspaceName", names.workspace)
    # Physical names unique per type and scope (the name plus its resource group or parent resource).
    seen = Counter(
        (r.type, r.inputs.get("resourceGroupName"), r.inputs.get("virtualNetworkName"),
         r.inputs.get("networkSecurityGroupName"), r.inputs.get("privateZoneName"), r.name)
        for r in rec.registrations
    )
    assert max(seen.values()) == 1


def test_vnet_and_nsgs_carry_nothing_inline(rec: Recording, spec: EnvironmentSpec) -> None:
    for vnet in rec.of_type(VNET):
        assert "subnets" not in vnet.inputs
    for nsg in rec.of_type(NSG):
        assert "securityRules" not in nsg.inputs
    # The workspace subnets', the endpoint subnet's, and the AKS subnet's where the toolkit creates the cluster.
    assert len(rec.of_type(NSG)) == 2 + (spec.ingress.enabled and spec.ingress.cluster == "aks")


def test_subnets_match_the_address_plan(rec: Recording, spec: EnvironmentSpec) -> None:
    names, plan = spec.names, spec.network.plan
    rg = names.resource_group
    host = by_phys(rec, SUBNET, "subnetName", names.host_subnet)
    container = by_phys(rec, SUBNET, "subnetName", names.container_subnet)
    endpoints = [s for s in rec.of_type(SUBNET)
                 if s.inputs["subnetName"] == names.private_endpoint_subnet and s.inputs["resourceGroupName"] == rg]
    assert len(endpoints) == 1
    ep = endpoints[0]
    assert host.inputs["addressPrefix"] == str(plan["host"])
    assert container.inputs["addressPrefix"] == str(plan["container"])
    assert ep.inputs["addressPrefix"] == str(plan["private_endpoints"])
    nsg_id = arm(rg, f"Microsoft.Network/networkSecurityGroups/{names.network_security_group}")
    for sub in (host, container):
        assert sub.inputs["delegations"] == [{"name": "databricks", "serviceName": "Microsoft.Databricks/workspaces"}]
        assert sub.inputs["networkSecurityGroup"] == {"id": nsg_id}
        assert sub.inputs["defaultOutboundAccess"] is False
        assert sub.inputs["virtualNetworkName"] == names.virtual_network
    assert ep.inputs["privateEndpointNetworkPolicies"] == "Enabled"
    assert ep.inputs["networkSecurityGroup"] == {
        "id": arm(rg, f"Microsoft.Network/networkSecurityGroups/{names.endpoint_network_security_group}")}
    assert "delegations" not in ep.inputs
    # Subnet writes on one VNet are serialised.
    assert host.urn in container.dependencies and container.urn in ep.dependencies
    aks = [sub for sub in rec.of_type(SUBNET) if sub.inputs["subnetName"] == names.aks_subnet]
    if spec.ingress.enabled and spec.ingress.cluster == "aks":
        # Its own NSG (pods and nodes stay off the cluster subnets); private-endpoint policies off, so the API server's
        # endpoint there stays reachable for kubectl.
        assert len(aks) == 1 and aks[0].inputs["addressPrefix"] == str(plan["aks"])
        assert aks[0].inputs["networkSecurityGroup"] == {
            "id": arm(rg, f"Microsoft.Network/networkSecurityGroups/{names.aks_network_security_group}")}
        assert aks[0].inputs["privateEndpointNetworkPolicies"] == "Disabled"
    else:
        assert aks == []


def test_each_private_endpoint_joins_its_class_application_security_group(rec: Recording, spec: EnvironmentSpec) -> None:
    names, rg = spec.names, spec.names.resource_group
    classes = spec.plan.endpoint_classes
    asgs = {r.inputs["applicationSecurityGroupName"]: r for r in rec.of_type(T + "network:ApplicationSecurityGroup")}
    assert set(asgs) == set(spec.plan.endpoint_asg_names.values())
    assert all(a.inputs["resourceGroupName"] == rg and a.inputs["location"] == spec.region for a in asgs.values())
    endpoint_class = {names.backend_endpoint: "backend", names.dfs_endpoint: "workspace-storage", names.blob_endpoint: "workspace-storage",
                      names.data_lake_dfs_endpoint: "lake", names.data_lake_blob_endpoint: "lake", names.sql_endpoint: "sql",
                      names.key_vault_endpoint: "key-vault", names.monitor_endpoint: "monitor", names.event_hub_endpoint: "siem"}
    seen = set()
    for pe in rec.of_type(PE):
        name = pe.inputs["privateEndpointName"]
        joined = [g["id"] for g in pe.inputs.get("applicationSecurityGroups") or []]
        if name in endpoint_class:  # the workspace VNet's endpoint subnet: exactly its class's ASG
            seen.add(endpoint_class[name])
            asg = f"{names.endpoint_application_security_group}-{endpoint_class[name]}"
            assert joined == [arm(rg, f"Microsoft.Network/applicationSecurityGroups/{asg}")], name
        else:  # the transit VNet's front-end and web-auth endpoints: no NSG there, no ASG
            assert joined == [], name
    assert seen == set(classes)


def test_security_rules_are_the_planned_table(rec: Recording, spec: EnvironmentSpec) -> None:
    plan = spec.network.plan
    tables = {
        spec.names.network_security_group: workspace_subnet_rules(
            spec.workspace.required_nsg_rules, spec.network.egress.allow_internet_outbound),
        spec.names.endpoint_network_security_group: private_endpoint_subnet_rules(
            (str(plan["host"]), str(plan["container"])), spec.plan.endpoint_classes,
            str(plan["aks"]) if spec.ingress.enabled and spec.ingress.cluster == "aks" else None),
    }
    if spec.ingress.enabled and spec.ingress.cluster == "aks":  # the AKS subnet's NSG: the matrix's own table
        tables[spec.names.aks_network_security_group] = spec.plan.network.aks_rules()
    else:
        assert not [r for r in rec.of_type(RULE) if r.inputs["networkSecurityGroupName"] == spec.names.aks_network_security_group]
    for nsg_name, table in tables.items():
        registered = {r.inputs["securityRuleName"]: r for r in rec.of_type(RULE)
                      if r.inputs["networkSecurityGroupName"] == nsg_name}
        expected = {row.name: row for row in table if row.created_by_toolkit}
        assert set(registered) == set(expected)
        for name, row in expected.items():
            i = registered[name].inputs
            assert (i["priority"], i["direction"], i["access"], i["protocol"]) == (
                row.priority, row.direction, row.access, row.protocol)
            sources = [i["sourceAddressPrefix"]] if "sourceAddressPrefix" in i else i["sourceAddressPrefixes"]
            ports = [i["destinationPortRange"]] if "destinationPortRange" in i else i["destinationPortRanges"]
            assert tuple(sources) == row.sources and tuple(ports) == row.destination_ports
            if row.destination_asgs:  # an ASG destination, never an address prefix besides it
                assert "destinationAddressPrefix" not in i and "destinationAddressPrefixes" not in i
                assert [g["id"] for g in i["destinationApplicationSecurityGroups"]] == [
                    arm(spec.names.resource_group, "Microsoft.Network/applicationSecurityGroups/"
                        f"{spec.names.endpoint_application_security_group}-{asg}") for asg in row.destination_asgs]
            else:
                assert "destinationApplicationSecurityGroups" not in i
    # Nothing we create pretends to be a rule Databricks owns.
    assert not any(r.inputs["securityRuleName"].startswith("Microsoft.Databricks") for r in rec.of_type(RULE))
    inbound_internet_deny = [r for r in rec.of_type(RULE) if r.inputs["direction"] == "Inbound"
                             and r.inputs["access"] == "Deny" and r.inputs.get("sourceAddressPrefix") == "Internet"]
    assert len(inbound_internet_deny) == 1


def test_egress(rec: Recording, spec: EnvironmentSpec) -> None:
    names = spec.names
    rg = names.resource_group
    subnets = [by_phys(rec, SUBNET, "subnetName", n) for n in (names.host_subnet, names.container_subnet)]
    if spec.network.egress.mode == "nat_gateway":
        nat = rec.one(NAT)
        pip = rec.one(PIP)
        assert nat.inputs["sku"] == {"name": "Standard"} and pip.inputs["sku"]["name"] == "Standard"
        assert pip.inputs["publicIPAllocationMethod"] == "Static"
        assert nat.inputs["publicIpAddresses"] == [{"id": arm(rg, f"Microsoft.Network/publicIPAddresses/{names.nat_public_ip}")}]
        for sub in subnets:
            assert sub.inputs["natGateway"] == {"id": arm(rg, f"Microsoft.Network/natGateways/{names.nat_gateway}")}
            assert "routeTable" not in sub.inputs
        assert rec.of_type(RT) == []
    else:
        assert rec.of_type(NAT) == [] and rec.of_type(PIP) == []
        route = rec.one(ROUTE)
        assert route.inputs["addressPrefix"] == "0.0.0.0/0"
        assert route.inputs["nextHopType"] == "VirtualAppliance"
        assert route.inputs["nextHopIpAddress"] == spec.network.egress.firewall_private_ip
        assert rec.one(RT).inputs["disableBgpRoutePropagation"] is True
        for sub in subnets:
            assert sub.inputs["routeTable"] == {"id": arm(rg, f"Microsoft.Network/routeTables/{names.route_table}")}
            assert "natGateway" not in sub.inputs


def test_workspace(rec: Recording, spec: EnvironmentSpec) -> None:
    names = spec.names
    rg = names.resource_group
    ws = by_phys(rec, WS, "workspaceName", names.workspace)
    i = ws.inputs
    assert i["sku"] == {"name": "premium"}
    assert ws.input("parameters.enableNoPublicIp.value") is True
    assert ws.input("parameters.customVirtualNetworkId.value") == arm(rg, f"Microsoft.Network/virtualNetworks/{names.virtual_network}")
    assert ws.input("parameters.customPublicSubnetName.value") == names.host_subnet
    assert ws.input("parameters.customPrivateSubnetName.value") == names.container_subnet
    assert ws.input("parameters.storageAccountName.value") == names.workspace_storage_account
    assert i["publicNetworkAccess"] == spec.workspace.public_network_access
    assert i["requiredNsgRules"] == spec.workspace.required_nsg_rules
    assert i["managedResourceGroupId"] == f"{SUB}/resourceGroups/{names.managed_resource_group}"
    assert i["resourceGroupName"] == rg and i["location"] == spec.region
    assert i["computeMode"] == "Hybrid"  # classic compute; Azure requires the mode on create
    assert ws.protect is spec.protection.protect_data
    assert ws.retain_on_delete is spec.protection.protect_data
    workspace_subnets = (names.host_subnet, names.container_subnet, names.private_endpoint_subnet)
    subnet_urns = {s.urn for s in rec.of_type(SUBNET)
                   if s.inputs["resourceGroupName"] == rg and s.inputs["subnetName"] in workspace_subnets}
    assert len(subnet_urns) == 3 and subnet_urns <= set(ws.dependencies)
    if spec.workspace.default_storage_firewall:
        connector = by_phys(rec, T + "databricks:AccessConnector", "connectorName", names.access_connector)
        assert i["defaultStorageFirewall"] == "Enabled"
        assert i["accessConnector"] == {
            "id": arm(rg, f"Microsoft.Databricks/accessConnectors/{names.access_connector}"), "identityType": "SystemAssigned"}
        assert connector.inputs["identity"] == {"type": "SystemAssigned"}
    else:
        assert i["defaultStorageFirewall"] == "Disabled" and "accessConnector" not in i


def test_private_endpoints_and_dns(rec: Recording, spec: EnvironmentSpec) -> None:
    names, pl = spec.names, spec.private_link
    ws_id = arm(names.resource_group, f"Microsoft.Databricks/workspaces/{names.workspace}")
    endpoints = {r.inputs["privateEndpointName"]: r for r in rec.of_type(PE)}
    expected = {names.backend_endpoint} if pl.backend else set()
    if pl.workspace_storage:
        expected |= {names.dfs_endpoint, names.blob_endpoint}
    if pl.frontend:
        expected.add(names.frontend_endpoint)
    if pl.browser_authentication != "none":
        expected.add(names.webauth_endpoint)
    # The data sources' endpoints (tests/test_data_sources.py).
    if spec.data.lake.enabled:
        expected |= {names.data_lake_dfs_endpoint, names.data_lake_blob_endpoint}
    if spec.data.sql.enabled:
        expected.add(names.sql_endpoint)
    # The Key Vault's endpoint (tests/test_keys.py).
    if spec.encryption.customer_managed_keys and spec.encryption.key_vault and not spec.encryption.key_vault.existing_id:
        expected.add(names.key_vault_endpoint)
    # The audit data paths' endpoints (tests/test_audit.py): the Azure Monitor Private Link Scope, the SIEM hub.
    if spec.monitoring.private_link.enabled:
        expected.add(names.monitor_endpoint)
    if spec.monitoring.siem.event_hub and spec.monitoring.siem.private_endpoint:
        expected.add(names.event_hub_endpoint)
    assert set(endpoints) == expected

    def target(pe: Registration) -> tuple[str, list[str]]:
        conn = pe.inputs["privateLinkServiceConnections"]
        assert len(conn) == 1
        return conn[0]["privateLinkServiceId"], conn[0]["groupIds"]

    ws_pe_subnet = arm(names.resource_group, f"Microsoft.Network/virtualNetworks/{names.virtual_network}/subnets/{names.private_endpoint_subnet}")
    transit_subnet = arm(names.transit_resource_group,
                         f"Microsoft.Network/virtualNetworks/{names.transit_virtual_network}/subnets/{names.transit_private_endpoint_subnet}")
    backend = endpoints[names.backend_endpoint]
    assert target(backend) == (ws_id, ["databricks_ui_api"])
    assert backend.inputs["subnet"] == {"id": ws_pe_subnet}
    if pl.workspace_storage:
        storage = f"{SUB}/resourceGroups/{names.managed_resource_group}/providers/Microsoft.Storage/storageAccounts/{names.workspace_storage_account}"
        assert target(endpoints[names.dfs_endpoint]) == (storage, ["dfs"])
        assert target(endpoints[names.blob_endpoint]) == (storage, ["blob"])
    if pl.frontend:
        front = endpoints[names.frontend_endpoint]
        assert target(front) == (ws_id, ["databricks_ui_api"])
        assert front.inputs["subnet"] == {"id": transit_subnet}
        assert front.inputs["resourceGroupName"] == names.transit_resource_group
    if pl.browser_authentication == "this_workspace":
        assert target(endpoints[names.webauth_endpoint]) == (ws_id, ["browser_authentication"])
    if pl.browser_authentication == "dedicated_workspace":
        webauth = by_phys(rec, WS, "workspaceName", names.webauth_workspace)
        assert webauth.inputs["computeMode"] == "Serverless"
        assert webauth.inputs["publicNetworkAccess"] == "Disabled"
        assert webauth.protect is spec.protection.protect_data
        webauth_id = arm(names.transit_resource_group, f"Microsoft.Databricks/workspaces/{names.webauth_workspace}")
        assert target(endpoints[names.webauth_endpoint]) == (webauth_id, ["browser_authentication"])

    # Endpoints on workspaces are created one after another (Azure rejects concurrent connections).
    chain = [endpoints[n] for n in (names.backend_endpoint, names.frontend_endpoint, names.webauth_endpoint) if n in endpoints]
    for before, after in itertools.pairwise(chain):
        assert before.urn in after.dependencies

    # Every endpoint has exactly one DNS zone group pointing at the zone its group id needs.
    # An Azure Monitor Private Link Scope's endpoint writes into five zones (components/planning/audit_network.py).
    zone_for = {"databricks_ui_api": ("privatelink.azuredatabricks.net",), "browser_authentication": ("privatelink.azuredatabricks.net",),
                "dfs": ("privatelink.dfs.core.windows.net",), "blob": ("privatelink.blob.core.windows.net",),
                "vault": ("privatelink.vaultcore.azure.net",), "sqlServer": ("privatelink.database.windows.net",),
                "namespace": ("privatelink.servicebus.windows.net",),
                "azuremonitor": tuple(zone for zone, _ in audit_network.AMPLS_ZONES)}
    groups = Counter(g.inputs["privateEndpointName"] for g in rec.of_type(ZONE_GROUP))
    assert groups == Counter(set(endpoints))
    for group in rec.of_type(ZONE_GROUP):
        pe = endpoints[group.inputs["privateEndpointName"]]
        zone_ids = [c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]]
        assert zone_ids == [arm(pe.inputs["resourceGroupName"], f"Microsoft.Network/privateDnsZones/{zone}")
                            for zone in zone_for[target(pe)[1][0]]]


def test_dns_zones_are_linked_to_every_vnet_that_resolves_them(rec: Recording, spec: EnvironmentSpec) -> None:
    names = spec.names
    ws_vnet = arm(names.resource_group, f"Microsoft.Network/virtualNetworks/{names.virtual_network}")
    transit_vnet = arm(names.transit_resource_group, f"Microsoft.Network/virtualNetworks/{names.transit_virtual_network}")
    links: dict[tuple[str, str], set[str]] = {}
    for link in rec.of_type(LINK):
        assert link.inputs["registrationEnabled"] is False
        assert link.inputs["location"] == "global"
        links.setdefault((link.inputs["resourceGroupName"], link.inputs["privateZoneName"]), set()).add(link.input("virtualNetwork.id"))
    zones = {(z.inputs["resourceGroupName"], z.inputs["privateZoneName"]) for z in rec.of_type(ZONE)}
    assert set(links) == zones, "a zone without a link resolves for nobody"
    assert links[(names.resource_group, "privatelink.azuredatabricks.net")] == {ws_vnet}
    if spec.private_link.frontend:
        assert links[(names.transit_resource_group, "privatelink.azuredatabricks.net")] == {transit_vnet}
    if spec.private_link.workspace_storage:
        for zone in ("privatelink.dfs.core.windows.net", "privatelink.blob.core.windows.net"):
            assert links[(names.resource_group, zone)] == {ws_vnet}
    # Azure Monitor's zones resolve in the workspace VNet only: AMPLS DNS is shared by every network it is linked to.
    if spec.monitoring.private_link.enabled:
        for zone, _ in audit_network.AMPLS_ZONES:
            assert links[(names.resource_group, zone)] == {ws_vnet}


def test_tags_are_applied_explicitly(rec: Recording, spec: EnvironmentSpec) -> None:
    tagged = [r for r in rec.registrations if r.type in TAGGABLE]
    assert tagged
    for reg in tagged:
        assert reg.inputs.get("tags") == spec.all_tags, reg.urn


def test_stack_outputs(rec: Recording, spec: EnvironmentSpec) -> None:
    out = rec.stack_outputs
    assert out["workspaceUrl"].startswith("adb-") and out["workspaceUrl"].endswith(".azuredatabricks.net")
    assert out["workspaceResourceId"] == arm(spec.names.resource_group, f"Microsoft.Databricks/workspaces/{spec.names.workspace}")
    assert int(out["maxClusterNodes"]) == spec.network.max_cluster_nodes
    assert out["subnets"]["host"] == str(spec.network.plan["host"])


def test_tier_shapes() -> None:
    from tests.conftest import recording_of

    dev, staging, prod = (recording_of(s) for s in ("dev", "staging", "prod"))
    # dev: public front end, back end private, nothing protected, no transit network.
    assert [r for r in dev.registrations if r.protect] == []
    assert dev.one(WS).inputs["publicNetworkAccess"] == "Enabled"
    assert len(dev.of_type(PE)) == 1 and len(dev.of_type(RG)) == 1
    # staging and prod: private end to end, data protected.
    for rec in (staging, prod):
        workspaces = [w for w in rec.of_type(WS) if w.inputs.get("computeMode") != "Serverless"]
        assert [w.inputs["publicNetworkAccess"] for w in workspaces] == ["Disabled"]
        assert all(w.protect and w.retain_on_delete for w in rec.of_type(WS))
        groups = Counter(g for pe in rec.of_type(PE) for c in pe.inputs["privateLinkServiceConnections"] for g in c["groupIds"])
        assert groups["databricks_ui_api"] == 2 and groups["browser_authentication"] == 1
    # Only the data-bearing resources are protected (the workspaces and the log store); nothing else blocks a
    # planned replacement.
    # The data sources add the lake account and the SQL server and database (tests/test_data_sources.py).
    data = {T + "storage:StorageAccount", T + "sql:Server", T + "sql:Database"}
    # ... and the customer-managed key and its vault (tests/test_keys.py).
    data |= {T + "keyvault:Vault", T + "keyvault:Key"}
    assert {r.type for r in prod.registrations if r.protect} - data == {WS, T + "operationalinsights:Workspace"}


def test_plan_file_is_deterministic_and_secret_free(prod_plan: dict, prod_again: Recording) -> None:
    again = planfile.to_plan(prod_again)
    assert planfile.dumps(again) == planfile.dumps(prod_plan)
    text = planfile.dumps(prod_plan)
    assert json.loads(text)["stack"] == "prod"
    assert "offline-placeholder-secret" not in text
    urns = [r["urn"] for r in prod_plan["resources"]]
    assert urns == sorted(urns)


def test_existing_transit_network_and_extra_dns_links(tmp_path) -> None:
    import yaml

    import stacks

    hub = f"{SUB}/resourceGroups/rg-hub/providers/Microsoft.Network/virtualNetworks/vnet-hub"
    resolver = f"{SUB}/resourceGroups/rg-dns/providers/Microsoft.Network/virtualNetworks/vnet-resolver"
    data = stacks.load("staging").model_dump(mode="json")
    data["private_link"]["transit"] = {
        "existing_vnet_id": hub, "existing_subnet_id": f"{hub}/subnets/snet-endpoints", "dns_link_vnet_ids": [resolver],
    }
    path = tmp_path / "staging-hub.yaml"
    path.write_text(yaml.safe_dump(data))
    rec = project.run("staging", spec_file=path)
    names = stacks.load_file(path).names

    # No transit VNet is created; the toolkit's own resource group holds the endpoints and their zone.
    assert [v.inputs["virtualNetworkName"] for v in rec.of_type(VNET)] == [names.virtual_network]
    assert {r.inputs["resourceGroupName"] for r in rec.of_type(RG)} == {names.resource_group, names.transit_resource_group}
    front = by_phys(rec, PE, "privateEndpointName", names.frontend_endpoint)
    assert front.inputs["subnet"] == {"id": f"{hub}/subnets/snet-endpoints"}
    linked = {link.input("virtualNetwork.id") for link in rec.of_type(LINK)
              if link.inputs["resourceGroupName"] == names.transit_resource_group}
    assert linked == {hub, resolver}


def test_global_names_differ_between_environments() -> None:
    import stacks

    seen: dict[str, str] = {}
    per_stack = {stack: stacks.load(stack).names.global_names() for stack in stacks.KNOWN_STACKS}
    for stack, names in per_stack.items():
        for field, value in names.items():
            assert value not in seen, f"{stack} {field} {value} also used by {seen[value]}"
            seen[value] = stack
    # Storage accounts, the Key Vault, the SQL server and the Event Hub namespace each need their own global name.
    assert {"workspace_storage_account", "key_vault", "sql_server", "event_hub_namespace"} <= set(per_stack["prod"])
    assert len(seen) == sum(len(n) for n in per_stack.values())


def test_every_physical_name_keeps_azure_naming_rules(rec: Recording) -> None:
    from components.planning.naming import name_problem

    kinds = {
        RG: "resource_group", VNET: "virtual_network", SUBNET: "subnet", NSG: "network_security_group",
        RULE: "security_rule", PIP: "public_ip", NAT: "nat_gateway", RT: "route_table", ROUTE: "security_rule",
        WS: "databricks_workspace", T + "databricks:AccessConnector": "access_connector", PE: "private_endpoint",
        LINK: "dns_link", ZONE_GROUP: "dns_link",
    }
    checked = 0
    for reg in rec.registrations:
        if reg.type in kinds:
            value = reg.inputs[CATALOG[reg.type].own_name_input]
            assert name_problem(kinds[reg.type], value) is None, (reg.urn, value)
            checked += 1
    assert checked == len([r for r in rec.registrations if r.type in kinds]) > 10


# What exists is decided once, in the environment's plan (components/planning/environment.py Parts): each optional
# part is in the recording exactly when the plan says so.
PART_TYPES = {
    "ingress": "brickwall:kubernetes:IngressTier",
    "aks": "brickwall:kubernetes:AksCluster",
    "firewall_egress": "brickwall:network:FirewallHub",
    "creates_hub": T + "network:AzureFirewall",
    "transit": "brickwall:network:TransitNetwork",
    "bastion": "brickwall:access:EngineerAccess",
    "customer_managed_keys": "brickwall:security:CustomerManagedKeys",
    "creates_key_vault": T + "keyvault:Vault",
    "data_sources": "brickwall:data:DataSources",
    "sql": T + "sql:Server",
    "monitor_private_link": "brickwall:audit:MonitorPrivateLink",
    "flow_logs": T + "network:FlowLog",
    "siem": T + "eventhub:Namespace",
    "serverless": "brickwall:serverless:ServerlessConnectivity",
    "serverless_connectivity": "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig",
    "metastore": "databricks:index/metastoreAssignment:MetastoreAssignment",
    "diagnostics": "brickwall:audit:AuditDiagnostics",
    "locks": "brickwall:security:ResourceLocks",
}


def _parts_exist_as_planned(rec: Recording, spec: EnvironmentSpec) -> None:
    parts = spec.plan.parts
    for part, type_ in PART_TYPES.items():
        assert bool(rec.of_type(type_)) is getattr(parts, part), f"{spec.name}: {part} is {getattr(parts, part)} in the plan"
    subnets = {r.inputs["subnetName"] for r in rec.of_type(SUBNET)}
    assert (spec.names.aks_subnet in subnets) is parts.aks
    # The report's matrix, the firewall's rules and the cluster's NSG read the same plan.
    aks_rules = spec.plan.network.aks_rules()
    assert bool(aks_rules) is parts.aks and (spec.plan.topology().ingress is not None) is parts.aks
    assert (spec.plan.firewall_rules is not None) is parts.firewall_egress
    assert (spec.plan.bastion_cidr is not None) is parts.bastion


def test_optional_parts_exist_exactly_as_planned(rec: Recording, spec: EnvironmentSpec) -> None:
    _parts_exist_as_planned(rec, spec)


def test_every_optional_part_of_the_all_features_spec_exists(all_features_env: tuple[Recording, EnvironmentSpec]) -> None:
    rec, spec = all_features_env
    _parts_exist_as_planned(rec, spec)
    parts = spec.plan.parts
    assert all(getattr(parts, part) for part in PART_TYPES), {p: getattr(parts, p) for p in PART_TYPES}
