"""Invalid customer-managed key and lock settings are rejected with every problem at its dotted field path.

Same harness as tests/test_invalid_specs.py: each case mutates a valid base (a stack's own spec or a minimal one)
and lists every problem it must produce; the reported paths must equal the expected ones exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

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
)

ENC = "encryption"
VAULT_ID = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-shared-keys"

CASES: list[Case] = [
    Case("cmk-without-key-vault", "staging", {f"{ENC}.key_vault": None},
         ((f"{ENC}.key_vault", "customer-managed keys need a Key Vault"),), program=True),
    Case("hsm-in-standard-vault", "staging", {f"{ENC}.hsm": True, f"{ENC}.key_vault.sku": "standard"},
         ((f"{ENC}.hsm", "RSA-HSM keys need a premium Key Vault"),)),
    Case("software-keys-in-prod", "prod", {f"{ENC}.hsm": False},
         ((f"{ENC}.hsm", "prod keeps its customer-managed keys in an HSM"),)),
    Case("rotation-10-days", "prod", {f"{ENC}.rotation_days": 10},
         ((f"{ENC}.rotation_days", "greater than or equal to 30"),), program=True, fmt="json"),
    Case("rotation-over-two-years", "staging", {f"{ENC}.rotation_days": 731},
         ((f"{ENC}.rotation_days", "less than or equal to 730"),)),
    Case("vault-id-not-a-guid-subscription", "staging",
         {f"{ENC}.key_vault.existing_id": VAULT_ID.replace("11111111-2222-3333-4444-555555555555", "prod-subscription")},
         ((f"{ENC}.key_vault.existing_id", "not a Key Vault resource id"),)),
    Case("vault-id-of-a-storage-account", "staging",
         {f"{ENC}.key_vault.existing_id": VAULT_ID.replace("Microsoft.KeyVault/vaults", "Microsoft.Storage/storageAccounts")},
         ((f"{ENC}.key_vault.existing_id", "not a Key Vault resource id"),)),
    Case("no-key-use", "staging", {f"{ENC}.managed_services": False, f"{ENC}.managed_disks": False, f"{ENC}.dbfs_root": "off"},
         ((f"{ENC}.customer_managed_keys", "no key is used"),)),
    Case("prod-without-databricks-app", "prod", {f"{ENC}.databricks_app_object_id": None},
         ((f"{ENC}.databricks_app_object_id", "AzureDatabricks application"),), program=True),
    Case("min-prod-without-databricks-app", "min-prod", {f"{ENC}.databricks_app_object_id": DELETE},
         ((f"{ENC}.databricks_app_object_id", "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"),)),
    Case("databricks-app-not-a-guid", "staging", {f"{ENC}.databricks_app_object_id": "AzureDatabricks"},
         ((f"{ENC}.databricks_app_object_id", "not an Entra ID GUID"),)),
    Case("prod-cmk-off", "prod", {f"{ENC}.customer_managed_keys": False},
         ((f"{ENC}.customer_managed_keys", "prod requires customer-managed keys"),), program=True),
    Case("prod-locks-off", "prod", {"protection.locks": False},
         (("protection.locks", "prod requires CanNotDelete locks"),), program=True),
    Case("prod-keeps-microsoft-keys-for-disks-and-dbfs", "prod", {f"{ENC}.managed_disks": False, f"{ENC}.dbfs_root": "off"},
         ((f"{ENC}.managed_disks", "prod encrypts cluster managed disks"), (f"{ENC}.dbfs_root", "'prepare' on the first deployment"))),
    Case("prod-managed-services-off", "prod", {f"{ENC}.managed_services": False},
         ((f"{ENC}.managed_services", "prod encrypts managed services"),)),
    Case("soft-delete-retention-5-days", "staging", {f"{ENC}.key_vault.soft_delete_retention_days": 5},
         ((f"{ENC}.key_vault.soft_delete_retention_days", "greater than or equal to 7"),)),
    Case("key-size-1024", "staging", {f"{ENC}.key_size": 1024}, ((f"{ENC}.key_size", "2048, 3072 or 4096"),)),
    Case("dbfs-root-unknown-mode", "staging", {f"{ENC}.dbfs_root": "later"}, ((f"{ENC}.dbfs_root", "'off', 'prepare' or 'apply'"),)),
    Case("vault-unknown-field", "staging", {f"{ENC}.key_vault.purge_protection": False},
         ((f"{ENC}.key_vault.purge_protection", "unknown field"),)),
    # Problems in the section are reported together with the tier floors and cross-field rules.
    Case("prod-everything-at-once", "prod",
         {f"{ENC}.rotation_days": 10, f"{ENC}.databricks_app_object_id": None, "protection.locks": False,
          f"{ENC}.key_vault.existing_id": "kv"},
         ((f"{ENC}.rotation_days", "greater than or equal to 30"), (f"{ENC}.key_vault.existing_id", "not a Key Vault resource id"),
          ("protection.locks", "prod requires CanNotDelete locks"),
          (f"{ENC}.databricks_app_object_id", "AzureDatabricks application"))),
]

PROGRAM_CASES = [c for c in CASES if c.program]


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) >= 15
    assert 3 <= len(PROGRAM_CASES) <= 6


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_keys_report_every_problem_at_its_path(case: Case) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_keys_are_rejected_by_the_file_loader(case: Case, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_invalid_keys(case: Case, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, case.base if case.base in ("dev", "staging", "prod") else "prod")


def test_valid_variants_are_accepted() -> None:
    """An existing vault takes HSM keys whatever `sku` says (its SKU is not ours); dev may turn keys and locks on;
    staging may keep DBFS root keys off."""
    hsm = EnvironmentSpec.model_validate(mutate(base("staging"), {
        f"{ENC}.hsm": True, f"{ENC}.key_vault.existing_id": VAULT_ID, f"{ENC}.key_vault.sku": "standard"}))
    assert hsm.encryption.key_vault is not None and hsm.encryption.key_vault.existing_id == VAULT_ID
    dev = EnvironmentSpec.model_validate(mutate(base("dev"), {
        f"{ENC}.customer_managed_keys": True, f"{ENC}.databricks_app_object_id": "6a1e2f3b-9c8d-4e7f-8a6b-5c4d3e2f1a09",
        "protection.locks": True}))
    assert dev.encryption.customer_managed_keys and dev.protection.locks
    off = EnvironmentSpec.model_validate(mutate(base("staging"), {f"{ENC}.dbfs_root": "off"}))
    assert off.encryption.dbfs_root == "off"
    # Without customer-managed keys nothing else in the section is checked.
    assert not EnvironmentSpec.model_validate(mutate(base("dev"), {f"{ENC}.key_vault": None})).encryption.customer_managed_keys


def test_dev_tier_defaults_turn_keys_and_locks_off() -> None:
    dev = EnvironmentSpec.model_validate(base("min-dev"))
    assert not dev.encryption.customer_managed_keys and not dev.protection.locks
    prod = EnvironmentSpec.model_validate(base("min-prod"))
    assert prod.encryption.customer_managed_keys and prod.protection.locks and prod.encryption.dbfs_root == "prepare"
