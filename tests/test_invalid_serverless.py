"""Invalid VNet encryption, serverless connectivity and metastore input is rejected with every problem at its dotted
field path, before anything is registered (the harness is tests/spec_cases.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.spec import EnvironmentSpec
from tests.spec_cases import AccessCase, base, case_params, check_file_loader, check_program_registers_nothing, check_reported, edit

ENC, NCC, UC = "network.vnet_encryption", "serverless.network_connectivity", "unity_catalog.metastore_id"
POLICY = "access.cluster_policies"
UNSUPPORTED = "not a VM series Azure Virtual Network encryption supports"
OTHER_REGION = "serves only workspaces of its own region"
NOT_A_METASTORE = "is not a metastore id: a UUID"

CASES: list[AccessCase] = [
    # --- VNet encryption and the VM sizes it covers ------------------------------------------------------------------
    AccessCase("prod-vnet-encryption-off", "prod", {f"{ENC}.enabled": False},
               ((f"{ENC}.enabled", "prod encrypts traffic between the workspace VNet's VMs"),), program=True),
    AccessCase("drop-unencrypted-not-yet-supported", "staging", {f"{ENC}.enforcement": "DropUnencrypted"},
               ((f"{ENC}.enforcement", "Azure supports only AllowUnencrypted at general availability"),)),
    AccessCase("enforcement-unknown", "prod", {f"{ENC}.enforcement": "Required"}, ((f"{ENC}.enforcement", "Input should be"),)),
    # Every unsupported size of a policy in one problem, each policy at its own path.
    AccessCase("prod-policies-with-unsupported-sizes", "prod",
               {f"{POLICY}.0.node_types": ["Standard_D4ds_v5", "Standard_DS3_v2", "Standard_F8s_v2"],
                f"{POLICY}.1.node_types": ["Standard_D4s_v3"]},
               ((f"{POLICY}.0.node_types", "Standard_DS3_v2, Standard_F8s_v2: " + UNSUPPORTED),
                (f"{POLICY}.1.node_types", "Standard_D4s_v3: " + UNSUPPORTED)), program=True, fmt="json"),
    AccessCase("prod-aks-pool-unsupported", "prod", {"ingress.aks.vm_size": "Standard_D4s_v3"},
               (("ingress.aks.vm_size", "Standard_D4s_v3: " + UNSUPPORTED),)),
    AccessCase("staging-keeps-encryption-on-and-checks-sizes", "staging", {f"{POLICY}.0.node_types": ["Standard_E8s_v3"]},
               ((f"{POLICY}.0.node_types", "Standard_E8s_v3: " + UNSUPPORTED),)),
    AccessCase("dev-with-encryption-on-checks-sizes", "dev",
               {f"{ENC}.enabled": True, f"{POLICY}.0.node_types": ["Standard_DS4_v2", "Standard_D4ds_v5"]},
               ((f"{POLICY}.0.node_types", "Standard_DS4_v2: " + UNSUPPORTED),)),
    # --- the network connectivity configuration ----------------------------------------------------------------------
    AccessCase("ncc-in-another-region", "prod", {f"{NCC}.region": "northeurope"},
               ((f"{NCC}.region", f"'northeurope': a network connectivity configuration {OTHER_REGION}"),), program=True),
    AccessCase("ncc-name-with-a-dot", "prod", {f"{NCC}.name": "ncc.prod"}, ((f"{NCC}.name", "3-30 letters, digits"),)),
    AccessCase("ncc-name-too-long", "staging", {f"{NCC}.enabled": True, f"{NCC}.name": "n" * 31},
               ((f"{NCC}.name", "3-30 letters, digits"),)),
    AccessCase("ncc-with-nothing-to-reach", "dev", {f"{NCC}.enabled": True, f"{NCC}.workspace_storage": False},
               ((f"{NCC}.enabled", "no private endpoint rule to create"),)),
    AccessCase("ncc-unknown-field", "prod", {f"{NCC}.group_ids": ["dfs"]}, ((f"{NCC}.group_ids", "unknown field"),)),
    # --- the metastore -----------------------------------------------------------------------------------------------
    AccessCase("metastore-id-a-name", "prod", {UC: "primary"}, ((UC, f"'primary' {NOT_A_METASTORE}"),), program=True, fmt="json"),
    AccessCase("metastore-id-truncated", "staging", {UC: "7c1e4b2a-5d3f-4e6a-9b8c-0d1e2f3a4b5"}, ((UC, NOT_A_METASTORE),)),
    AccessCase("metastore-id-global-form", "prod", {UC: "azure:westeurope:7c1e4b2a-5d3f-4e6a-9b8c-0d1e2f3a4b5c"},
               ((UC, "give its UUID part '7c1e4b2a-5d3f-4e6a-9b8c-0d1e2f3a4b5c'"),)),
    AccessCase("metastore-id-nil", "dev", {UC: "00000000-0000-0000-0000-000000000000"}, ((UC, NOT_A_METASTORE),)),
    # --- several at once: section errors and cross-field rules together ----------------------------------------------
    AccessCase("everything-wrong-at-once", "prod",
               {f"{ENC}.enforcement": "DropUnencrypted", f"{NCC}.region": "eastus2", UC: "metastore-1",
                f"{POLICY}.1.node_types": ["Standard_NC6s_v3", "Standard_D4_v3"], "ingress.aks.vm_size": "Standard_F4s_v2"},
               ((f"{ENC}.enforcement", "AllowUnencrypted"), (f"{NCC}.region", OTHER_REGION), (UC, NOT_A_METASTORE),
                (f"{POLICY}.1.node_types", "Standard_NC6s_v3, Standard_D4_v3: " + UNSUPPORTED),
                ("ingress.aks.vm_size", "Standard_F4s_v2: " + UNSUPPORTED)), program=True),
]

PROGRAM_CASES = [c for c in CASES if c.program]


def test_case_ids_are_unique_and_cover_every_new_field() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
    paths = {p for c in CASES for p, _ in c.expected}
    assert {f"{ENC}.enabled", f"{ENC}.enforcement", f"{NCC}.region", f"{NCC}.name", UC, f"{POLICY}.0.node_types"} <= paths


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_serverless_reports_every_problem_at_its_path(case: AccessCase) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_serverless_is_rejected_by_the_file_loader(case: AccessCase, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_invalid_serverless(case: AccessCase, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, case.base)


def test_valid_variants_are_accepted() -> None:
    """The NCC's region may be given when it is the workspace's; a metastore id is lowercased; dev may use any size."""
    spec = EnvironmentSpec.model_validate(edit(base("prod"), {f"{NCC}.region": "westeurope",
                                                              UC: "7C1E4B2A-5D3F-4E6A-9B8C-0D1E2F3A4B5C"}))
    assert spec.serverless.network_connectivity.region == "westeurope"
    assert spec.unity_catalog.metastore_id == "7c1e4b2a-5d3f-4e6a-9b8c-0d1e2f3a4b5c"
    dev = EnvironmentSpec.model_validate(edit(base("dev"), {f"{POLICY}.0.node_types": ["Standard_DS3_v2"]}))
    assert not dev.network.vnet_encryption.enabled
    # An NCC that only reaches the lake.
    lake_only = EnvironmentSpec.model_validate(edit(base("staging"), {f"{NCC}.enabled": True, f"{NCC}.workspace_storage": False}))
    assert lake_only.data.lake.enabled
