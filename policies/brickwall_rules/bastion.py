"""The engineers' way in (components/bastion.py): no public IP on any NIC, VMs without password sign-in, Bastion with
shareable links and IP connect off, and the Internet-to-443 rule Azure Bastion requires allowed only on its own subnet."""

from __future__ import annotations

import re
from typing import Any

from pulumi_policy import Policy, ResourceValidationArgs, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import Say, arm_key, arm_key_for, as_list, dig, of_type, resource_rule, stack_rule

NIC = az.NETWORK_INTERFACE.token
VM = az.VIRTUAL_MACHINE.token
BASTION_HOST = az.BASTION_HOST.token
NSG = az.NETWORK_SECURITY_GROUP.token
SECURITY_RULE = az.SECURITY_RULE.token
SUBNET = az.SUBNET.token
BASTION_SUBNET = "azurebastionsubnet"
# The toolkit's Bastion NSG names (components/planning/naming.py: nsg-<prefix>-<env>-<region>-bastion).
BASTION_NSG_NAME = re.compile(r"nsg-.+-bastion", re.I)


def is_bastion_https_rule(props: Any) -> bool:
    """The one Internet-facing rule Azure Bastion requires (https://learn.microsoft.com/azure/bastion/bastion-nsg):
    inbound TCP 443 from the Internet tag, in a Bastion NSG. `bastion-nsg-only-on-bastion-subnet` checks that NSG sits
    on AzureBastionSubnet only, so network.py's nsg-no-internet-inbound may let exactly this rule through."""
    return (str(dig(props, "direction", "")).lower() == "inbound" and str(dig(props, "access", "")).lower() == "allow"
            and str(dig(props, "protocol", "")).lower() == "tcp" and dig(props, "sourceAddressPrefix") == "Internet"
            and not as_list(dig(props, "sourceAddressPrefixes")) and dig(props, "destinationPortRange") == "443"
            and not as_list(dig(props, "destinationPortRanges"))
            and bool(BASTION_NSG_NAME.fullmatch(str(dig(props, "networkSecurityGroupName", "")))))


def _check_nic(args: ResourceValidationArgs, report: Say) -> None:
    for config in as_list(dig(args.props, "ipConfigurations")):
        if dig(config, "publicIPAddress") is not None or dig(config, "publicIpAddress") is not None:
            report(f"network interface {dig(args.props, 'networkInterfaceName') or args.name!r} ip configuration "
                   f"{dig(config, 'name', '?')!r} has a public IP address")


NIC_NO_PUBLIC_IP = resource_rule(
    "nic-no-public-ip",
    "No network interface carries a public IP address: VMs are reached through Azure Bastion only (Bastion's own "
    "public IP sits on the Bastion host, not on a NIC).",
    "Remove publicIPAddress from the NIC's ipConfigurations and connect with `az network bastion ssh`.",
    [NIC],
    _check_nic,
)


def _check_vm(args: ResourceValidationArgs, report: Say) -> None:
    name = dig(args.props, "vmName") or args.name
    profile = dig(args.props, "osProfile") or {}
    if dig(profile, "adminPassword") is not None:
        report(f"virtual machine {name!r} sets an admin password")
    if dig(profile, "windowsConfiguration") is not None or dig(profile, "linuxConfiguration") is None:
        report(f"virtual machine {name!r} is not a Linux VM with a linuxConfiguration (password sign-in cannot be ruled out)")
    elif dig(profile, "linuxConfiguration.disablePasswordAuthentication") is not True:
        report(f"virtual machine {name!r} allows password authentication")


VM_NO_PASSWORD = resource_rule(
    "vm-password-authentication-disabled",
    "Virtual machines are Linux with password authentication disabled and no admin password: people sign in with "
    "Entra ID (AADSSHLoginForLinux).",
    "Set osProfile.linuxConfiguration.disablePasswordAuthentication true, drop adminPassword and grant "
    "'Virtual Machine User Login' to an Entra group.",
    [VM],
    _check_vm,
)


def _check_bastion(args: ResourceValidationArgs, report: Say) -> None:
    name = dig(args.props, "bastionHostName") or args.name
    for flag, what in (("enableShareableLink", "shareable links (anyone with the link gets a session)"),
                       ("enableIpConnect", "IP connect (sessions to any reachable address, not just Azure VMs)")):
        if dig(args.props, flag) is True:
            report(f"Bastion host {name!r} enables {what}")
    if dig(args.props, "enableTunneling") is not True:
        report(f"Bastion host {name!r} does not enable tunnelling: engineers cannot use the native client with Entra sign-in")


BASTION_LOCKED_DOWN = resource_rule(
    "bastion-no-shareable-links-or-ip-connect",
    "Azure Bastion keeps shareable links and IP connect off and native-client tunnelling on.",
    "Set enableShareableLink and enableIpConnect false and enableTunneling true on the Bastion host.",
    [BASTION_HOST],
    _check_bastion,
)


def _nsg_key(rg: Any, name: Any) -> str:
    return arm_key_for(az.NETWORK_SECURITY_GROUP, rg, name)


def _check_bastion_nsg(args: StackValidationArgs, report: Say) -> None:
    exempt = {str(dig(r.props, "networkSecurityGroupName")) for r in of_type(args, SECURITY_RULE) if is_bastion_https_rule(r.props)}
    for nsg in of_type(args, NSG):
        nsg_name = str(dig(nsg.props, "networkSecurityGroupName") or nsg.name)
        if nsg_name not in exempt:
            continue
        key = _nsg_key(dig(nsg.props, "resourceGroupName", ""), nsg_name)
        subnets = [str(dig(s.props, "subnetName") or s.name) for s in of_type(args, SUBNET)
                   if arm_key(dig(s.props, "networkSecurityGroup.id")) == key]
        wrong = [s for s in subnets if s.lower() != BASTION_SUBNET]
        if wrong or not subnets:
            report(f"network security group {nsg_name!r} allows HTTPS from the Internet (Azure Bastion's rule) but is "
                   f"associated with {', '.join(wrong) if wrong else 'no subnet'}, not only AzureBastionSubnet")


BASTION_NSG_PLACEMENT = stack_rule(
    "bastion-nsg-only-on-bastion-subnet",
    "A Bastion NSG (the only NSG allowed an inbound Internet rule, TCP 443 as Azure Bastion requires) is associated "
    "with AzureBastionSubnet and nothing else.",
    "Associate the Bastion NSG only with AzureBastionSubnet; give other subnets their own NSG without Internet rules.",
    _check_bastion_nsg,
)


RULES: list[Policy] = [NIC_NO_PUBLIC_IP, VM_NO_PASSWORD, BASTION_LOCKED_DOWN, BASTION_NSG_PLACEMENT]
