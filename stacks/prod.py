"""prod: private end to end, egress through the hub firewall, a dedicated web-auth workspace."""

from components.spec import (
    EgressSpec,
    EnvironmentSpec,
    NamingSpec,
    NetworkSpec,
    PrivateLinkSpec,
    SubnetLayout,
    Tier,
    TransitNetworkSpec,
)


def build() -> EnvironmentSpec:
    return EnvironmentSpec(
        name="prod",
        tier=Tier.PROD,
        region="westeurope",
        naming=NamingSpec(prefix="bw", unique_suffix="p7k2"),
        tags={"cost-center": "data-platform", "owner": "platform-team", "data-classification": "confidential"},
        network=NetworkSpec(
            address_space="10.30.0.0/19",
            subnets=SubnetLayout(host_prefix_length=21, container_prefix_length=21, aks_prefix_length=23),
            egress=EgressSpec(mode="firewall", firewall_private_ip="10.0.1.4"),
        ),
        private_link=PrivateLinkSpec(
            browser_authentication="dedicated_workspace",
            transit=TransitNetworkSpec(address_space="10.130.0.0/24"),
        ),
    )
