"""The hub that firewall egress goes through (issue 11 §3): an existing hub named by its ids, or one the toolkit creates.

An existing hub: its VNet id and address space (the address space is needed offline, to check that the next hop lies
inside the hub), its firewall policy id (the toolkit adds the workspace's rule collection group there) and, on the
egress section, the firewall's private IP. A created hub: its address space; the toolkit creates the hub VNet,
AzureFirewallSubnet, a Standard public IP, a firewall policy and a Standard Azure Firewall, and routes to the
firewall's own private IP. The cross-field rules (`rules._firewall_*`) check the next hop against the hub and the hub
against the workspace's ranges.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from components.planning.addresses import parse_network
from components.planning.firewall import ARM_FIREWALL_POLICY, ARM_VIRTUAL_NETWORK, MAX_FIREWALL_SUBNET_PREFIX
from components.spec.base import StrictModel, cidr_problem
from components.spec.errors import Problem, raise_problems

VNET_ID_FORM = "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<name>"
POLICY_ID_FORM = "/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Network/firewallPolicies/<name>"



class HubSpec(StrictModel):
    """The hub VNet with the Azure Firewall the workspace's default route points at."""

    # True: the toolkit creates the hub. False: an existing hub, named by vnet_id and firewall_policy_id.
    create: bool = False
    # The hub's address prefixes (an existing hub: as Azure has them; a created hub: exactly one range).
    address_space: tuple[str, ...] = ()
    vnet_id: str | None = None
    firewall_policy_id: str | None = None
    # A created hub's AzureFirewallSubnet: the first block of this size (Azure requires /26 or larger).
    firewall_subnet_prefix_length: int = Field(default=MAX_FIREWALL_SUBNET_PREFIX, ge=16, le=MAX_FIREWALL_SUBNET_PREFIX)
    # A created hub's firewall policy: threat intelligence alerts and denies known-malicious traffic.
    threat_intel_mode: Literal["Alert", "Deny"] = "Deny"

    @model_validator(mode="after")
    def _hub(self) -> HubSpec:
        problems: list[Problem] = []
        if not self.address_space:
            problems.append(Problem(("address_space",), "give the hub's address space (needed offline to check the next hop)"))
        for i, cidr in enumerate(self.address_space):
            if bad := cidr_problem(cidr):
                problems.append(Problem(("address_space", i), bad))
        if self.create:
            for field in ("vnet_id", "firewall_policy_id"):
                if getattr(self, field) is not None:
                    problems.append(Problem((field,), "the toolkit creates this hub (create: true); name an existing hub's "
                                                      "ids only with create: false"))
            if len(self.address_space) > 1:
                problems.append(Problem(("address_space",), "a hub the toolkit creates takes one range"))
            elif len(self.address_space) == 1 and not cidr_problem(self.address_space[0]):
                hub = parse_network(self.address_space[0])
                if hub.prefixlen > self.firewall_subnet_prefix_length:
                    problems.append(Problem(("address_space", 0),
                                            f"{hub} cannot hold AzureFirewallSubnet (/{self.firewall_subnet_prefix_length})"))
        else:
            if self.vnet_id is None:
                problems.append(Problem(("vnet_id",), f"an existing hub is named by its VNet id ({VNET_ID_FORM}); "
                                                      "or set create: true"))
            elif not ARM_VIRTUAL_NETWORK.fullmatch(self.vnet_id):
                problems.append(Problem(("vnet_id",), f"not a virtual network resource id ({VNET_ID_FORM})"))
            if self.firewall_policy_id is None:
                problems.append(Problem(("firewall_policy_id",), "the workspace's rule collection group goes into the hub "
                                                                 f"firewall's policy: give its id ({POLICY_ID_FORM})"))
            elif not ARM_FIREWALL_POLICY.fullmatch(self.firewall_policy_id):
                problems.append(Problem(("firewall_policy_id",), f"not a firewall policy resource id ({POLICY_ID_FORM})"))
        if problems:
            raise_problems(problems)
        return self
