"""The engineers' way in (issue 6 §1) on the recorded registrations: Azure Bastion and the jump host in the transit
VNet of a Bastion-enabled staging variant, and no Bastion anywhere it is off (dev, staging, prod as they stand)."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import pytest

import stacks
from brickwall import export
from brickwall.engine import Recording, Registration
from components.planning.bastion import AAD_SSH_EXTENSION, VM_USER_LOGIN_ROLE_ID, transit_layout
from components.planning.nsg_rules import bastion_subnet_rules, jump_host_subnet_rules, rule_table_problems
from components.spec import EnvironmentSpec

T = "azure-native:"
BASTION, PIP, NIC, VM, EXT = (T + "network:BastionHost", T + "network:PublicIPAddress", T + "network:NetworkInterface",
                              T + "compute:VirtualMachine", T + "compute:VirtualMachineExtension")
NSG, RULE, SUBNET, ROLE = T + "network:NetworkSecurityGroup", T + "network:SecurityRule", T + "network:Subnet", T + "authorization:RoleAssignment"
COMPONENT = "brickwall:access:EngineerAccess"
Env = tuple[Recording, EnvironmentSpec]


def ours(rec: Recording, type_: str) -> list[Registration]:
    component = rec.one(COMPONENT)
    return [r for r in rec.registrations if r.parent == component.urn and r.type == type_]


def layout(spec: EnvironmentSpec) -> dict[str, IPv4Network]:
    t = spec.private_link.transit
    assert t is not None and t.address_space is not None
    return transit_layout(t.address_space, t.private_endpoint_prefix_length, spec.bastion.subnet_prefix_length,
                          spec.bastion.jump_host_subnet_prefix_length).subnets


def rows(rec: Recording, nsg_name: str) -> set[tuple[Any, ...]]:
    """The security rules registered for one NSG, as comparable rows."""
    def many(r: Registration, one: str, plural: str) -> tuple[str, ...]:
        return tuple(r.inputs[plural]) if r.inputs.get(plural) else (r.inputs[one],)
    return {(r.inputs["securityRuleName"], r.inputs["priority"], r.inputs["direction"], r.inputs["access"], r.inputs["protocol"],
             many(r, "sourceAddressPrefix", "sourceAddressPrefixes"), many(r, "destinationAddressPrefix", "destinationAddressPrefixes"),
             many(r, "destinationPortRange", "destinationPortRanges"))
            for r in ours(rec, RULE) if r.inputs["networkSecurityGroupName"] == nsg_name}


def planned(table: list[Any]) -> set[tuple[Any, ...]]:
    return {(x.name, x.priority, x.direction, x.access, x.protocol, x.sources, x.destinations, x.destination_ports) for x in table}


def test_bastion_is_off_unless_asked_in_every_stack(rec: Recording, spec: EnvironmentSpec) -> None:
    assert not spec.bastion.enabled
    assert not [r for r in rec.registrations if r.type in (BASTION, VM, NIC, EXT, COMPONENT)]
    assert not [r for r in rec.of_type(PIP) if "bastion" in r.name]


def test_subnets_fit_the_transit_vnet_beside_the_endpoint_subnet(bastion_env: Env) -> None:
    rec, spec = bastion_env
    plan = layout(spec)
    subnets = {r.inputs["subnetName"]: r for r in rec.of_type(SUBNET) if r.inputs["resourceGroupName"] == spec.names.transit_resource_group}
    assert set(subnets) == {"snet-private-endpoints", "AzureBastionSubnet", "snet-jump-host"}
    assert subnets["snet-private-endpoints"].inputs["addressPrefix"] == str(plan["endpoints"]) == "10.120.0.0/27"
    assert subnets["AzureBastionSubnet"].inputs["addressPrefix"] == str(plan["bastion"]) == "10.120.0.64/26"
    assert subnets["snet-jump-host"].inputs["addressPrefix"] == str(plan["jump_host"]) == "10.120.0.32/28"
    vnet = rec.one(T + "network:VirtualNetwork", f"{spec.name}-transit-vnet")
    for name, subnet in subnets.items():
        assert subnet.inputs["virtualNetworkName"] == vnet.inputs["virtualNetworkName"], name
    # one subnet write at a time on the VNet: endpoints, then Bastion, then the jump host
    assert subnets["snet-private-endpoints"].urn in subnets["AzureBastionSubnet"].dependencies
    assert subnets["AzureBastionSubnet"].urn in subnets["snet-jump-host"].dependencies


def test_nsg_tables_equal_the_planned_tables(bastion_env: Env) -> None:
    rec, spec = bastion_env
    plan, names = layout(spec), spec.names
    bastion_table = bastion_subnet_rules(str(plan["bastion"]))
    jump_table = jump_host_subnet_rules(str(plan["bastion"]), str(plan["jump_host"]))
    assert rows(rec, names.bastion_network_security_group) == planned(bastion_table)
    assert rows(rec, names.jump_host_network_security_group) == planned(jump_table)
    assert rule_table_problems(bastion_table) == [] and rule_table_problems(jump_table) == []
    subnets = {r.inputs["subnetName"]: r.inputs["networkSecurityGroup"]["id"] for r in ours(rec, SUBNET)}
    assert subnets["AzureBastionSubnet"].endswith(f"/networkSecurityGroups/{names.bastion_network_security_group}")
    assert subnets["snet-jump-host"].endswith(f"/networkSecurityGroups/{names.jump_host_network_security_group}")


def test_bastion_nsg_holds_microsofts_required_rules() -> None:
    table = {(r.direction, r.sources, r.destinations, r.destination_ports, r.access) for r in bastion_subnet_rules("10.0.0.64/26")}
    assert table == {
        ("Inbound", ("Internet",), ("10.0.0.64/26",), ("443",), "Allow"),
        ("Inbound", ("GatewayManager",), ("10.0.0.64/26",), ("443",), "Allow"),
        ("Inbound", ("AzureLoadBalancer",), ("10.0.0.64/26",), ("443",), "Allow"),
        ("Inbound", ("VirtualNetwork",), ("VirtualNetwork",), ("8080", "5701"), "Allow"),
        ("Inbound", ("*",), ("*",), ("*",), "Deny"),
        ("Outbound", ("*",), ("VirtualNetwork",), ("22", "3389"), "Allow"),
        ("Outbound", ("*",), ("AzureCloud",), ("443",), "Allow"),
        ("Outbound", ("VirtualNetwork",), ("VirtualNetwork",), ("8080", "5701"), "Allow"),
        ("Outbound", ("*",), ("Internet",), ("80",), "Allow"),
    }


def test_jump_host_takes_ssh_only_from_the_bastion_subnet() -> None:
    allowed = [r for r in jump_host_subnet_rules("10.0.0.64/26", "10.0.0.32/28") if r.access == "Allow"]
    assert [(r.direction, r.sources, r.destination_ports, r.protocol) for r in allowed] == [("Inbound", ("10.0.0.64/26",), ("22",), "Tcp")]


def test_bastion_host_settings(bastion_env: Env) -> None:
    rec, spec = bastion_env
    (host,) = ours(rec, BASTION)
    i = host.inputs
    assert i["bastionHostName"] == spec.names.bastion_host and i["sku"] == {"name": "Standard"}
    assert i["enableTunneling"] is True and i["enableIpConnect"] is False and i["enableShareableLink"] is False
    assert i["enableFileCopy"] is False and i["disableCopyPaste"] is True and i["scaleUnits"] == 2
    (config,) = i["ipConfigurations"]
    assert config["subnet"]["id"].endswith("/subnets/AzureBastionSubnet")
    (pip,) = ours(rec, PIP)
    assert config["publicIPAddress"]["id"].endswith(f"/publicIPAddresses/{spec.names.bastion_public_ip}")
    assert pip.inputs["sku"] == {"name": "Standard", "tier": "Regional"} and pip.inputs["publicIPAllocationMethod"] == "Static"


def test_the_only_public_ip_is_bastions_and_no_nic_has_one(bastion_env: Env) -> None:
    rec, spec = bastion_env
    (nic,) = ours(rec, NIC)
    assert all("publicIPAddress" not in c for c in nic.inputs["ipConfigurations"])
    assert nic.inputs["ipConfigurations"][0]["subnet"]["id"].endswith("/subnets/snet-jump-host")
    (vm,) = ours(rec, VM)
    (ref,) = vm.inputs["networkProfile"]["networkInterfaces"]
    assert ref["id"].endswith(f"/networkInterfaces/{nic.inputs['networkInterfaceName']}") and ref["primary"] is True
    assert nic.inputs["networkInterfaceName"] == spec.names.jump_host_nic
    assert "networkInterfaceConfigurations" not in vm.inputs["networkProfile"]
    # Besides the NAT gateway's (staging egress), Bastion's is the only public IP in the program.
    assert sorted(r.inputs["publicIpAddressName"] for r in rec.of_type(PIP)) == sorted([spec.names.bastion_public_ip, spec.names.nat_public_ip])


def test_jump_host_is_linux_entra_only_without_any_password(bastion_env: Env) -> None:
    rec, spec = bastion_env
    (vm,) = ours(rec, VM)
    i = vm.inputs
    linux = i["osProfile"]["linuxConfiguration"]
    assert linux["disablePasswordAuthentication"] is True and "adminPassword" not in i["osProfile"]
    assert linux["ssh"]["publicKeys"] == [{"path": f"/home/{spec.bastion.admin_username}/.ssh/authorized_keys",
                                           "keyData": spec.bastion.admin_ssh_public_key}]
    assert i["identity"] == {"type": "SystemAssigned"}
    assert i["hardwareProfile"] == {"vmSize": "Standard_B2s"}
    assert i["storageProfile"]["imageReference"] == {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                                                     "version": "latest"}
    assert i["diagnosticsProfile"] == {"bootDiagnostics": {"enabled": True}}  # managed: no storageUri
    assert i["securityProfile"] == {"securityType": "TrustedLaunch", "encryptionAtHost": True,
                                    "uefiSettings": {"secureBootEnabled": True, "vTpmEnabled": True}}
    (ext,) = ours(rec, EXT)
    publisher, kind, version = AAD_SSH_EXTENSION
    assert (ext.inputs["publisher"], ext.inputs["type"], ext.inputs["typeHandlerVersion"]) == (publisher, kind, version)
    assert ext.inputs["vmName"] == spec.names.jump_host_vm and vm.urn in ext.dependencies
    for reg in rec.registrations:
        assert "adminPassword" not in str(reg.inputs), reg.urn


def test_the_entra_group_gets_vm_user_login_on_the_vm_only(bastion_env: Env) -> None:
    rec, spec = bastion_env
    (role,) = ours(rec, ROLE)
    (vm,) = ours(rec, VM)
    vm_id = f"/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/{spec.names.transit_resource_group}" \
            f"/providers/Microsoft.Compute/virtualMachines/{spec.names.jump_host_vm}"
    assert role.inputs["scope"] == vm_id
    assert role.inputs["roleDefinitionId"].endswith(f"/roleDefinitions/{VM_USER_LOGIN_ROLE_ID}")
    assert role.inputs["principalId"] == spec.bastion.entra_login_group_object_id and role.inputs["principalType"] == "Group"
    assert vm.urn in role.dependencies


def test_everything_lives_in_the_transit_resource_group_and_is_tagged(bastion_env: Env) -> None:
    rec, spec = bastion_env
    for type_ in (BASTION, PIP, NIC, VM, EXT, NSG, SUBNET, RULE):
        for reg in ours(rec, type_):
            assert reg.inputs["resourceGroupName"] == spec.names.transit_resource_group, reg.urn
            if type_ not in (SUBNET, RULE):
                assert reg.inputs["tags"]["environment"] == spec.name, reg.urn


def test_the_export_maps_every_new_type(bastion_env: Env) -> None:
    rec, _ = bastion_env
    template = export.arm_resources(rec)
    types = {r["type"] for r in template["resources"]}
    assert {"Microsoft.Network/bastionHosts", "Microsoft.Network/networkInterfaces", "Microsoft.Compute/virtualMachines",
            "Microsoft.Compute/virtualMachines/extensions"} <= types
    (host,) = [r for r in template["resources"] if r["type"] == "Microsoft.Network/bastionHosts"]
    assert host["properties"]["enableShareableLink"] is False and host["sku"] == {"name": "Standard"}


def test_a_stamped_environment_gets_bastion_by_default() -> None:
    from datetime import UTC, datetime, timedelta

    from components.spec import stamp as stamping

    base = stacks.load("staging")
    now = datetime(2026, 11, 23, tzinfo=UTC)
    spec = stamping.stamp(base, "pr-7", stamping.allocate_for(base, []), owner="alice", pull_request="7", created_at=now,
                          expires_at=now + timedelta(hours=72))
    assert base.bastion.enabled is None and spec.bastion.enabled is True
    assert spec.bastion.entra_login_group_object_id == base.bastion.entra_login_group_object_id
    off = base.model_dump(mode="json")
    off["bastion"]["enabled"] = False
    spec = stamping.stamp(EnvironmentSpec.model_validate(off), "pr-8", stamping.allocate_for(base, []), owner="alice",
                          pull_request=None, created_at=now, expires_at=now + timedelta(hours=72))
    assert spec.bastion.enabled is False


@pytest.mark.parametrize("tier", ["dev", "staging", "prod"])
def test_standing_environments_default_to_no_bastion(tier: str) -> None:
    assert stacks.load(tier).bastion.enabled is None
