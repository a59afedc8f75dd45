"""Invalid firewall egress (issue 11 §3): a hub or peering reference that is not a valid resource id, a next hop no
peered network holds, a missing hub, a hub that collides with the workspace's ranges. Every problem at its dotted path,
all at once, and the program registers nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.spec_cases import DELETE, Case, case_params, check_file_loader, check_program_registers_nothing, check_reported

SUB = "/subscriptions/3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a/resourceGroups/rg-connectivity-hub-weu/providers/Microsoft.Network"
HUB = "network.egress.hub"
IP = "network.egress.firewall_private_ip"


def created(address_space: str = "10.140.0.0/24", **more: Any) -> dict[str, Any]:
    """Changes turning staging's NAT-gateway egress into a firewall in a hub the toolkit creates."""
    return {"network.egress.mode": "firewall", HUB: {"create": True, "address_space": [address_space], **more}}


CASES: list[Case] = [
    # --- the hub a mode needs, and only then --------------------------------------------------------------------
    Case("firewall-without-hub", "prod", {HUB: None}, ((HUB, "needs the hub its firewall lives in"),), program=True),
    Case("firewall-without-hub-or-ip", "prod", {HUB: None, IP: None},
         ((HUB, "needs the hub"), (IP, "needs the firewall's private IP"))),
    Case("hub-with-nat-gateway", "dev", {HUB: {"create": True, "address_space": ["10.140.0.0/24"]}},
         ((HUB, "only used with mode 'firewall'"),)),
    # --- references that are not resource ids ----------------------------------------------------------------------
    Case("hub-vnet-id-not-a-resource-id", "prod", {f"{HUB}.vnet_id": "vnet-hub-weu"},
         ((f"{HUB}.vnet_id", "not a virtual network resource id"),)),
    Case("hub-vnet-id-is-a-subnet", "prod", {f"{HUB}.vnet_id": f"{SUB}/virtualNetworks/vnet-hub-weu/subnets/AzureFirewallSubnet"},
         ((f"{HUB}.vnet_id", "not a virtual network resource id"),)),
    Case("hub-vnet-id-without-guid", "prod",
         {f"{HUB}.vnet_id": "/subscriptions/connectivity/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet-hub"},
         ((f"{HUB}.vnet_id", "not a virtual network resource id"),)),
    Case("firewall-policy-id-is-a-firewall", "prod", {f"{HUB}.firewall_policy_id": f"{SUB}/azureFirewalls/afw-hub-weu"},
         ((f"{HUB}.firewall_policy_id", "not a firewall policy resource id"),)),
    Case("existing-hub-without-ids", "prod", {f"{HUB}.vnet_id": DELETE, f"{HUB}.firewall_policy_id": DELETE},
         ((f"{HUB}.vnet_id", "named by its VNet id"), (f"{HUB}.firewall_policy_id", "give its id"))),
    Case("existing-hub-without-address-space", "prod", {f"{HUB}.address_space": []},
         ((f"{HUB}.address_space", "needed offline to check the next hop"),)),
    Case("hub-address-space-malformed", "prod", {f"{HUB}.address_space": ["10.0.0.0/22", "10.0.4.1/24"]},
         ((f"{HUB}.address_space.1", "host bits set"),)),
    # --- the next hop ---------------------------------------------------------------------------------------------
    Case("firewall-ip-outside-hub", "prod", {IP: "10.0.8.4"},
         ((IP, "outside the hub's address space (10.0.0.0/22): no peered network holds this next hop"),), program=True),
    Case("firewall-ip-is-hub-broadcast", "prod", {IP: "10.0.3.255"}, ((IP, "network or broadcast address"),)),
    Case("firewall-ip-inside-workspace-vnet", "prod", {IP: "10.30.20.4"}, ((IP, "outside the hub's address space"),)),
    Case("created-hub-with-ip", "staging", {**created(), IP: "10.140.0.4"},
         ((IP, "leave firewall_private_ip out"),)),
    Case("existing-hub-without-ip", "prod", {IP: None}, ((IP, "needs the firewall's private IP"),)),
    # --- a created hub -------------------------------------------------------------------------------------------------
    Case("created-hub-with-ids", "staging", created(vnet_id=f"{SUB}/virtualNetworks/vnet-hub-weu"),
         ((f"{HUB}.vnet_id", "the toolkit creates this hub"),)),
    Case("created-hub-two-ranges", "staging", {"network.egress.mode": "firewall",
                                                HUB: {"create": True, "address_space": ["10.140.0.0/24", "10.141.0.0/24"]}},
         ((f"{HUB}.address_space", "takes one range"),)),
    Case("created-hub-too-small", "staging", created("10.140.0.0/27"),
         ((f"{HUB}.address_space.0", "cannot hold AzureFirewallSubnet (/26)"),)),
    Case("firewall-subnet-below-26", "staging", created(firewall_subnet_prefix_length=27),
         ((f"{HUB}.firewall_subnet_prefix_length", "less than or equal to 26"),)),
    # --- ranges -------------------------------------------------------------------------------------------------
    Case("hub-overlaps-workspace-vnet", "staging", created("10.20.0.0/24"),
         ((f"{HUB}.address_space.0", "overlaps the workspace VNet 10.20.0.0/20"),)),
    Case("hub-overlaps-transit", "staging", created("10.120.0.0/24"),
         ((f"{HUB}.address_space.0", "overlaps the transit VNet 10.120.0.0/24"),)),
    Case("hub-overlaps-stamping-pool", "staging", created("10.70.0.0/24"),
         ((f"{HUB}.address_space.0", "overlaps the stamping pool 10.64.0.0/12"),)),
    Case("existing-hub-overlaps-workspace", "prod", {f"{HUB}.address_space": ["10.0.0.0/22", "10.30.0.0/24"]},
         ((f"{HUB}.address_space.1", "overlaps the workspace VNet 10.30.0.0/19"),)),
    Case("firewall-in-region-without-endpoints", "staging", {**created(), "region": "northeurope"},
         (("network.egress.mode", "has for westeurope only, not northeurope"),)),
    # --- everything at once -----------------------------------------------------------------------------------------
    Case("every-hub-problem-at-once", "prod",
         {f"{HUB}.vnet_id": "vnet-hub", f"{HUB}.firewall_policy_id": "afwp-hub",
          f"{HUB}.address_space": ["10.0.0.0/22", "10.30.0.0/24"], IP: "10.8.0.4", "network.subnets.bogus": 1},
         ((f"{HUB}.vnet_id", "not a virtual network resource id"),
          (f"{HUB}.firewall_policy_id", "not a firewall policy resource id"),
          (f"{HUB}.address_space.1", "overlaps the workspace VNet"),
          (IP, "outside the hub's address space"),
          ("network.subnets.bogus", "unknown field")),
         program=True),
]
PROGRAM_CASES = [c for c in CASES if c.program]


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_firewall_egress_reports_every_problem_at_its_path(case: Case) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_invalid_firewall_egress_is_rejected_by_the_file_loader(case: Case, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_invalid_firewall_egress(case: Case, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, case.base)
