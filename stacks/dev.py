"""dev: public front end (to be fenced by IP access lists), private back end, nothing protected."""

from components.spec import EnvironmentSpec, NetworkSpec, Tier


def build() -> EnvironmentSpec:
    return EnvironmentSpec(
        name="dev",
        tier=Tier.DEV,
        region="westeurope",
        tags={"cost-center": "data-platform", "owner": "platform-team"},
        network=NetworkSpec(address_space="10.10.0.0/20"),
    )
