"""Firewall egress through a hub (issue 11 §3), on prod (an existing hub in the connectivity subscription) and on the
`firewall_hub_env` variant (staging with a hub the toolkit creates): the peering both ways, the default route into the
hub, the rule collection group as planned, the AKS nodes behind the same firewall, and the policy rule that checks it.
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from brickwall import check, planfile
from brickwall.engine import UNKNOWN, Recording, Registration
from components.environment import firewall_rules
from components.planning.firewall import (
    AKS_APPLICATION,
    AKS_NETWORK,
    DATABRICKS_APPLICATION,
    DATABRICKS_NETWORK,
    DATABRICKS_REGIONAL_ENDPOINTS,
    FIREWALL_SUBNET_NAME,
    PEERING_FLAGS,
    ApplicationRule,
    NetworkRule,
    RuleCollectionGroup,
    rule_collection_group,
)
from components.spec import EnvironmentSpec
from tests.policy_cases import POLICIES, Mutations, Plan, check_mutation, drop, inputs

Env = tuple[Recording, EnvironmentSpec]
T = "azure-native:network:"
PEERING, ROUTE, SUBNET, RCG = T + "VirtualNetworkPeering", T + "Route", T + "Subnet", T + "FirewallPolicyRuleCollectionGroup"
FIREWALL, POLICY, VNET, PIP = T + "AzureFirewall", T + "FirewallPolicy", T + "VirtualNetwork", T + "PublicIPAddress"
AKS = "azure-native:containerservice:ManagedCluster"
SUB = "/subscriptions/00000000-0000-0000-0000-000000000000"


@pytest.fixture(scope="module", params=["existing", "created"])
def fw(request: pytest.FixtureRequest, prod: Recording, firewall_hub_env: Env) -> Env:
    import stacks

    return (prod, stacks.load("prod")) if request.param == "existing" else firewall_hub_env


def one(rec: Recording, type_: str, name: str) -> Registration:
    return rec.one(type_, name)


# --- the planner ------------------------------------------------------------------------------------------------


def _rules(group: RuleCollectionGroup, collection: str) -> dict[str, NetworkRule | ApplicationRule]:
    return {r.name: r for r in group.collection(collection).rules}


def test_databricks_rules_use_regional_service_tags_and_the_documented_ports() -> None:
    group = rule_collection_group("rcg", "westeurope", ("10.1.0.0/22", "10.1.4.0/22"), backend_private_link=True)
    network = _rules(group, DATABRICKS_NETWORK)
    expected = {"databricks-metastore": ("Sql.WestEurope", "3306"), "databricks-storage": ("Storage.WestEurope", "443"),
                "databricks-eventhub": ("EventHub.WestEurope", "9093"), "databricks-entra-id": ("AzureActiveDirectory", "443"),
                "databricks-front-door": ("AzureFrontDoor.Frontend", "443")}
    assert set(network) == set(expected)  # no control-plane tag: back-end Private Link carries it
    for name, (tag, port) in expected.items():
        rule = network[name]
        assert isinstance(rule, NetworkRule)
        assert rule.destinations == (tag,) and rule.ports == (port,) and rule.protocols == ("TCP",)
        assert rule.sources == ("10.1.0.0/22", "10.1.4.0/22")
    apps = _rules(group, DATABRICKS_APPLICATION)
    region = DATABRICKS_REGIONAL_ENDPOINTS["westeurope"]
    artifact = apps["databricks-artifact-storage"]
    assert isinstance(artifact, ApplicationRule)
    # The secondary artifact store sits in North Europe, outside Storage.WestEurope: hence the FQDN rule.
    assert "dbartifactsprodnortheu.blob.core.windows.net" in artifact.target_fqdns
    assert artifact.target_fqdns == region.artifact_storage and artifact.protocols == (("Https", 443),)
    assert [c.name for c in group.collections] == [DATABRICKS_NETWORK, DATABRICKS_APPLICATION]
    assert "internet-http-https" not in apps


def test_outbound_internet_when_the_spec_allows_it() -> None:
    group = rule_collection_group("rcg", "westeurope", ("10.1.0.0/22",), backend_private_link=True,
                                  allow_internet_outbound=True)
    rule = _rules(group, DATABRICKS_APPLICATION)["internet-http-https"]
    assert isinstance(rule, ApplicationRule) and rule.target_fqdns == ("*",)
    assert rule.protocols == (("Http", 80), ("Https", 443))


def test_control_plane_tag_only_without_backend_private_link() -> None:
    group = rule_collection_group("rcg", "westeurope", ("10.1.0.0/22",), backend_private_link=False)
    rule = _rules(group, DATABRICKS_NETWORK)["databricks-control-plane"]
    assert isinstance(rule, NetworkRule)
    assert rule.destinations == ("AzureDatabricks",) and rule.ports == ("443", "3306", "8443-8451")


def test_aks_rules_follow_the_documented_egress() -> None:
    private = rule_collection_group("rcg", "westeurope", ("10.1.0.0/22",), backend_private_link=True,
                                    aks_source="10.1.8.0/24", aks_private_api_server=True)
    public = rule_collection_group("rcg", "westeurope", ("10.1.0.0/22",), backend_private_link=True,
                                   aks_source="10.1.8.0/24", aks_private_api_server=False)
    tag = _rules(private, AKS_APPLICATION)["aks-fqdn-tag"]
    assert isinstance(tag, ApplicationRule) and tag.fqdn_tags == ("AzureKubernetesService",) and tag.sources == ("10.1.8.0/24",)
    ntp = _rules(private, AKS_NETWORK)["aks-ntp"]
    assert isinstance(ntp, NetworkRule) and ntp.protocols == ("UDP",) and ntp.ports == ("123",)
    # 1194/UDP and 9000/TCP to AzureCloud.<region> are not needed by private clusters.
    assert not {"aks-tunnel-udp", "aks-tunnel-tcp"} & set(_rules(private, AKS_NETWORK))
    tunnels = {n: r for n, r in _rules(public, AKS_NETWORK).items() if n.startswith("aks-tunnel")}
    assert {(r.protocols, r.destinations, r.ports) for r in tunnels.values() if isinstance(r, NetworkRule)} == {
        (("UDP",), ("AzureCloud.WestEurope",), ("1194",)), (("TCP",), ("AzureCloud.WestEurope",), ("9000",))}
    assert AKS_NETWORK not in [c.name for c in rule_collection_group("r", "westeurope", ("10.1.0.0/22",),
                                                                        backend_private_link=True).collections]


# --- the recordings ----------------------------------------------------------------------------------------------


def test_workspace_vnet_is_peered_with_the_hub_both_ways(fw: Env) -> None:
    rec, spec = fw
    names, hub = spec.names, spec.network.egress.hub
    assert hub is not None
    hub_names = spec.plan.hub_names
    to_hub = one(rec, PEERING, f"{spec.name}-hub-peering-to-hub")
    from_hub = one(rec, PEERING, f"{spec.name}-hub-peering-from-hub")
    if hub.create:
        hub_rg, hub_vnet = hub_names.resource_group, hub_names.virtual_network
        hub_id = f"{SUB}/resourceGroups/{hub_rg}/providers/Microsoft.Network/virtualNetworks/{hub_vnet}"
    else:
        assert hub.vnet_id is not None
        hub_id = hub.vnet_id
        _, _, _, _, hub_rg, *_, hub_vnet = hub.vnet_id.split("/")
    assert (to_hub.inputs["resourceGroupName"], to_hub.inputs["virtualNetworkName"]) == (names.resource_group, names.virtual_network)
    assert to_hub.inputs["remoteVirtualNetwork"] == {"id": hub_id}
    # The hub's side lives in the hub's resource group, on the hub VNet.
    assert (from_hub.inputs["resourceGroupName"], from_hub.inputs["virtualNetworkName"]) == (hub_rg, hub_vnet)
    assert from_hub.inputs["remoteVirtualNetwork"] == {
        "id": f"{SUB}/resourceGroups/{names.resource_group}/providers/Microsoft.Network/virtualNetworks/{names.virtual_network}"}
    for peering in (to_hub, from_hub):
        assert {k: peering.inputs[k] for k in PEERING_FLAGS} == PEERING_FLAGS
    assert to_hub.urn in from_hub.dependencies
    # The spoke side waits for the last subnet write on the workspace VNet.
    last = "aks" if spec.ingress.enabled and spec.ingress.cluster == "aks" else "endpoints"
    assert one(rec, SUBNET, f"{spec.name}-network-{last}").urn in to_hub.dependencies


def test_default_route_leads_into_the_hub(fw: Env) -> None:
    rec, spec = fw
    hub = spec.network.egress.hub
    assert hub is not None
    route = one(rec, ROUTE, f"{spec.name}-network-rt-default")
    hop = ipaddress.IPv4Address(route.inputs["nextHopIpAddress"])
    assert route.inputs["addressPrefix"] == "0.0.0.0/0" and route.inputs["nextHopType"] == "VirtualAppliance"
    assert any(hop in ipaddress.IPv4Network(c) for c in hub.address_space)
    assert not ipaddress.IPv4Network(spec.network.address_space).__contains__(hop)
    if hub.create:
        subnet = one(rec, SUBNET, f"{spec.name}-firewall-hub-firewall-subnet")
        assert subnet.inputs["subnetName"] == FIREWALL_SUBNET_NAME
        assert hop in ipaddress.IPv4Network(subnet.inputs["addressPrefix"])
        # The route follows the firewall's own private IP (an output), so it waits for the firewall.
        assert one(rec, FIREWALL, f"{spec.name}-firewall-hub-firewall").urn in route.dependencies
    else:
        assert str(hop) == spec.network.egress.firewall_private_ip
    # No subnet uses the table before the default route is in it.
    assert route.urn in one(rec, SUBNET, f"{spec.name}-network-host").dependencies


def _wire(group: RuleCollectionGroup) -> list[dict[str, Any]]:
    """The planned table in the form the provider receives it."""
    def rule(r: NetworkRule | ApplicationRule) -> dict[str, Any]:
        if isinstance(r, NetworkRule):
            return {"ruleType": "NetworkRule", "name": r.name, "description": r.description, "ipProtocols": list(r.protocols),
                    "sourceAddresses": list(r.sources), "destinationAddresses": list(r.destinations),
                    "destinationPorts": list(r.ports)}
        out: dict[str, Any] = {"ruleType": "ApplicationRule", "name": r.name, "description": r.description,
                               "sourceAddresses": list(r.sources),
                               "protocols": [{"protocolType": p, "port": port} for p, port in r.protocols]}
        if r.target_fqdns:
            out["targetFqdns"] = list(r.target_fqdns)
        if r.fqdn_tags:
            out["fqdnTags"] = list(r.fqdn_tags)
        return out

    return [{"ruleCollectionType": "FirewallPolicyFilterRuleCollection", "name": c.name, "priority": c.priority,
             "action": {"type": "Allow"}, "rules": [rule(r) for r in c.rules]} for c in group.collections]


def test_rule_collection_group_is_the_planned_table(fw: Env) -> None:
    rec, spec = fw
    hub = spec.network.egress.hub
    assert hub is not None
    planned = firewall_rules(spec)
    group = one(rec, RCG, f"{spec.name}-firewall-hub-rules")
    assert group.inputs["ruleCollectionGroupName"] == planned.name == f"rcg-databricks-{spec.name}"
    assert group.inputs["priority"] == planned.priority
    assert group.inputs["ruleCollections"] == _wire(planned)
    if hub.create:
        names = spec.plan.hub_names
        assert (group.inputs["resourceGroupName"], group.inputs["firewallPolicyName"]) == (names.resource_group, names.firewall_policy)
    else:
        assert hub.firewall_policy_id is not None
        policy_rg, policy = hub.firewall_policy_id.split("/")[4], hub.firewall_policy_id.split("/")[-1]
        assert (group.inputs["resourceGroupName"], group.inputs["firewallPolicyName"]) == (policy_rg, policy)
    plan = spec.network.plan
    network = {r.name: r for r in planned.collection(DATABRICKS_NETWORK).rules}
    assert network["databricks-storage"].sources == (str(plan["host"]), str(plan["container"]))
    # The spec's outbound-Internet switch carries through the firewall (staging allows it, prod does not).
    apps = {r.name for r in planned.collection(DATABRICKS_APPLICATION).rules}
    assert ("internet-http-https" in apps) is spec.network.egress.allow_internet_outbound


def test_aks_nodes_leave_through_the_firewall(fw: Env) -> None:
    rec, spec = fw
    group = firewall_rules(spec)
    if not (spec.ingress.enabled and spec.ingress.cluster == "aks"):
        # No AKS cluster: no AKS rules in the firewall either.
        assert rec.of_type(AKS) == [] and {AKS_NETWORK, AKS_APPLICATION}.isdisjoint(c.name for c in group.collections)
        return
    cluster = rec.one(AKS)
    assert cluster.input("networkProfile.outboundType") == "userDefinedRouting"
    aks_subnet = one(rec, SUBNET, f"{spec.name}-network-aks")
    assert aks_subnet.inputs["routeTable"] == one(rec, SUBNET, f"{spec.name}-network-host").inputs["routeTable"]
    assert "natGateway" not in aks_subnet.inputs
    # The nodes bootstrap only once the firewall lets them out and the hub is peered.
    for needed in (f"{spec.name}-firewall-hub-rules", ):
        assert one(rec, RCG, needed).urn in cluster.dependencies
    for side in ("to-hub", "from-hub"):
        assert one(rec, PEERING, f"{spec.name}-hub-peering-{side}").urn in cluster.dependencies
    aks_rules = group.collection(AKS_APPLICATION).rules
    assert all(r.sources == (str(spec.network.plan["aks"]),) for r in aks_rules)


def test_created_hub(firewall_hub_env: Env) -> None:
    rec, spec = firewall_hub_env
    hub = spec.network.egress.hub
    assert hub is not None and hub.create
    names = spec.plan.hub_names
    vnet = one(rec, VNET, f"{spec.name}-firewall-hub-vnet")
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": list(hub.address_space)}
    assert vnet.inputs["resourceGroupName"] == names.resource_group
    subnet = one(rec, SUBNET, f"{spec.name}-firewall-hub-firewall-subnet")
    assert ipaddress.IPv4Network(subnet.inputs["addressPrefix"]).prefixlen == 26
    pip = one(rec, PIP, f"{spec.name}-firewall-hub-firewall-pip")
    assert pip.inputs["sku"] == {"name": "Standard", "tier": "Regional"} and pip.inputs["publicIPAllocationMethod"] == "Static"
    policy = one(rec, POLICY, f"{spec.name}-firewall-hub-policy")
    assert policy.inputs["sku"] == {"tier": "Standard"} and policy.inputs["threatIntelMode"] == "Deny"
    firewall = one(rec, FIREWALL, f"{spec.name}-firewall-hub-firewall")
    assert firewall.inputs["sku"] == {"name": "AZFW_VNet", "tier": "Standard"}
    rg = f"{SUB}/resourceGroups/{names.resource_group}/providers/Microsoft.Network"
    assert firewall.inputs["firewallPolicy"] == {"id": f"{rg}/firewallPolicies/{names.firewall_policy}"}
    assert firewall.inputs["ipConfigurations"] == [{
        "name": "ipconfig", "subnet": {"id": f"{rg}/virtualNetworks/{names.virtual_network}/subnets/{FIREWALL_SUBNET_NAME}"},
        "publicIPAddress": {"id": f"{rg}/publicIPAddresses/{names.firewall_public_ip}"}}]
    # The firewall comes up with the workspace's rules in its policy.
    assert one(rec, RCG, f"{spec.name}-firewall-hub-rules").urn in firewall.dependencies
    # No NAT gateway once egress goes through the firewall.
    assert rec.of_type(T + "NatGateway") == []


def test_nat_gateway_stacks_have_no_hub(dev: Recording, staging: Recording) -> None:
    for rec in (dev, staging):
        assert not [r for r in rec.registrations if r.type in (PEERING, RCG, FIREWALL, POLICY)]


# --- the policy rule ---------------------------------------------------------------------------------------------

RULE = "firewall-egress-through-hub"


@pytest.fixture(scope="module")
def created_plan(firewall_hub_env: Env) -> Plan:
    return planfile.to_plan(firewall_hub_env[0])


@pytest.fixture(scope="module")
def existing_plan(prod_plan: Plan) -> Plan:
    return prod_plan


def _drop_rule(plan: Plan, name: str, rule: str) -> None:
    for collection in inputs(plan, name)["ruleCollections"]:
        collection["rules"] = [r for r in collection["rules"] if r["name"] != rule]


def _mutations(env: str) -> Mutations:
    return {
        "no-hub-side": (RULE, lambda p: drop(p, f"{env}-hub-peering-from-hub"), "one way only"),
        "no-spoke-side": (RULE, lambda p: drop(p, f"{env}-hub-peering-to-hub"), "has no peering"),
        "no-forwarded-traffic": (RULE, lambda p: inputs(p, f"{env}-hub-peering-to-hub").update(allowForwardedTraffic=False),
                                 "has no peering"),
        "no-rule-collection-group": (RULE, lambda p: drop(p, f"{env}-firewall-hub-rules"), "no rule collection group"),
        "no-eventhub-rule": (RULE, lambda p: _drop_rule(p, f"{env}-firewall-hub-rules", "databricks-eventhub"),
                             "does not allow EventHub 9093"),
        "metastore-wrong-port": (RULE, lambda p: inputs(p, f"{env}-firewall-hub-rules")["ruleCollections"][0]["rules"][0]
                                 .update(destinationPorts=["1433"]), "does not allow Sql 3306"),
    }


@pytest.mark.parametrize("case", sorted(_mutations("x")))
def test_existing_hub_mutations_are_caught(existing_plan: Plan, case: str) -> None:
    check_mutation(existing_plan, _mutations("prod"), case, stack="prod")


@pytest.mark.parametrize("case", [*sorted(_mutations("x")), "next-hop-outside-firewall-subnet"])
def test_created_hub_mutations_are_caught(created_plan: Plan, case: str) -> None:
    mutations = _mutations("staging")
    mutations["next-hop-outside-firewall-subnet"] = (
        RULE, lambda p: inputs(p, "staging-network-rt-default").update(nextHopIpAddress="10.140.0.200"),
        "outside the hub's AzureFirewallSubnet")
    check_mutation(created_plan, mutations, case, stack="staging")


@pytest.mark.parametrize("which", ["existing", "created"])
def test_clean_firewall_plans_pass_the_rule(which: str, existing_plan: Plan, created_plan: Plan) -> None:
    result = check.check_plan(existing_plan if which == "existing" else created_plan, POLICIES)
    assert not result.of(RULE), check.render(result)
    assert not result.violations, check.render(result)


def test_diff_knows_what_replaces_a_peering_or_rule_collection_group() -> None:
    from brickwall.diff import force_new_reason

    assert force_new_reason(PEERING, "remoteVirtualNetwork.id") is not None
    assert force_new_reason(RCG, "firewallPolicyName") is not None
    # Flags and rules update in place.
    assert force_new_reason(PEERING, "allowForwardedTraffic") is None
    assert force_new_reason(RCG, "ruleCollections.0.rules") is None
    assert force_new_reason(FIREWALL, "azureFirewallName") is not None


def test_preview_leaves_a_created_firewall_ip_unknown(tmp_path: Any) -> None:
    """Azure assigns the firewall's private IP: in a first preview the default route's next hop is not known yet."""
    import yaml

    import stacks
    from brickwall import project
    from tests.conftest import with_created_firewall_hub

    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(with_created_firewall_hub(stacks.load("dev").model_dump(mode="json"), "10.150.0.0/24")))
    rec = project.run("dev", spec_file=path, preview=True)
    route = one(rec, ROUTE, "dev-network-rt-default")
    assert route.inputs["nextHopIpAddress"] is UNKNOWN
    assert route.inputs["nextHopType"] == "VirtualAppliance"


def test_created_hub_composes_with_other_features(all_features_env: tuple[Recording, Any]) -> None:
    """`with_created_firewall_hub` only touches network.egress: with Bastion, a user node pool and prod's other
    features switched on as well (the session's all-features variant, built with it) the program renders the firewall
    and Bastion both, and the policy pack finds nothing."""
    rec = all_features_env[0]
    assert rec.of_type(FIREWALL) and rec.of_type("azure-native:network:BastionHost")
    result = check.check_plan(planfile.to_plan(rec), POLICIES)
    assert not result.violations, check.render(result)
