"""Firewall egress through a hub (issue 11 §3): the hub (created, or an existing one named by its ids), the workspace's
rule collection group in the hub firewall's policy, and the peering of the workspace VNet with the hub, both ways.

`FirewallHub` comes before the workspace network (the network's default route needs the firewall's private IP);
`HubPeering` after it (it needs the workspace VNet). The rule collection group is the planned table
(`components/planning/firewall.py`), created as it stands.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, resources

from components._base import child, standard_public_ip
from components.planning.firewall import (
    ARM_FIREWALL_POLICY,
    ARM_VIRTUAL_NETWORK,
    FIREWALL_SUBNET_NAME,
    PEERING_FLAGS,
    ApplicationRule,
    HubNames,
    NetworkRule,
    RuleCollectionGroup,
    parse_arm_id,
)
from components.spec.firewall import HubSpec


def _with_provider(opts: pulumi.ResourceOptions, provider: pulumi.ProviderResource | None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(provider=provider)) if provider else opts


def rule_collections(group: RuleCollectionGroup) -> list[network.FirewallPolicyFilterRuleCollectionArgs]:
    """The planned collections as azure-native arguments: every collection an Allow filter collection."""
    def rule(r: NetworkRule | ApplicationRule) -> network.NetworkRuleArgs | network.ApplicationRuleArgs:
        if isinstance(r, NetworkRule):
            return network.NetworkRuleArgs(
                rule_type="NetworkRule", name=r.name, description=r.description, ip_protocols=list(r.protocols),
                source_addresses=list(r.sources), destination_addresses=list(r.destinations),
                destination_ports=list(r.ports),
            )
        return network.ApplicationRuleArgs(
            rule_type="ApplicationRule", name=r.name, description=r.description, source_addresses=list(r.sources),
            protocols=[network.FirewallPolicyRuleApplicationProtocolArgs(protocol_type=p, port=port) for p, port in r.protocols],
            target_fqdns=list(r.target_fqdns) or None, fqdn_tags=list(r.fqdn_tags) or None,
        )

    return [
        network.FirewallPolicyFilterRuleCollectionArgs(
            rule_collection_type="FirewallPolicyFilterRuleCollection", name=c.name, priority=c.priority,
            action=network.FirewallPolicyFilterRuleCollectionActionArgs(type="Allow"), rules=[rule(r) for r in c.rules],
        )
        for c in group.collections
    ]


@dataclass(frozen=True)
class FirewallHubArgs:
    location: str
    tags: Mapping[str, str]
    names: HubNames
    hub: HubSpec
    rules: RuleCollectionGroup
    # An existing hub's firewall private IP (the spec's next hop); a created hub's comes from its firewall.
    firewall_private_ip: str | None = None
    # A created hub's AzureFirewallSubnet (EnvironmentPlan.hub_firewall_subnet_cidr).
    firewall_subnet_cidr: str | None = None
    # Providers for an existing hub's subscriptions (VNet and firewall policy); None: this environment's provider.
    vnet_provider: pulumi.ProviderResource | None = None
    policy_provider: pulumi.ProviderResource | None = None


class FirewallHub(pulumi.ComponentResource):
    """The hub the default route leads to, and the workspace's rule collection group in its firewall policy."""

    next_hop: pulumi.Output[str]
    vnet_id: pulumi.Output[str]
    vnet_name: pulumi.Output[str]
    resource_group_name: pulumi.Output[str]
    rule_collection_group: network.FirewallPolicyRuleCollectionGroup
    firewall: network.AzureFirewall | None = None

    def __init__(self, name: str, args: FirewallHubArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:network:FirewallHub", name, {}, opts)
        hub, names, tags = args.hub, args.names, dict(args.tags)
        if hub.create:
            assert args.firewall_subnet_cidr is not None  # the plan carves it for a hub the toolkit creates
            rg = resources.ResourceGroup(f"{name}-rg", resource_group_name=names.resource_group, location=args.location,
                                         tags=tags, opts=child(self))
            vnet = network.VirtualNetwork(
                f"{name}-vnet", virtual_network_name=names.virtual_network, resource_group_name=rg.name,
                location=args.location, address_space=network.AddressSpaceArgs(address_prefixes=list(hub.address_space)),
                tags=tags, opts=child(self),
            )
            subnet = network.Subnet(
                f"{name}-firewall-subnet", subnet_name=FIREWALL_SUBNET_NAME, virtual_network_name=vnet.name,
                resource_group_name=rg.name,
                address_prefix=args.firewall_subnet_cidr,
                opts=child(self),
            )
            # Azure Firewall needs a Standard, static public IP (https://learn.microsoft.com/azure/firewall/features).
            pip = standard_public_ip(self, f"{name}-firewall-pip", names.firewall_public_ip, rg, args.location, tags)
            policy = network.FirewallPolicy(
                f"{name}-policy", firewall_policy_name=names.firewall_policy, resource_group_name=rg.name,
                location=args.location, sku=network.FirewallPolicySkuArgs(tier="Standard"),
                threat_intel_mode=hub.threat_intel_mode, tags=tags, opts=child(self),
            )
            self.rule_collection_group = self._rule_collection_group(name, args, policy.name, rg.name, None, [policy])
            self.firewall = network.AzureFirewall(
                f"{name}-firewall", azure_firewall_name=names.firewall, resource_group_name=rg.name,
                location=args.location,
                sku=network.AzureFirewallSkuArgs(name="AZFW_VNet", tier="Standard"),
                firewall_policy=network.SubResourceArgs(id=policy.id),
                ip_configurations=[network.AzureFirewallIPConfigurationArgs(
                    name="ipconfig", subnet=network.SubResourceArgs(id=subnet.id),
                    public_ip_address=network.SubResourceArgs(id=pip.id),
                )],
                tags=tags,
                # The firewall comes up with the workspace's rules already in its policy.
                opts=child(self, depends_on=[self.rule_collection_group]),
            )
            # "The Firewall Internal Load Balancer IP to be used as the next hop in User Defined Routes"
            # (AzureFirewallIPConfiguration.privateIPAddress, Microsoft.Network 2024-05-01); Azure assigns it.
            self.next_hop = self.firewall.ip_configurations.apply(_first_private_ip)
            self.vnet_id, self.vnet_name, self.resource_group_name = vnet.id, vnet.name, rg.name
            self.hub_side_after: list[pulumi.Resource] = [subnet, self.firewall]
        else:
            assert hub.vnet_id is not None and hub.firewall_policy_id is not None and args.firewall_private_ip is not None
            vnet_ref = parse_arm_id(hub.vnet_id, ARM_VIRTUAL_NETWORK)
            policy_ref = parse_arm_id(hub.firewall_policy_id, ARM_FIREWALL_POLICY)
            self.rule_collection_group = self._rule_collection_group(
                name, args, policy_ref.name, policy_ref.resource_group, args.policy_provider, [])
            self.next_hop = pulumi.Output.from_input(args.firewall_private_ip)
            self.vnet_id = pulumi.Output.from_input(hub.vnet_id)
            self.vnet_name = pulumi.Output.from_input(vnet_ref.name)
            self.resource_group_name = pulumi.Output.from_input(vnet_ref.resource_group)
            self.hub_side_after = []
        self.vnet_provider = args.vnet_provider
        self.register_outputs({"nextHop": self.next_hop, "hubVnetId": self.vnet_id})

    def _rule_collection_group(self, name: str, args: FirewallHubArgs, policy_name: pulumi.Input[str],
                               resource_group: pulumi.Input[str], provider: pulumi.ProviderResource | None,
                               after: Sequence[pulumi.Resource]) -> network.FirewallPolicyRuleCollectionGroup:
        return network.FirewallPolicyRuleCollectionGroup(
            f"{name}-rules",
            rule_collection_group_name=args.rules.name,
            firewall_policy_name=policy_name,
            resource_group_name=resource_group,
            priority=args.rules.priority,
            rule_collections=rule_collections(args.rules),
            opts=_with_provider(child(self, depends_on=after), provider),
        )


@dataclass(frozen=True)
class HubPeeringArgs:
    hub: FirewallHub
    names: HubNames
    workspace_vnet_id: pulumi.Input[str]
    workspace_vnet_name: pulumi.Input[str]
    workspace_resource_group_name: pulumi.Input[str]
    # Writes to the workspace VNet are serialised: the spoke side waits for its subnets.
    depends_on: Sequence[pulumi.Resource] = ()


class HubPeering(pulumi.ComponentResource):
    """The workspace VNet peered with the hub, both ways (a peering is one-sided in Azure: each VNet holds its own)."""

    spoke_to_hub: network.VirtualNetworkPeering
    hub_to_spoke: network.VirtualNetworkPeering

    def __init__(self, name: str, args: HubPeeringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:network:HubPeering", name, {}, opts)
        hub = args.hub
        self.spoke_to_hub = _peering(f"{name}-to-hub", args.names.spoke_to_hub_peering, args.workspace_vnet_name,
                                     args.workspace_resource_group_name, hub.vnet_id, child(self, depends_on=args.depends_on))
        # An existing hub's side is a resource in the hub's resource group (and subscription).
        self.hub_to_spoke = _peering(
            f"{name}-from-hub", args.names.hub_to_spoke_peering, hub.vnet_name, hub.resource_group_name,
            args.workspace_vnet_id,
            _with_provider(child(self, depends_on=[*hub.hub_side_after, self.spoke_to_hub]), hub.vnet_provider),
        )
        self.register_outputs({"spokeToHubId": self.spoke_to_hub.id, "hubToSpokeId": self.hub_to_spoke.id})


def _first_private_ip(configs: Sequence[network.outputs.AzureFirewallIPConfigurationResponse] | None) -> str:
    return (configs[0].private_ip_address or "") if configs else ""


def _peering(logical: str, peering_name: str, vnet_name: pulumi.Input[str], resource_group: pulumi.Input[str],
             remote_vnet_id: pulumi.Input[str], opts: pulumi.ResourceOptions) -> network.VirtualNetworkPeering:
    return network.VirtualNetworkPeering(
        logical,
        virtual_network_peering_name=peering_name,
        virtual_network_name=vnet_name,
        resource_group_name=resource_group,
        remote_virtual_network=network.SubResourceArgs(id=remote_vnet_id),
        allow_virtual_network_access=PEERING_FLAGS["allowVirtualNetworkAccess"],
        allow_forwarded_traffic=PEERING_FLAGS["allowForwardedTraffic"],
        allow_gateway_transit=PEERING_FLAGS["allowGatewayTransit"],
        use_remote_gateways=PEERING_FLAGS["useRemoteGateways"],
        opts=opts,
    )
