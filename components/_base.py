"""What every component shares: child options and data protection, public IPs, NSGs and their rule-to-resource mapping, role assignments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
from pulumi_azure_native import authorization, network, resources

from components.planning.nsg_rules import NsgRule
from components.planning.roles import role_definition_id


def child(parent: pulumi.Resource, *, protect: bool = False, depends_on: Sequence[pulumi.Resource] = (),
          ignore_changes: Sequence[str] = ()) -> pulumi.ResourceOptions:
    """Options for a child: parented (so providers and deletedWith flow down) and, for data, protected.

    protect stops `pulumi destroy`/replacement; retain_on_delete keeps the cloud resource even if
    the protection is lifted and the resource is removed from the program.
    """
    return pulumi.ResourceOptions(
        parent=parent,
        protect=protect,
        retain_on_delete=protect or None,
        depends_on=list(depends_on) or None,
        ignore_changes=list(ignore_changes) or None,
    )


def standard_public_ip(parent: pulumi.Resource, logical: str, ip_name: str, rg: resources.ResourceGroup, location: str,
                       tags: dict[str, str]) -> network.PublicIPAddress:
    """A Standard, static, regional IPv4 address: what a NAT gateway and Azure Bastion each require."""
    return network.PublicIPAddress(
        logical,
        public_ip_address_name=ip_name,
        resource_group_name=rg.name,
        location=location,
        sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
        public_ip_allocation_method="Static",
        public_ip_address_version="IPv4",
        tags=tags,
        opts=child(parent),
    )


def network_security_group(parent: pulumi.Resource, logical: str, nsg_name: str, rules: Sequence[NsgRule],
                           rg: resources.ResourceGroup, location: str, tags: dict[str, str],
                           asgs: Mapping[str, network.ApplicationSecurityGroup] | None = None) -> network.NetworkSecurityGroup:
    """An NSG with no inline rules and one standalone rule per toolkit row of `rules` (`<logical>-<rule name>`):
    rows Databricks injects stay Databricks'. `asgs` are the application security groups rows name, by key."""
    nsg = network.NetworkSecurityGroup(
        logical, network_security_group_name=nsg_name, resource_group_name=rg.name, location=location,
        tags=tags, opts=child(parent),
    )
    for rule in rules:
        if rule.created_by_toolkit:
            security_rule(f"{logical}-{rule.name}", rule, nsg, rg, parent, asgs or {})
    return nsg


def security_rule(logical: str, rule: NsgRule, nsg: network.NetworkSecurityGroup, rg: resources.ResourceGroup,
                  parent: pulumi.Resource, asgs: Mapping[str, network.ApplicationSecurityGroup]) -> network.SecurityRule:
    """One table row as a standalone rule; singular/plural fields as Azure wants them, and a destination of
    application security groups instead of address prefixes when the row names them."""
    def one_or_many(values: tuple[str, ...]) -> tuple[str | None, list[str] | None]:
        return (values[0], None) if len(values) == 1 else (None, list(values))

    src, srcs = one_or_many(rule.sources)
    dst, dsts = one_or_many(rule.destinations) if rule.destinations else (None, None)
    port, ports = one_or_many(rule.destination_ports)
    sport, sports = one_or_many(rule.source_ports)
    return network.SecurityRule(
        logical,
        security_rule_name=rule.name,
        network_security_group_name=nsg.name,
        resource_group_name=rg.name,
        priority=rule.priority,
        direction=rule.direction,
        access=rule.access,
        protocol=rule.protocol,
        source_address_prefix=src,
        source_address_prefixes=srcs,
        destination_address_prefix=dst,
        destination_address_prefixes=dsts,
        destination_application_security_groups=[network.ApplicationSecurityGroupArgs(id=asgs[k].id) for k in rule.destination_asgs]
        if rule.destination_asgs else None,
        source_port_range=sport,
        source_port_ranges=sports,
        destination_port_range=port,
        destination_port_ranges=ports,
        description=rule.description,
        opts=child(parent),
    )


def role_assignment(parent: pulumi.Resource, logical: str, *, scope: pulumi.Input[str], role: str,
                    principal_id: pulumi.Input[str] | pulumi.Output[str | None], principal_type: str | None = None,
                    name: pulumi.Input[str] | None = None, description: str | None = None,
                    depends_on: Sequence[pulumi.Resource] = ()) -> authorization.RoleAssignment:
    """Built-in role `role` (its name or GUID, components/planning/roles.py) for `principal_id` on `scope`, its
    definition id in the subscription that holds `scope`. `principal_type` set spares Azure an Entra lookup of a
    just-created identity that has not replicated yet."""
    return authorization.RoleAssignment(
        logical,
        role_assignment_name=name,
        scope=scope,
        role_definition_id=pulumi.Output.from_input(scope).apply(lambda scope_id: role_definition_id(scope_id, role)),
        principal_id=principal_id,
        principal_type=principal_type,
        description=description,
        opts=child(parent, depends_on=depends_on),
    )
