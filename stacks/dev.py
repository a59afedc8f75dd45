"""dev: public front end fenced by IP access lists, private back end, nothing protected."""

from components.spec import EnvironmentSpec, NetworkSpec, Tier
from components.spec.access import (
    AccessSpec,
    ClusterPolicySpec,
    GroupSpec,
    IpAccessSpec,
    IpList,
    ServicePrincipalSpec,
)
from components.spec.compute import ComputeGovernanceSpec, PersonalComputeSpec


def build() -> EnvironmentSpec:
    return EnvironmentSpec(
        name="dev",
        tier=Tier.DEV,
        region="westeurope",
        tags={"cost-center": "data-platform", "owner": "platform-team"},
        network=NetworkSpec(address_space="10.10.0.0/20"),
        access=AccessSpec(
            ip_access=IpAccessSpec(
                break_glass=("52.174.20.0/28",),
                ci_egress=("20.61.88.16/28",),
                allow=(IpList(label="office", cidrs=("194.8.240.0/24", "194.8.241.10")),),
            ),
            groups=(
                GroupSpec(name="data-engineers", entra_object_id="3f2b8c1e-6d4a-4e8f-9a1b-2c3d4e5f6a70", can_use_tokens=True),
                GroupSpec(name="platform-admins", entra_object_id="8a7b6c5d-4e3f-4a1b-8c2d-1e0f9a8b7c60", workspace_admin=True),
            ),
            service_principals=(
                ServicePrincipalSpec(name="ci-deployer", application_id="0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b60"),
            ),
            cluster_policies=(
                ClusterPolicySpec(name="brickwall-baseline", groups=("data-engineers",)),
            ),
            compute=ComputeGovernanceSpec(personal_compute=PersonalComputeSpec(groups=("data-engineers",))),
        ),
    )
