"""The policy pack's Bastion rules (policies/brickwall_rules/bastion.py) over a Bastion-enabled plan: the clean plan
passes every rule, and each insecure mutation is caught by the rule meant for it."""

from __future__ import annotations

import copy

import pytest

from brickwall import check, planfile
from brickwall.engine import Recording
from components.spec import EnvironmentSpec
from tests.policy_cases import POLICIES, Mutations, Plan, check_mutation, inputs

Env = tuple[Recording, EnvironmentSpec]
NIC, VM, HOST = "staging-engineer-access-jump-nic", "staging-engineer-access-jump-vm", "staging-engineer-access-bastion"
HTTPS_IN = "staging-engineer-access-bastion-nsg-allow-https-inbound"


@pytest.fixture(scope="module")
def bastion_plan(bastion_env: Env) -> Plan:
    return planfile.to_plan(bastion_env[0])


def _nic_public_ip(plan: Plan) -> None:
    inputs(plan, NIC)["ipConfigurations"][0]["publicIPAddress"] = {"id": "/subscriptions/x/resourceGroups/rg/providers/"
                                                                          "Microsoft.Network/publicIPAddresses/pip-jump"}


def _jump_nsg_on_bastion_subnet(plan: Plan) -> None:
    jump = inputs(plan, "staging-engineer-access-jump-subnet")
    bastion = inputs(plan, "staging-engineer-access-bastion-subnet")
    jump["networkSecurityGroup"] = copy.deepcopy(bastion["networkSecurityGroup"])


MUTATIONS: Mutations = {
    "nic-public-ip": ("nic-no-public-ip", _nic_public_ip, "public IP"),
    "vm-password-auth": ("vm-password-authentication-disabled",
                         lambda p: inputs(p, VM)["osProfile"]["linuxConfiguration"].update(disablePasswordAuthentication=False),
                         "allows password"),
    "vm-password-unset": ("vm-password-authentication-disabled",
                          lambda p: inputs(p, VM)["osProfile"]["linuxConfiguration"].pop("disablePasswordAuthentication"),
                          "allows password"),
    "vm-admin-password": ("vm-password-authentication-disabled",
                          lambda p: inputs(p, VM)["osProfile"].update(adminPassword="[secret]"), "admin password"),
    "vm-windows": ("vm-password-authentication-disabled",
                   lambda p: inputs(p, VM)["osProfile"].update(linuxConfiguration=None, windowsConfiguration={}), "not a Linux"),
    "bastion-shareable-link": ("bastion-no-shareable-links-or-ip-connect",
                               lambda p: inputs(p, HOST).update(enableShareableLink=True), "shareable links"),
    "bastion-ip-connect": ("bastion-no-shareable-links-or-ip-connect",
                           lambda p: inputs(p, HOST).update(enableIpConnect=True), "IP connect"),
    "bastion-no-tunnelling": ("bastion-no-shareable-links-or-ip-connect",
                              lambda p: inputs(p, HOST).update(enableTunneling=False), "tunnelling"),
    "bastion-nsg-on-jump-subnet": ("bastion-nsg-only-on-bastion-subnet", _jump_nsg_on_bastion_subnet, "snet-jump-host"),
    "https-rule-on-other-nsg": ("nsg-no-internet-inbound",
                                lambda p: inputs(p, HTTPS_IN).update(networkSecurityGroupName="nsg-bw-staging-weu-jump"),
                                "443 (HTTPS)"),
    "bastion-rule-opens-ssh": ("nsg-no-internet-inbound",
                               lambda p: inputs(p, HTTPS_IN).update(destinationPortRange="22"), "22 (SSH)"),
    "bastion-rule-any-source": ("nsg-no-internet-inbound",
                                lambda p: inputs(p, HTTPS_IN).update(sourceAddressPrefix="*"), "443 (HTTPS)"),
}


def test_the_bastion_plan_passes_every_rule(bastion_env: Env) -> None:
    result = check.check_recording(bastion_env[0], POLICIES)
    assert result.mandatory == [] and result.violations == [], check.render(result)


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_insecure_bastion_mutation_is_caught(case: str, bastion_plan: Plan) -> None:
    result = check_mutation(bastion_plan, MUTATIONS, case, stack=None)
    assert not result.ok


def test_every_bastion_rule_has_a_mutation() -> None:
    import brickwall_rules.bastion

    assert {p.name for p in brickwall_rules.bastion.RULES} <= {expected for expected, _, _ in MUTATIONS.values()}


def test_the_exemption_is_exactly_bastions_https_rule() -> None:
    from brickwall_rules.bastion import is_bastion_https_rule

    rule = {"direction": "Inbound", "access": "Allow", "protocol": "Tcp", "sourceAddressPrefix": "Internet",
            "destinationPortRange": "443", "networkSecurityGroupName": "nsg-bw-pr-1-weu-bastion"}
    assert is_bastion_https_rule(rule)
    for change in ({"protocol": "*"}, {"destinationPortRange": "443-444"}, {"destinationPortRanges": ["22"]},
                   {"sourceAddressPrefixes": ["0.0.0.0/0"]}, {"networkSecurityGroupName": "nsg-bw-pr-1-weu-pe"},
                   {"direction": "Outbound"}):
        assert not is_bastion_https_rule({**rule, **change}), change
