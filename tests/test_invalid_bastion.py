"""Invalid Bastion specs are rejected with every problem at its dotted field path (the style of test_invalid_specs)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.spec import EnvironmentSpec
from tests.spec_cases import base, problems_of

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ3yAUTC+VUIdFdfZL7BE2hSF32YFtZmThSfzNE4ED9z brickwall-jump-host-no-private-key"
GROUP = "d2c4e6f8-1a3b-4c5d-8e7f-9a0b1c2d3e40"
RSA_1024 = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC2eWREWksmq/IXfoKRt6TXZcNeAuDPh2TkzoYI73XF5TthMxybOA1km/1S/pizJvHXgkFYBI7UC"
            "OWlIa1MW2v8W9ok1Oge4qwOd1k7PpSInmAB4PL3fpkC+QxByPDsO33QY4H7QjU4EWlICKF3tlUOcMhhPV6BP80xLq2P3VWOoQ== test")


def _with_bastion(stack: str, **bastion: Any) -> dict[str, Any]:
    data = base(stack)
    data["bastion"].update(bastion)
    return data


def _staging(**bastion: Any) -> dict[str, Any]:
    return _with_bastion("staging", **bastion)


def problems(data: dict[str, Any]) -> dict[str, str]:
    return {p.dotted: p.reason for p in problems_of(data)}


def _with_transit(data: dict[str, Any], **transit: Any) -> dict[str, Any]:
    data["private_link"]["transit"].update(transit)
    return data


CASES: dict[str, tuple[dict[str, Any], dict[str, str]]] = {
    # id: (spec, {dotted path: reason fragment}) — the reported paths must equal these exactly
    "no-transit-vnet": (_with_bastion("dev", enabled=True, admin_ssh_public_key=KEY, entra_login_group_object_id=GROUP),
                        {"bastion.enabled": "private_link.transit.address_space"}),
    "existing-transit-vnet": (
        _with_transit(_staging(enabled=True), address_space=None,
                      existing_vnet_id="/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub/providers/"
                                       "Microsoft.Network/virtualNetworks/vnet-hub",
                      existing_subnet_id="/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-hub/providers/"
                                         "Microsoft.Network/virtualNetworks/vnet-hub/subnets/snet-pe"),
        {"bastion.enabled": "transit VNet the toolkit creates"}),
    "transit-too-small": (_with_transit(_staging(enabled=True), address_space="10.120.0.0/26"),
                          {"private_link.transit.address_space": "cannot hold"}),
    "transit-full-of-endpoints": (_with_transit(_staging(enabled=True), private_endpoint_prefix_length=24),
                                  {"private_link.transit.address_space": "AzureBastionSubnet (/26)"}),
    "missing-group": (_staging(enabled=True, entra_login_group_object_id=None),
                      {"bastion.entra_login_group_object_id": "Virtual Machine User Login"}),
    "missing-key": (_staging(enabled=True, admin_ssh_public_key=None), {"bastion.admin_ssh_public_key": "SSH public key"}),
    "developer-sku": (_staging(enabled=True, sku="Developer"), {"bastion.sku": "native client"}),
    "basic-sku": (_staging(sku="Basic"), {"bastion.sku": "Standard and Premium"}),
    "bastion-subnet-too-small": (_staging(subnet_prefix_length=27), {"bastion.subnet_prefix_length": "/26 or larger"}),
    "jump-subnet-too-small": (_staging(jump_host_subnet_prefix_length=30), {"bastion.jump_host_subnet_prefix_length": "less than"}),
    "private-key": (_staging(admin_ssh_public_key="-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn...\n"),
                    {"bastion.admin_ssh_public_key": "private key"}),
    "not-a-key": (_staging(admin_ssh_public_key="hello world"), {"bastion.admin_ssh_public_key": "not an OpenSSH public key"}),
    "mislabelled-key": (_staging(admin_ssh_public_key="ssh-rsa " + KEY.split()[1]), {"bastion.admin_ssh_public_key": "labelled"}),
    "weak-rsa-key": (_staging(admin_ssh_public_key=RSA_1024), {"bastion.admin_ssh_public_key": "1024 bits"}),
    "bad-group": (_staging(entra_login_group_object_id="engineers"), {"bastion.entra_login_group_object_id": "GUID"}),
    "root-admin": (_staging(admin_username="root"), {"bastion.admin_username": "refuses"}),
    "bad-size": (_staging(jump_host_size="B2s"), {"bastion.jump_host_size": "VM size"}),
    "unknown-image": (_staging(image="windows-2022"), {"bastion.image": "supported"}),
    "unknown-field": (_staging(public_ip=True), {"bastion.public_ip": "unknown field"}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_bastion_spec_is_reported_at_its_path(case: str) -> None:
    data, expected = CASES[case]
    found = problems(copy.deepcopy(data))
    assert set(found) == set(expected), found
    for path, fragment in expected.items():
        assert fragment in found[path], (path, found[path])


def test_a_stamped_environment_without_sign_in_inputs_says_why_bastion_is_on() -> None:
    data = _staging(entra_login_group_object_id=None)
    data["stamping"] = {"pool": None, "reserved": [], "ttl_hours": 72, "ephemeral": True}
    data["tags"]["expires-at"] = "2026-11-26T12:00:00Z"
    found = problems(data)
    assert set(found) == {"bastion.entra_login_group_object_id"}
    assert "stamped test environment turns Bastion on by default" in found["bastion.entra_login_group_object_id"]


def test_a_bad_bastion_section_does_not_hide_other_problems() -> None:
    data = _staging(sku="Developer")
    data["workspace"]["public_network_access"] = "Enabled"
    assert {"bastion.sku", "workspace.public_network_access"} <= set(problems(data))


def test_the_valid_variants_pass() -> None:
    spec = EnvironmentSpec.model_validate(_staging(enabled=True, sku="Premium", subnet_prefix_length=25,
                                                   admin_ssh_public_key=KEY + "\n"))
    assert spec.bastion.enabled and spec.bastion.admin_ssh_public_key == KEY
    # prod may ask for it (its /24 transit holds /27 endpoints, /26 Bastion and /28 jump host)
    prod = base("prod")
    prod["bastion"] = {"enabled": True, "admin_ssh_public_key": KEY, "entra_login_group_object_id": GROUP}
    assert EnvironmentSpec.model_validate(prod).bastion.enabled
