"""staging: private end to end like prod, with outbound Internet for library installs."""

from components.spec import (
    EnvironmentSpec,
    NetworkSpec,
    PrivateLinkSpec,
    SubnetLayout,
    Tier,
    TransitNetworkSpec,
)


def build() -> EnvironmentSpec:
    return EnvironmentSpec(
        name="staging",
        tier=Tier.STAGING,
        region="westeurope",
        tags={"cost-center": "data-platform", "owner": "platform-team"},
        network=NetworkSpec(address_space="10.20.0.0/20", subnets=SubnetLayout(aks_prefix_length=24)),
        private_link=PrivateLinkSpec(transit=TransitNetworkSpec(address_space="10.120.0.0/24")),
    )
