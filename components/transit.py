"""TransitNetwork: where users' traffic enters private link (front end and browser authentication).

Either a VNet the toolkit creates, or an existing one given by id; the resource group for the
front-end endpoints and their DNS zone is always the toolkit's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, resources

from components._base import child
from components.planning.naming import NamePlan


@dataclass(frozen=True)
class TransitNetworkArgs:
    location: str
    tags: Mapping[str, str]
    resource_group_name: pulumi.Input[str]
    # The transit VNet's and its endpoint subnet's names (used when it is created).
    names: NamePlan
    # Create: the VNet's range and the endpoint subnet's range.
    address_space: str | None = None
    endpoint_cidr: str | None = None
    # Or reuse: an existing VNet and subnet by id.
    existing_vnet_id: str | None = None
    existing_subnet_id: str | None = None


class TransitNetwork(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    vnet_id: pulumi.Output[str]
    endpoint_subnet_id: pulumi.Output[str]
    # Only for a VNet the toolkit creates: where further subnets (the engineers' Bastion) are added.
    vnet_name: pulumi.Output[str] | None = None
    endpoint_subnet: network.Subnet | None = None

    def __init__(self, name: str, args: TransitNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:network:TransitNetwork", name, {}, opts)
        tags = dict(args.tags)
        rg = resources.ResourceGroup(
            f"{name}-rg", resource_group_name=args.resource_group_name, location=args.location, tags=tags,
            opts=child(self),
        )
        if args.existing_vnet_id and args.existing_subnet_id:
            self.vnet_id = pulumi.Output.from_input(args.existing_vnet_id)
            self.endpoint_subnet_id = pulumi.Output.from_input(args.existing_subnet_id)
        else:
            assert args.address_space and args.endpoint_cidr
            vnet = network.VirtualNetwork(
                f"{name}-vnet",
                virtual_network_name=args.names.transit_virtual_network,
                resource_group_name=rg.name,
                location=args.location,
                address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
                tags=tags,
                opts=child(self),
            )
            subnet = network.Subnet(
                f"{name}-endpoints",
                subnet_name=args.names.transit_private_endpoint_subnet,
                virtual_network_name=vnet.name,
                resource_group_name=rg.name,
                address_prefix=args.endpoint_cidr,
                private_endpoint_network_policies="Enabled",
                default_outbound_access=False,
                opts=child(self),
            )
            self.vnet_id = vnet.id
            self.endpoint_subnet_id = subnet.id
            self.vnet_name = vnet.name
            self.endpoint_subnet = subnet
        self.resource_group_name = rg.name
        self.resource_group = rg
        self.register_outputs({"vnetId": self.vnet_id, "endpointSubnetId": self.endpoint_subnet_id})
