"""EngineerAccess: the engineers' way in to a private workspace (issue 6 §1).

Azure Bastion (Standard SKU, native-client tunnelling) in the transit VNet's AzureBastionSubnet, and a small Linux
jump host beside it with no public IP, password sign-in off and Entra ID sign-in (AADSSHLoginForLinux) for one
Entra group ("Virtual Machine User Login" at the VM's scope). Engineers connect with
`az network bastion ssh --auth-type AAD` (or `az network bastion tunnel`) and reach the workspace's private front end
from there. Bastion's own Standard public IP is the only public address; shareable links and IP connect stay off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import compute, network, resources

from components._base import child, network_security_group, role_assignment, standard_public_ip
from components.planning.bastion import AAD_SSH_EXTENSION, IMAGES, VM_USER_LOGIN_ROLE_ID, login_role_assignment_name
from components.planning.naming import NamePlan
from components.planning.nsg_rules import NsgRule
from components.spec.bastion import BastionSpec


@dataclass(frozen=True)
class EngineerAccessArgs:
    location: str
    tags: Mapping[str, str]
    names: NamePlan
    spec: BastionSpec
    resource_group: resources.ResourceGroup
    vnet_name: pulumi.Input[str]
    bastion_cidr: str
    jump_host_cidr: str
    bastion_rules: Sequence[NsgRule]
    jump_host_rules: Sequence[NsgRule]
    # Subnets of one VNet are written one at a time (Azure refuses concurrent subnet updates on a VNet).
    depends_on: Sequence[pulumi.Resource] = ()


class EngineerAccess(pulumi.ComponentResource):
    bastion: network.BastionHost
    jump_host: compute.VirtualMachine
    jump_host_id: pulumi.Output[str]

    def __init__(self, name: str, args: EngineerAccessArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:access:EngineerAccess", name, {}, opts)
        spec, names, tags, rg = args.spec, args.names, dict(args.tags), args.resource_group
        assert spec.admin_ssh_public_key and spec.entra_login_group_object_id  # rules._bastion

        bastion_nsg = network_security_group(self, f"{name}-bastion-nsg", names.bastion_network_security_group, args.bastion_rules,
                                             args.resource_group, args.location, tags)
        bastion_subnet = network.Subnet(
            f"{name}-bastion-subnet",
            subnet_name=names.bastion_subnet,
            virtual_network_name=args.vnet_name,
            resource_group_name=rg.name,
            address_prefix=args.bastion_cidr,
            network_security_group=network.NetworkSecurityGroupArgs(id=bastion_nsg.id),
            opts=child(self, depends_on=[*args.depends_on, bastion_nsg]),
        )
        jump_nsg = network_security_group(self, f"{name}-jump-nsg", names.jump_host_network_security_group, args.jump_host_rules,
                                          args.resource_group, args.location, tags)
        jump_subnet = network.Subnet(
            f"{name}-jump-subnet",
            subnet_name=names.jump_host_subnet,
            virtual_network_name=args.vnet_name,
            resource_group_name=rg.name,
            address_prefix=args.jump_host_cidr,
            network_security_group=network.NetworkSecurityGroupArgs(id=jump_nsg.id),
            default_outbound_access=False,
            opts=child(self, depends_on=[bastion_subnet, jump_nsg]),
        )

        # Bastion needs a Standard, static public IP of its own; nothing else in the topology gets one.
        public_ip = standard_public_ip(self, f"{name}-bastion-pip", names.bastion_public_ip, rg, args.location, tags)
        self.bastion = network.BastionHost(
            f"{name}-bastion",
            bastion_host_name=names.bastion_host,
            resource_group_name=rg.name,
            location=args.location,
            sku=network.SkuArgs(name=spec.sku),
            scale_units=spec.scale_units,
            enable_tunneling=True,
            enable_ip_connect=False,
            enable_shareable_link=False,
            enable_file_copy=False,
            enable_kerberos=False,
            disable_copy_paste=spec.disable_copy_paste,
            ip_configurations=[network.BastionHostIPConfigurationArgs(
                name="bastion-ipconfig",
                subnet=network.SubResourceArgs(id=bastion_subnet.id),
                public_ip_address=network.SubResourceArgs(id=public_ip.id),
                private_ip_allocation_method="Dynamic",
            )],
            tags=tags,
            opts=child(self, depends_on=[bastion_subnet]),
        )

        nic = network.NetworkInterface(
            f"{name}-jump-nic",
            network_interface_name=names.jump_host_nic,
            resource_group_name=rg.name,
            location=args.location,
            # No public IP: the jump host is reachable only through Bastion.
            ip_configurations=[network.NetworkInterfaceIPConfigurationArgs(
                name="ipconfig1",
                primary=True,
                private_ip_allocation_method="Dynamic",
                subnet=network.SubnetArgs(id=jump_subnet.id),
            )],
            enable_ip_forwarding=False,
            tags=tags,
            opts=child(self),
        )
        image = IMAGES[spec.image]
        self.jump_host = compute.VirtualMachine(
            f"{name}-jump-vm",
            vm_name=names.jump_host_vm,
            resource_group_name=rg.name,
            location=args.location,
            hardware_profile=compute.HardwareProfileArgs(vm_size=spec.jump_host_size),
            identity=compute.VirtualMachineIdentityArgs(type=compute.ResourceIdentityType.SYSTEM_ASSIGNED),
            storage_profile=compute.StorageProfileArgs(
                image_reference=compute.ImageReferenceArgs(publisher=image.publisher, offer=image.offer, sku=image.sku,
                                                           version=image.version),
                os_disk=compute.OSDiskArgs(
                    name=names.jump_host_os_disk,
                    create_option="FromImage",
                    caching=compute.CachingTypes.READ_WRITE,
                    delete_option="Delete",
                    managed_disk=compute.ManagedDiskParametersArgs(storage_account_type="Premium_LRS"),
                ),
            ),
            os_profile=compute.OSProfileArgs(
                computer_name=names.jump_host_vm,
                admin_username=spec.admin_username,
                allow_extension_operations=True,
                linux_configuration=compute.LinuxConfigurationArgs(
                    disable_password_authentication=True,
                    provision_vm_agent=True,
                    ssh=compute.SshConfigurationArgs(public_keys=[compute.SshPublicKeyArgs(
                        path=f"/home/{spec.admin_username}/.ssh/authorized_keys",
                        key_data=spec.admin_ssh_public_key,
                    )]),
                    patch_settings=compute.LinuxPatchSettingsArgs(patch_mode="AutomaticByPlatform",
                                                                  assessment_mode="AutomaticByPlatform"),
                ),
            ),
            network_profile=compute.NetworkProfileArgs(network_interfaces=[
                compute.NetworkInterfaceReferenceArgs(id=nic.id, primary=True, delete_option="Delete"),
            ]),
            security_profile=compute.SecurityProfileArgs(
                security_type="TrustedLaunch",
                uefi_settings=compute.UefiSettingsArgs(secure_boot_enabled=True, v_tpm_enabled=True),
                encryption_at_host=spec.encryption_at_host,
            ),
            # Managed boot diagnostics: no storage account to create or expose.
            diagnostics_profile=compute.DiagnosticsProfileArgs(boot_diagnostics=compute.BootDiagnosticsArgs(enabled=True)),
            tags=tags,
            opts=child(self),
        )
        publisher, extension_type, version = AAD_SSH_EXTENSION
        self.entra_login = compute.VirtualMachineExtension(
            f"{name}-jump-entra-login",
            vm_extension_name=extension_type,
            vm_name=self.jump_host.name,
            resource_group_name=rg.name,
            location=args.location,
            publisher=publisher,
            type=extension_type,
            type_handler_version=version,
            auto_upgrade_minor_version=True,
            tags=tags,
            opts=child(self, depends_on=[self.jump_host]),
        )
        self.login_role = role_assignment(
            self, f"{name}-jump-user-login",
            name=login_role_assignment_name(names.jump_host_vm, spec.entra_login_group_object_id),
            scope=self.jump_host.id,
            role=VM_USER_LOGIN_ROLE_ID,
            principal_id=spec.entra_login_group_object_id,
            principal_type="Group",
            description=f"Engineers sign in to {names.jump_host_vm} through Azure Bastion with Entra ID",
            depends_on=[self.jump_host],
        )
        self.jump_host_id = self.jump_host.id
        self.register_outputs({"bastionId": self.bastion.id, "jumpHostId": self.jump_host_id})
