"""Invalid specs are rejected with every problem at its dotted field path, and nothing is ever registered.

Each case starts from a valid base (a stack's own spec dumped to JSON, or a minimal literal dict), changes a
few fields and lists the problems it must produce as (dotted path, reason fragment). The set of reported
paths must equal the expected set exactly, so a missing problem and a spurious extra one both fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import stacks
from components.spec import EnvironmentSpec
from tests.spec_cases import (
    DELETE,
    Case,
    base,
    case_params,
    check_file_loader,
    check_program_registers_nothing,
    check_reported,
    mutate,
    problems_of,
)

HUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub/providers/Microsoft.Network"
HUB_VNET = f"{HUB}/virtualNetworks/vnet-hub"
HUB_SUBNET = f"{HUB_VNET}/subnets/snet-endpoints"
OTHER_VNET_SUBNET = f"{HUB}/virtualNetworks/vnet-other/subnets/snet-endpoints"
NOT_A_GUID_VNET = HUB_VNET.replace("11111111-2222-3333-4444-555555555555", "not-a-guid")

CASES: list[Case] = [
    # --- CIDR syntax ---------------------------------------------------------------------------------------
    Case("address-space-not-a-cidr", "dev", {"network.address_space": "10.0.0/20"},
         (("network.address_space", "not an IPv4 CIDR"),)),
    Case("address-space-host-bits-set", "dev", {"network.address_space": "10.10.0.1/20"},
         (("network.address_space", "host bits set"),), program=True, fmt="yaml"),
    Case("host-cidr-bad-netmask", "dev", {"network.subnets.host_cidr": "10.10.0.0/33"},
         (("network.subnets.host_cidr", "not a valid netmask"),)),
    Case("container-cidr-host-bits-set", "dev", {"network.subnets.container_cidr": "10.10.4.1/22"},
         (("network.subnets.container_cidr", "host bits set"),)),
    Case("endpoint-cidr-not-a-cidr", "dev", {"network.subnets.private_endpoint_cidr": "endpoints"},
         (("network.subnets.private_endpoint_cidr", "not an IPv4 CIDR"),)),
    Case("address-space-ipv6", "min-dev", {"network.address_space": "fd00:db::/48"},
         (("network.address_space", "not an IPv4 CIDR"),)),
    # --- VNet size ------------------------------------------------------------------------------------------
    Case("vnet-smaller-than-24", "dev", {"network.address_space": "10.10.0.0/25"},
         (("network.address_space", "between /16 and /24"),), program=True, fmt="json"),
    Case("vnet-larger-than-16", "dev", {"network.address_space": "10.0.0.0/15"},
         (("network.address_space", "between /16 and /24"),)),
    # --- subnet placement -----------------------------------------------------------------------------------
    Case("host-cidr-outside-vnet", "dev", {"network.subnets.host_cidr": "10.99.0.0/22"},
         (("network.subnets.host_cidr", "not inside the VNet range 10.10.0.0/20"),)),
    Case("explicit-subnets-overlap", "dev",
         {"network.subnets.host_cidr": "10.10.0.0/22", "network.subnets.container_cidr": "10.10.2.0/23"},
         (("network.subnets.container_cidr", "overlaps subnet 'host'"),)),
    Case("endpoint-cidr-overlaps-container", "dev",
         {"network.subnets.container_cidr": "10.10.4.0/22", "network.subnets.private_endpoint_cidr": "10.10.5.0/27"},
         (("network.subnets.private_endpoint_cidr", "overlaps subnet 'container'"),)),
    # --- workspace subnet sizes: /18 to /26 -----------------------------------------------------------------
    Case("host-prefix-27", "dev", {"network.subnets.host_prefix_length": 27},
         (("network.subnets.host_prefix_length", "at most 59 cluster nodes"),)),
    Case("container-prefix-17", "min-dev", {"network.address_space": "10.0.0.0/16", "network.subnets.container_prefix_length": 17},
         (("network.subnets.container_prefix_length", "between /18 and /26"),
          ("network.subnets.container_prefix_length", "at most 59 cluster nodes"))),
    Case("host-cidr-27", "dev", {"network.subnets.host_cidr": "10.10.0.0/27"},
         (("network.subnets.host_cidr", "at most 59 cluster nodes"),)),
    Case("endpoint-prefix-30", "dev", {"network.subnets.private_endpoint_prefix_length": 30},
         (("network.subnets.private_endpoint_prefix_length", "between /24 and /29"),)),
    # --- room in the VNet ------------------------------------------------------------------------------------
    Case("no-room-for-endpoint-subnet", "dev", {"network.address_space": "10.10.0.0/21"},
         (("network.subnets.private_endpoint_prefix_length", "no free /27 left in 10.10.0.0/21"),)),
    Case("aks-reservation-leaves-no-room", "dev", {"network.subnets.aks_prefix_length": 21},
         (("network.subnets.private_endpoint_prefix_length", "aks=10.10.0.0/21"),)),
    Case("aks-prefix-29", "dev", {"network.subnets.aks_prefix_length": 29},
         (("network.subnets.aks_prefix_length", "/16 to /28"),)),
    Case("aks-prefix-15", "staging", {"network.subnets.aks_prefix_length": 15},
         (("network.subnets.aks_prefix_length", "/16 to /28"),)),
    # --- region, environment name, naming ---------------------------------------------------------------------
    Case("unknown-region-typo", "dev", {"region": "westeurop"},
         (("region", "unknown Azure Databricks region 'westeurop'"), ("region", "westeurope"))),
    Case("unknown-region", "min-dev", {"region": "moon-base-1"},
         (("region", "unknown Azure Databricks region"),)),
    Case("env-name-uppercase", "dev", {"name": "Dev"}, (("name", "lowercase"),)),
    Case("env-name-too-long", "dev", {"name": "abcdefghijklm"}, (("name", "2-12"),)),
    Case("env-name-double-hyphen", "dev", {"name": "dev--eu"}, (("name", "single hyphens"),)),
    Case("naming-prefix-starts-with-digit", "dev", {"naming.prefix": "1bw"},
         (("naming.prefix", "starting with a letter"),)),
    Case("naming-prefix-too-long", "dev", {"naming.prefix": "abcdefg"}, (("naming.prefix", "2-6"),)),
    Case("unique-suffix-uppercase", "dev", {"naming.unique_suffix": "AB"}, (("naming.unique_suffix", "3-6 lowercase"),)),
    # st + prefix(6) + name(12) + region code(4) + hash(4) = 28 characters: a storage account allows 24.
    Case("storage-account-name-too-long", "dev",
         {"naming.prefix": "abcdef", "name": "abcdefghijkl", "region": "australiacentral2"},
         (("naming", "storage account name 'stabcdefabcdefghijklauc2"), ("naming", "Azure allows 3-24")),
         program=True, fmt="json"),
    Case("storage-account-name-too-long-with-suffix", "prod",
         {"naming.prefix": "platfm", "name": "analytics-eu", "naming.unique_suffix": "zz9999"},
         (("naming", "Azure allows 3-24"), ("naming", "workspace storage account"))),
    # --- unknown fields (extra="forbid" everywhere) -----------------------------------------------------------
    Case("unknown-top-level-field", "dev", {"colour": "blue"}, (("colour", "unknown field"),)),
    Case("unknown-nested-field", "dev", {"workspace.enable_magic": True},
         (("workspace.enable_magic", "unknown field"),), program=True, fmt="yaml"),
    Case("unknown-deep-field", "prod", {"private_link.transit.vnet_name": "vnet-hub"},
         (("private_link.transit.vnet_name", "unknown field"),)),
    Case("misspelt-egress-field", "dev", {"network.egress.idle_timeout": 10},
         (("network.egress.idle_timeout", "unknown field"),)),
    # --- wrong types and values ------------------------------------------------------------------------------
    Case("prefix-length-not-int", "dev", {"network.subnets.host_prefix_length": "big"},
         (("network.subnets.host_prefix_length", "valid integer"),)),
    Case("protect-data-not-bool", "dev", {"protection.protect_data": "maybe"},
         (("protection.protect_data", "valid boolean"),)),
    Case("tags-not-a-mapping", "dev", {"tags": ["owner"]}, (("tags", "valid dictionary"),)),
    Case("tag-value-not-string", "dev", {"tags": {"owner": 7}}, (("tags.owner", "valid string"),)),
    Case("unknown-tier", "dev", {"tier": "qa"}, (("tier", "'dev', 'staging' or 'prod'"),)),
    Case("unknown-sku", "dev", {"workspace.sku": "standard"}, (("workspace.sku", "'premium'"),)),
    Case("network-not-a-mapping", "prod", {"network": "10.30.0.0/19"}, (("network", "valid dictionary"),)),
    Case("name-missing", "dev", {"name": DELETE}, (("name", "Field required"),)),
    Case("address-space-missing", "prod", {"network.address_space": DELETE},
         (("network.address_space", "Field required"),)),
    # --- tier floors ------------------------------------------------------------------------------------------
    Case("staging-public-access-enabled", "staging", {"workspace.public_network_access": "Enabled"},
         (("workspace.public_network_access", "staging requires public network access Disabled"),),
         program=True, fmt="json"),
    Case("prod-public-access-enabled", "prod", {"workspace.public_network_access": "Enabled"},
         (("workspace.public_network_access", "prod requires public network access Disabled"),)),
    Case("staging-no-backend", "staging", {"private_link.backend": False},
         (("private_link.backend", "staging requires back-end private link"),
          ("private_link.backend", "NoAzureDatabricksRules"),
          ("private_link.workspace_storage", "enable private_link.backend"),
          ("access.ip_access.compute_plane_egress", "clusters cannot start"))),
    Case("prod-no-frontend", "prod", {"private_link.frontend": False},
         (("private_link.frontend", "prod requires front-end private link"),
          ("private_link.frontend", "nobody can reach the workspace"),
          ("private_link.browser_authentication", "enable private_link.frontend"))),
    Case("prod-browser-auth-none", "prod", {"private_link.browser_authentication": "none"},
         (("private_link.browser_authentication", "prod requires a browser-authentication endpoint"),
          ("private_link.browser_authentication", "SSO logins fail"))),
    Case("staging-protect-data-false", "staging", {"protection.protect_data": False},
         (("protection.protect_data", "staging requires protection"),)),
    Case("prod-protect-data-false", "min-prod", {"protection.protect_data": False},
         (("protection.protect_data", "prod requires protection"),)),
    Case("dev-no-public-ip-false", "dev", {"workspace.no_public_ip": False},
         (("workspace.no_public_ip", "never turned off, in any tier"),)),
    Case("prod-no-public-ip-false", "prod", {"workspace.no_public_ip": False},
         (("workspace.no_public_ip", "never turned off, in any tier"),)),
    # --- cross-field rules -------------------------------------------------------------------------------------
    Case("nsg-rules-without-backend", "dev", {"private_link.backend": False},
         (("private_link.backend", "NoAzureDatabricksRules needs a back-end private endpoint"),
          ("access.ip_access.compute_plane_egress", "clusters cannot start"))),
    Case("disabled-access-with-all-rules", "dev",
         {"workspace.public_network_access": "Disabled", "workspace.required_nsg_rules": "AllRules",
          "private_link.frontend": True, "private_link.browser_authentication": "this_workspace",
          "private_link.transit": {"address_space": "10.110.0.0/24"}},
         (("workspace.required_nsg_rules", "Azure rejects AllRules"),)),
    Case("browser-auth-without-frontend", "dev",
         {"private_link.browser_authentication": "this_workspace", "private_link.transit": {"address_space": "10.110.0.0/24"}},
         (("private_link.browser_authentication", "enable private_link.frontend too"),)),
    Case("frontend-without-transit", "dev", {"private_link.frontend": True},
         (("private_link.transit", "transit VNet"),)),
    Case("storage-firewall-without-storage-endpoints", "dev", {"workspace.default_storage_firewall": True},
         (("workspace.default_storage_firewall", "needs private_link.workspace_storage"),)),
    Case("workspace-storage-without-backend", "dev",
         {"private_link.workspace_storage": True, "private_link.backend": False, "workspace.required_nsg_rules": "AllRules"},
         (("private_link.workspace_storage", "enable private_link.backend"),
          ("access.ip_access.compute_plane_egress", "clusters cannot start"))),
    Case("transit-overlaps-workspace-vnet", "prod", {"private_link.transit.address_space": "10.30.16.0/24"},
         (("private_link.transit.address_space", "overlaps the workspace VNet 10.30.0.0/19"),), program=True, fmt="yaml"),
    Case("transit-too-small-for-endpoints", "prod", {"private_link.transit.address_space": "10.130.0.0/28"},
         (("private_link.transit.address_space", "cannot hold a /27 endpoint subnet"),)),
    Case("transit-address-space-not-a-cidr", "prod", {"private_link.transit.address_space": "10.130.0.256/24"},
         (("private_link.transit.address_space", "not an IPv4 CIDR"),)),
    Case("transit-address-space-and-existing-ids", "prod",
         {"private_link.transit.existing_vnet_id": HUB_VNET, "private_link.transit.existing_subnet_id": HUB_SUBNET},
         (("private_link.transit.address_space", "not both"),)),
    Case("transit-without-any-source", "prod", {"private_link.transit.address_space": None},
         (("private_link.transit.address_space", "give address_space"),)),
    Case("transit-existing-vnet-without-subnet", "prod",
         {"private_link.transit.address_space": None, "private_link.transit.existing_vnet_id": HUB_VNET},
         (("private_link.transit.address_space", "both existing_vnet_id and existing_subnet_id"),)),
    Case("existing-vnet-id-malformed", "prod",
         {"private_link.transit.address_space": None, "private_link.transit.existing_vnet_id": f"{HUB}/vnets/vnet-hub",
          "private_link.transit.existing_subnet_id": f"{HUB}/vnets/vnet-hub/subnets/snet-endpoints"},
         (("private_link.transit.existing_vnet_id", "not a virtual network resource id"),
          ("private_link.transit.existing_subnet_id", "not a subnet resource id"))),
    Case("existing-vnet-id-subscription-not-guid", "prod",
         {"private_link.transit.address_space": None, "private_link.transit.existing_vnet_id": NOT_A_GUID_VNET,
          "private_link.transit.existing_subnet_id": f"{NOT_A_GUID_VNET}/subnets/snet-endpoints"},
         (("private_link.transit.existing_vnet_id", "not a virtual network resource id"),
          ("private_link.transit.existing_subnet_id", "not a subnet resource id"))),
    Case("existing-subnet-id-is-a-vnet-id", "prod",
         {"private_link.transit.address_space": None, "private_link.transit.existing_vnet_id": HUB_VNET,
          "private_link.transit.existing_subnet_id": HUB_VNET},
         (("private_link.transit.existing_subnet_id", "not a subnet resource id"),)),
    Case("existing-subnet-not-under-vnet", "prod",
         {"private_link.transit.address_space": None, "private_link.transit.existing_vnet_id": HUB_VNET,
          "private_link.transit.existing_subnet_id": OTHER_VNET_SUBNET},
         (("private_link.transit.existing_subnet_id", "is not a subnet of existing_vnet_id"),)),
    Case("dns-link-vnet-id-malformed", "prod", {"private_link.transit.dns_link_vnet_ids": [HUB_VNET, "vnet-spoke"]},
         (("private_link.transit.dns_link_vnet_ids.1", "not a virtual network resource id"),)),
    # --- egress -----------------------------------------------------------------------------------------------
    Case("firewall-mode-without-ip", "prod", {"network.egress.firewall_private_ip": None},
         (("network.egress.firewall_private_ip", "needs the firewall's private IP"),)),
    Case("firewall-ip-not-private", "prod", {"network.egress.firewall_private_ip": "8.8.8.8"},
         (("network.egress.firewall_private_ip", "8.8.8.8 is not a private address"),), program=True, fmt="json"),
    Case("firewall-ip-not-an-address", "prod", {"network.egress.firewall_private_ip": "10.0.1"},
         (("network.egress.firewall_private_ip", "not an IPv4 address"),)),
    Case("firewall-ip-inside-host-subnet", "prod", {"network.egress.firewall_private_ip": "10.30.0.10"},
         (("network.egress.firewall_private_ip", "inside the host subnet 10.30.0.0/21"),)),
    Case("firewall-ip-inside-container-subnet", "prod", {"network.egress.firewall_private_ip": "10.30.8.4"},
         (("network.egress.firewall_private_ip", "inside the container subnet 10.30.8.0/21"),)),
    Case("firewall-ip-with-nat-gateway", "dev", {"network.egress.firewall_private_ip": "10.0.1.4"},
         (("network.egress.firewall_private_ip", "only used with mode 'firewall'"),)),
    Case("unknown-egress-mode", "dev", {"network.egress.mode": "proxy"},
         (("network.egress.mode", "'nat_gateway' or 'firewall'"),)),
    Case("nat-idle-timeout-below-4", "dev", {"network.egress.nat_idle_timeout_minutes": 3},
         (("network.egress.nat_idle_timeout_minutes", "greater than or equal to 4"),)),
    Case("nat-idle-timeout-above-120", "dev", {"network.egress.nat_idle_timeout_minutes": 121},
         (("network.egress.nat_idle_timeout_minutes", "less than or equal to 120"),)),
    # --- tags ---------------------------------------------------------------------------------------------------
    Case("tag-key-forbidden-character", "dev", {"tags": {"team/owner": "platform"}},
         (("tags", "key 'team/owner' must be 1-512 characters"),)),
    Case("tag-key-empty", "dev", {"tags": {"": "platform"}}, (("tags", "key ''"),)),
    Case("tag-value-too-long", "dev", {"tags": {"owner": "x" * 257}}, (("tags", "longer than 256 characters"),)),
    Case("too-many-tags", "dev", {"tags": {f"k{i}": "v" for i in range(41)}}, (("tags", "41 tags; keep at most 40"),)),
    # --- several problems at once ----------------------------------------------------------------------------------
    Case("many-field-problems-across-sections", "dev",
         {"name": "Dev", "region": "mars", "naming.prefix": "1x", "network.subnets.bogus": 1,
          "tags": {"a<b": "c"}, "workspace.sku": "standard"},
         (("name", "lowercase"), ("region", "unknown Azure Databricks region 'mars'"),
          ("naming.prefix", "starting with a letter"), ("network.subnets.bogus", "unknown field"),
          ("tags", "key 'a<b'"), ("workspace.sku", "'premium'")),
         program=True, fmt="yaml"),
    Case("many-network-problems", "dev",
         {"network.address_space": "10.10.0.0/25", "network.subnets.host_cidr": "10.10.0.1/26",
          "network.subnets.container_prefix_length": 27, "network.subnets.aks_prefix_length": 29,
          "network.egress.firewall_private_ip": "10.0.1.4"},
         (("network.address_space", "between /16 and /24"), ("network.subnets.host_cidr", "host bits set"),
          ("network.subnets.container_prefix_length", "cluster nodes"),
          ("network.subnets.aks_prefix_length", "/16 to /28"),
          ("network.egress.firewall_private_ip", "only used with mode 'firewall'"))),
    Case("prod-below-every-floor", "prod",
         {"workspace.public_network_access": "Enabled", "workspace.no_public_ip": False,
          "private_link.backend": False, "protection.protect_data": False},
         (("workspace.public_network_access", "prod requires public network access Disabled"),
          ("workspace.no_public_ip", "never turned off"),
          ("private_link.backend", "prod requires back-end private link"),
          ("private_link.backend", "NoAzureDatabricksRules"),
          ("private_link.workspace_storage", "enable private_link.backend"),
          ("access.ip_access.compute_plane_egress", "clusters cannot start"),
          ("protection.protect_data", "prod requires protection"))),
    Case("dev-private-front-end-half-configured", "dev",
         {"workspace.public_network_access": "Disabled", "workspace.required_nsg_rules": "AllRules",
          "workspace.default_storage_firewall": True},
         (("workspace.required_nsg_rules", "Azure rejects AllRules"),
          ("private_link.frontend", "nobody can reach the workspace"),
          ("private_link.browser_authentication", "SSO logins fail"),
          ("workspace.default_storage_firewall", "needs private_link.workspace_storage"))),
    Case("transit-endpoint-prefix-30", "prod", {"private_link.transit.private_endpoint_prefix_length": 30},
         (("private_link.transit.private_endpoint_prefix_length", "less than or equal to 29"),)),
    Case("transit-source-and-dns-links-together", "prod",
         {"private_link.transit.address_space": None, "private_link.transit.dns_link_vnet_ids": ["hub", HUB_VNET, "spoke"]},
         (("private_link.transit.address_space", "give address_space"),
          ("private_link.transit.dns_link_vnet_ids.0", "not a virtual network resource id"),
          ("private_link.transit.dns_link_vnet_ids.2", "not a virtual network resource id"))),
]

PROGRAM_CASES = [c for c in CASES if c.program]


def test_case_ids_are_unique_and_numerous() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 30
    assert sum(len({p for p, _ in c.expected}) >= 3 for c in CASES) >= 3
    assert 6 <= len(PROGRAM_CASES) <= 8


@pytest.mark.parametrize("stack", stacks.KNOWN_STACKS)
def test_bases_are_valid(stack: str) -> None:
    """Every case mutates a valid base, so each problem comes from the mutation alone."""
    EnvironmentSpec.model_validate(base(stack))
    EnvironmentSpec.model_validate(base("min-dev"))
    EnvironmentSpec.model_validate(base("min-prod"))


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_spec_reports_every_problem_at_its_path(case: Case) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_spec_is_rejected_by_the_file_loader(case: Case, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_an_invalid_spec(case: Case, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, "dev")


# --- valid specs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", stacks.KNOWN_STACKS)
def test_valid_spec_round_trips_through_json(stack: str) -> None:
    spec = stacks.load(stack)
    again = EnvironmentSpec.model_validate(json.loads(spec.model_dump_json()))
    assert again == spec
    assert again.model_dump(mode="json") == spec.model_dump(mode="json")
    assert again.network.plan == spec.network.plan


@pytest.mark.parametrize("stack", stacks.KNOWN_STACKS)
def test_valid_spec_round_trips_through_yaml(stack: str, tmp_path: Path) -> None:
    spec = stacks.load(stack)
    text = yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)
    assert EnvironmentSpec.model_validate(yaml.safe_load(text)) == spec
    path = tmp_path / f"{stack}.yaml"
    path.write_text(text)
    assert stacks.load_file(path) == spec


def test_dev_tier_defaults_fill_unset_fields() -> None:
    spec = EnvironmentSpec.model_validate(base("min-dev"))
    assert spec.workspace.public_network_access == "Enabled"
    assert spec.protection.protect_data is False
    assert spec.private_link.frontend is False
    assert spec.private_link.browser_authentication == "none"
    assert spec.private_link.backend is True
    assert spec.workspace.default_storage_firewall is False
    assert spec.workspace.no_public_ip is True
    assert spec.network.egress.allow_internet_outbound is True


def test_prod_tier_defaults_are_the_strict_ones() -> None:
    spec = EnvironmentSpec.model_validate(base("min-prod"))
    assert spec.workspace.public_network_access == "Disabled"
    assert spec.protection.protect_data is True
    assert spec.private_link.frontend is True
    assert spec.private_link.browser_authentication == "this_workspace"
    assert spec.private_link.workspace_storage is True
    assert spec.workspace.default_storage_firewall is True
    assert spec.network.egress.allow_internet_outbound is False


def test_staging_defaults_differ_from_prod_only_in_outbound_internet() -> None:
    staging = EnvironmentSpec.model_validate(mutate(base("min-prod"), {"tier": "staging", "name": "staging"}))
    prod = EnvironmentSpec.model_validate(base("min-prod"))
    assert staging.network.egress.allow_internet_outbound is True
    assert staging.workspace == prod.workspace
    assert staging.private_link == prod.private_link
    assert staging.protection == prod.protection


def test_explicit_tighter_values_in_dev_are_kept() -> None:
    data = mutate(base("min-dev"), {
        "protection.protect_data": True,
        "network.egress.allow_internet_outbound": False,
        "workspace.public_network_access": "Disabled",
        "workspace.default_storage_firewall": True,
        "private_link.frontend": True,
        "private_link.browser_authentication": "this_workspace",
        "private_link.workspace_storage": True,
        "private_link.transit": {"address_space": "10.110.0.0/24"},
    })
    spec = EnvironmentSpec.model_validate(data)
    assert spec.protection.protect_data is True
    assert spec.network.egress.allow_internet_outbound is False
    assert spec.workspace.public_network_access == "Disabled"
    assert spec.workspace.default_storage_firewall is True
    assert spec.private_link.frontend is True
    assert spec.private_link.browser_authentication == "this_workspace"
    assert spec.private_link.workspace_storage is True


def test_explicit_tighter_value_set_through_models_is_kept() -> None:
    from components.spec import NetworkSpec, ProtectionSpec, Tier
    from components.spec.access import AccessSpec, IpAccessSpec

    spec = EnvironmentSpec(name="dev", tier=Tier.DEV, region="westeurope",
                           network=NetworkSpec(address_space="10.10.0.0/20"),
                           protection=ProtectionSpec(protect_data=True),
                           access=AccessSpec(ip_access=IpAccessSpec(break_glass=("52.174.20.0/28",), ci_egress=("20.61.88.16/28",))))
    assert spec.protection.protect_data is True
    assert spec.workspace.public_network_access == "Enabled"


def test_problems_inside_one_section_are_reported_together() -> None:
    """A stray field does not hide its section's other problems, nor the cross-field rules of valid sections."""
    data = {
        "name": "dev", "tier": "dev", "region": "westeurope",
        "network": {"address_space": "10.0.0.0/25", "bogus": 1,
                    "subnets": {"host_prefix_length": 27, "private_endpoint_cidr": "10.0.0.1/27"},
                    "egress": {"mode": "firewall", "firewall_private_ip": "8.8.8.8"}},
        "workspace": {"no_public_ip": False},
    }
    paths = {p.dotted for p in problems_of(data)}
    assert paths == {
        "network.address_space", "network.bogus", "network.subnets.host_prefix_length",
        "network.subnets.private_endpoint_cidr", "network.egress.firewall_private_ip", "workspace.no_public_ip",
        "access.ip_access.break_glass", "access.ip_access.ci_egress",
    }
