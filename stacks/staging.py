"""staging: private end to end like prod, with outbound Internet for library installs."""

from components.spec import (
    EnvironmentSpec,
    NetworkSpec,
    PrivateLinkSpec,
    SubnetLayout,
    Tier,
    TransitNetworkSpec,
)
from components.spec.access import AccessSpec, ClusterPolicySpec, GroupSpec, IpAccessSpec, ServicePrincipalSpec
from components.spec.audit import AlertsSpec, MonitoringSpec
from components.spec.bastion import BastionSpec
from components.spec.compute import ComputeGovernanceSpec, PersonalComputeSpec
from components.spec.data import DataLakeSpec, DataSpec
from components.spec.encryption import EncryptionSpec
from components.spec.stamping import StampingSpec

# Test environments (pr-123, ...) are stamped from staging: their VNets come from this pool, clear of dev,
# prod, their transit VNets and the corporate network (staging's own ranges are always kept clear).
STAMP_POOL = "10.64.0.0/12"
STAMP_RESERVED = ("10.10.0.0/20", "10.30.0.0/19", "10.130.0.0/24", "10.200.0.0/16")
# The jump host's one SSH public key (Azure requires one on a Linux VM without password sign-in); its private half
# was discarded when it was made: engineers sign in with Entra ID through Bastion.
JUMP_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3yAUTC+VUIdFdfZL7BE2hSF32YFtZmThSfzNE4ED9z brickwall-jump-host-no-private-key"
PLATFORM_ENGINEERS = "d2c4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e40"  # Entra group allowed onto the jump host


def build() -> EnvironmentSpec:
    return EnvironmentSpec(
        name="staging",
        tier=Tier.STAGING,
        region="westeurope",
        tags={"cost-center": "data-platform", "owner": "platform-team"},
        network=NetworkSpec(address_space="10.20.0.0/20", subnets=SubnetLayout(aks_prefix_length=24)),
        private_link=PrivateLinkSpec(transit=TransitNetworkSpec(address_space="10.120.0.0/24")),
        monitoring=MonitoringSpec(alerts=AlertsSpec(emails=("data-platform-oncall@contoso.com",))),
        data=DataSpec(lake=DataLakeSpec(enabled=True)),
        stamping=StampingSpec(pool=STAMP_POOL, reserved=STAMP_RESERVED),
        # Off in staging itself; on by default in every environment stamped from it (docs/access-control.md "Engineers' access").
        bastion=BastionSpec(entra_login_group_object_id=PLATFORM_ENGINEERS, admin_ssh_public_key=JUMP_HOST_KEY),
        # A fresh staging deploys with dbfs_root "prepare" (the default); see docs/audit-data-keys.md on the second step.
        encryption=EncryptionSpec(databricks_app_object_id="6a1e2f3b-9c8d-4e7f-8a6b-5c4d3e2f1a09"),
        access=AccessSpec(
            ip_access=IpAccessSpec(break_glass=("52.174.20.0/28",), ci_egress=("20.61.88.16/28",)),
            groups=(
                GroupSpec(name="data-engineers", entra_object_id="3f2b8c1e-6d4a-4e8f-9a1b-2c3d4e5f6a70"),
                # Like prod: administration through a just-in-time (Entra PIM for Groups) break-glass group.
                GroupSpec(name="databricks-staging-break-glass", entra_object_id="7c2f0e5b-3d8a-4f4c-8b9e-6a1d2c3f4e58",
                          workspace_admin=True,
                          break_glass_reason="Emergency administration only: membership is eligible, never active, in Entra PIM for Groups; "
                                             "activated for at most 4 hours with approval and a change ticket"),
            ),
            service_principals=(
                ServicePrincipalSpec(name="ci-deployer", application_id="0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b60"),
                ServicePrincipalSpec(name="etl-jobs", application_id="5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10"),
            ),
            cluster_policies=(
                ClusterPolicySpec(name="brickwall-baseline", groups=("data-engineers",)),
                ClusterPolicySpec(name="brickwall-jobs", cluster_type="job", service_principals=("etl-jobs",),
                                  data_security_mode="SINGLE_USER", max_workers=16),
            ),
            compute=ComputeGovernanceSpec(personal_compute=PersonalComputeSpec(groups=("data-engineers",))),
        ),
    )
