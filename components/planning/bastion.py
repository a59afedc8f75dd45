"""The engineers' way in, planned: the transit VNet's subnets, the jump host image and the sign-in role. Pure, no Pulumi.

The NSG rule tables for the two subnets live with the other tables in `components/planning/nsg_rules.py`
(`bastion_subnet_rules`, `jump_host_subnet_rules`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from components.facts import BASTION, JUMP_HOST, TRANSIT_ENDPOINTS
from components.planning.addresses import SubnetPlan, SubnetRequest, carve_subnets, parse_network
from components.planning.roles import BUILT_IN_ROLES

# Azure keys off this exact subnet name (https://learn.microsoft.com/azure/bastion/configuration-settings#subnet).
BASTION_SUBNET_NAME = "AzureBastionSubnet"

# Built-in role "Virtual Machine User Login" (sign in to a VM as a regular user through Entra ID):
# https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/compute#virtual-machine-user-login
VM_USER_LOGIN_ROLE_ID = BUILT_IN_ROLES["Virtual Machine User Login"]
# Entra sign-in on a Linux VM: https://learn.microsoft.com/entra/identity/devices/howto-vm-sign-in-azure-ad-linux
AAD_SSH_EXTENSION = ("Microsoft.Azure.ActiveDirectory", "AADSSHLoginForLinux", "1.0")


@dataclass(frozen=True)
class Image:
    publisher: str
    offer: str
    sku: str
    version: str = "latest"


IMAGES: dict[str, Image] = {
    "ubuntu-24.04-lts": Image("Canonical", "ubuntu-24_04-lts", "server"),
}

_NAMESPACE = uuid.UUID("6f0c5a52-8a3e-4f0b-9d43-1c0f6e2b7a11")


def transit_layout(address_space: str, endpoint_prefix_length: int, bastion_prefix_length: int | None = None,
                   jump_host_prefix_length: int | None = None) -> SubnetPlan:
    """The transit VNet's subnets: the endpoint subnet stays the first block of its size (where it has always been),
    the Bastion and jump-host subnets are carved from what is left. AddressPlanError when they do not fit."""
    endpoint = str(next(parse_network(address_space).subnets(new_prefix=endpoint_prefix_length)))
    requests = [SubnetRequest(TRANSIT_ENDPOINTS, cidr=endpoint)]
    if bastion_prefix_length is not None:
        requests.append(SubnetRequest(BASTION, bastion_prefix_length))
    if jump_host_prefix_length is not None:
        requests.append(SubnetRequest(JUMP_HOST, jump_host_prefix_length))
    return carve_subnets(address_space, requests)


def login_role_assignment_name(vm_name: str, group_object_id: str) -> str:
    """A stable GUID for the group's sign-in role on the jump host (never from an Azure-computed value)."""
    return str(uuid.uuid5(_NAMESPACE, "/".join((vm_name.lower(), VM_USER_LOGIN_ROLE_ID, group_object_id.lower()))))
