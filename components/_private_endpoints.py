"""Private endpoints and their private DNS: one shape for every component that makes them (workspace, storage,
Key Vault, SQL), as Azure Verified Modules give every module the same private-endpoint interface."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
from pulumi_azure_native import network, privatedns

from components._base import child


def private_zone(parent: pulumi.Resource, logical: str, *, zone_name: str, resource_group_name: pulumi.Input[str],
                 links: Mapping[str, pulumi.Input[str]], tags: Mapping[str, str]) -> privatedns.PrivateZone:
    """A private DNS zone (`<logical>-zone`) linked to each VNet in `links` (`<logical>-<key>-link`, named `link-<key>`)."""
    zone = privatedns.PrivateZone(
        f"{logical}-zone", private_zone_name=zone_name, resource_group_name=resource_group_name,
        location="global", tags=dict(tags), opts=child(parent),
    )
    for link_key, vnet_id in links.items():
        privatedns.VirtualNetworkLink(
            f"{logical}-{link_key}-link",
            virtual_network_link_name=f"link-{link_key}",
            private_zone_name=zone.name,
            resource_group_name=resource_group_name,
            location="global",
            virtual_network=privatedns.SubResourceArgs(id=vnet_id),
            # Endpoint records come from zone groups; VMs must not register themselves here.
            registration_enabled=False,
            tags=dict(tags),
            opts=child(parent),
        )
    return zone


def private_endpoint(parent: pulumi.Resource, logical: str, *, endpoint_name: str, resource_group_name: pulumi.Input[str],
                     location: str, subnet_id: pulumi.Input[str], target_id: pulumi.Input[str], group_id: str,
                     zone: privatedns.PrivateZone, zone_config_name: str, tags: Mapping[str, str],
                     depends_on: Sequence[pulumi.Resource] = (),
                     application_security_group_id: pulumi.Input[str] | None = None,
                     more_zones: Sequence[tuple[str, privatedns.PrivateZone]] = ()) -> network.PrivateEndpoint:
    """An endpoint (`<logical>-pe`) on one sub-resource of `target_id`, with a DNS zone group (`<logical>-dns`) that
    writes its record into `zone` (and, for a sub-resource served under several zones, into each of `more_zones`,
    given as (config name, zone)). With `application_security_group_id` the endpoint's IP configuration joins that
    application security group, which the subnet's NSG rules name
    (https://learn.microsoft.com/azure/private-link/configure-asg-private-endpoint)."""
    pe = network.PrivateEndpoint(
        f"{logical}-pe",
        private_endpoint_name=endpoint_name,
        resource_group_name=resource_group_name,
        location=location,
        # A plain reference: SubnetArgs would also send its policy defaults.
        subnet={"id": subnet_id},
        private_link_service_connections=[
            network.PrivateLinkServiceConnectionArgs(
                name=f"{endpoint_name}-connection", private_link_service_id=target_id, group_ids=[group_id],
            )
        ],
        custom_network_interface_name=f"{endpoint_name}-nic",
        application_security_groups=[network.ApplicationSecurityGroupArgs(id=application_security_group_id)]
        if application_security_group_id is not None else None,
        tags=dict(tags),
        opts=child(parent, depends_on=depends_on),
    )
    network.PrivateDnsZoneGroup(
        f"{logical}-dns",
        private_dns_zone_group_name="default",
        private_endpoint_name=pe.name,
        resource_group_name=resource_group_name,
        private_dns_zone_configs=[network.PrivateDnsZoneConfigArgs(name=config, private_dns_zone_id=z.id)
                                  for config, z in ((zone_config_name, zone), *more_zones)],
        opts=child(parent),
    )
    return pe
