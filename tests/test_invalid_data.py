"""Invalid data sources are rejected with every problem at its dotted field path, before anything is registered.

Like tests/test_invalid_specs.py: each case mutates a valid base (dev: no data sources; staging: a lake; prod: a lake
and SQL) and lists every problem it must produce as (dotted path, reason fragment); the set of reported paths must
equal the expected set exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from components.spec import EnvironmentSpec
from tests.spec_cases import AccessCase, base, case_params, check_file_loader, check_program_registers_nothing, check_reported, edit

LAKE, SQL = "data.lake", "data.sql"
SUB = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-lake/providers"
GOOD_ID = f"{SUB}/Microsoft.Storage/storageAccounts/corplake01"
ADMIN = {f"{SQL}.entra_admin_group": "sql-admins", f"{SQL}.entra_admin_object_id": "2b3c4d5e-6f70-4a81-92a3-b4c5d6e7f801"}
NAMES = "3-63 lowercase letters, digits and single hyphens"
NOT_AN_ID = "not a storage account resource id"
NEEDS_ADMIN = "Entra-only authentication needs an Entra admin group"

CASES: list[AccessCase] = [
    # --- containers ----------------------------------------------------------------------------------------------
    AccessCase("container-uppercase", "staging", {f"{LAKE}.containers": ["raw", "Curated"]},
               ((f"{LAKE}.containers", f"{NAMES}: 'Curated'"),), program=True),
    AccessCase("container-too-short", "staging", {f"{LAKE}.containers": ["ab"]}, ((f"{LAKE}.containers", "'ab'"),)),
    AccessCase("container-too-long", "prod", {f"{LAKE}.containers": ["x" * 64]}, ((f"{LAKE}.containers", NAMES),)),
    AccessCase("container-double-hyphen", "prod", {f"{LAKE}.containers": ["raw--zone"]}, ((f"{LAKE}.containers", "'raw--zone'"),)),
    AccessCase("container-leading-hyphen", "staging", {f"{LAKE}.containers": ["-raw"]}, ((f"{LAKE}.containers", "'-raw'"),)),
    AccessCase("container-underscore", "staging", {f"{LAKE}.containers": ["raw_zone"]}, ((f"{LAKE}.containers", "'raw_zone'"),)),
    AccessCase("container-duplicate", "prod", {f"{LAKE}.containers": ["raw", "curated", "raw"]},
               ((f"{LAKE}.containers", "lists the same container twice"),), program=True, fmt="json"),
    # --- the existing lake ---------------------------------------------------------------------------------------
    AccessCase("existing-id-not-an-arm-id", "staging", {f"{LAKE}.existing_storage_account_id": "corplake01"},
               ((f"{LAKE}.existing_storage_account_id", NOT_AN_ID),)),
    AccessCase("existing-id-of-a-key-vault", "staging",
               {f"{LAKE}.existing_storage_account_id": f"{SUB}/Microsoft.KeyVault/vaults/corplake01"},
               ((f"{LAKE}.existing_storage_account_id", NOT_AN_ID),)),
    AccessCase("existing-id-subscription-not-a-guid", "prod",
               {f"{LAKE}.existing_storage_account_id": GOOD_ID.replace("11111111-2222-3333-4444-555555555555", "prod-sub")},
               ((f"{LAKE}.existing_storage_account_id", NOT_AN_ID),)),
    AccessCase("existing-id-account-name-uppercase", "staging",
               {f"{LAKE}.existing_storage_account_id": f"{SUB}/Microsoft.Storage/storageAccounts/CorpLake01/"},
               ((f"{LAKE}.existing_storage_account_id", NOT_AN_ID),)),
    AccessCase("existing-id-of-a-container", "staging",
               {f"{LAKE}.existing_storage_account_id": f"{GOOD_ID}/blobServices/default/containers/raw"},
               ((f"{LAKE}.existing_storage_account_id", NOT_AN_ID),)),
    AccessCase("existing-id-without-the-lake-enabled", "dev", {f"{LAKE}.existing_storage_account_id": GOOD_ID},
               ((f"{LAKE}.enabled", "existing_storage_account_id is given but the lake is not enabled"),), program=True),
    # --- lake settings -------------------------------------------------------------------------------------------
    AccessCase("role-owner", "staging", {f"{LAKE}.databricks_role": "Owner"},
               ((f"{LAKE}.databricks_role", "'Storage Blob Data Contributor' or 'Storage Blob Data Reader'"),)),
    AccessCase("role-storage-account-contributor", "prod", {f"{LAKE}.databricks_role": "Storage Account Contributor"},
               ((f"{LAKE}.databricks_role", "Input should be"),)),
    AccessCase("premium-sku", "staging", {f"{LAKE}.sku": "Premium_LRS"}, ((f"{LAKE}.sku", "Input should be"),)),
    AccessCase("soft-delete-zero-days", "staging", {f"{LAKE}.soft_delete_days": 0},
               ((f"{LAKE}.soft_delete_days", "greater than or equal to 1"),)),
    AccessCase("soft-delete-over-a-year", "prod", {f"{LAKE}.soft_delete_days": 366},
               ((f"{LAKE}.soft_delete_days", "less than or equal to 365"),)),
    AccessCase("lake-unknown-field", "staging", {f"{LAKE}.public_access": True},
               ((f"{LAKE}.public_access", "unknown field (not part of the spec)"),)),
    # --- SQL -----------------------------------------------------------------------------------------------------
    AccessCase("sql-without-admin", "dev", {f"{SQL}.enabled": True},
               ((f"{SQL}.entra_admin_group", NEEDS_ADMIN), (f"{SQL}.entra_admin_object_id", NEEDS_ADMIN)), program=True),
    AccessCase("sql-without-admin-object-id", "prod", {f"{SQL}.entra_admin_object_id": None},
               ((f"{SQL}.entra_admin_object_id", NEEDS_ADMIN),)),
    AccessCase("sql-admin-object-id-not-a-guid", "prod", {f"{SQL}.entra_admin_object_id": "sql-admins"},
               ((f"{SQL}.entra_admin_object_id", "'sql-admins' is not an Entra ID GUID"),)),
    AccessCase("sql-admin-group-padded", "dev", {f"{SQL}.enabled": True, **ADMIN, f"{SQL}.entra_admin_group": " sql-admins"},
               ((f"{SQL}.entra_admin_group", "no leading or trailing spaces"),)),
    AccessCase("sql-admin-group-empty", "prod", {f"{SQL}.entra_admin_group": ""}, ((f"{SQL}.entra_admin_group", "1-128 characters"),)),
    AccessCase("sql-database-master", "prod", {f"{SQL}.database_name": "master"},
               ((f"{SQL}.database_name", "not a system database name"),)),
    AccessCase("sql-database-name-with-space", "prod", {f"{SQL}.database_name": "sales data"},
               ((f"{SQL}.database_name", "1-128 letters, digits, _ or -"),)),
    AccessCase("sql-admin-password-field", "prod", {f"{SQL}.administrator_login_password": "hunter2"},
               ((f"{SQL}.administrator_login_password", "unknown field (not part of the spec)"),)),
    AccessCase("sql-zone-redundant-on-a-basic-sku", "prod", {f"{SQL}.sku": "Basic"},
               ((f"{SQL}.zone_redundant", "SKU 'Basic' cannot be zone redundant"),)),
    AccessCase("sql-zone-redundant-on-a-dtu-standard-sku", "dev", {f"{SQL}.enabled": True, **ADMIN, f"{SQL}.sku": "S3",
                                                                    f"{SQL}.zone_redundant": True},
               ((f"{SQL}.zone_redundant", "SKU 'S3' cannot be zone redundant"),)),
    AccessCase("sql-single-zone-in-prod", "prod", {f"{SQL}.zone_redundant": False},
               ((f"{SQL}.zone_redundant", "prod's SQL database is zone redundant"),)),
    # --- several at once -----------------------------------------------------------------------------------------
    AccessCase("lake-and-sql-all-wrong", "dev",
               {f"{LAKE}.existing_storage_account_id": "corplake01", f"{LAKE}.containers": ["raw", "raw"],
                f"{LAKE}.databricks_role": "Owner", f"{SQL}.enabled": True, f"{SQL}.database_name": "tempdb"},
               ((f"{LAKE}.existing_storage_account_id", NOT_AN_ID), (f"{LAKE}.containers", "same container twice"),
                (f"{LAKE}.databricks_role", "Input should be"), (f"{SQL}.database_name", "system database"))),
    AccessCase("existing-lake-disabled-and-sql-missing-admin", "dev",
               {f"{LAKE}.existing_storage_account_id": GOOD_ID, f"{SQL}.enabled": True, f"{SQL}.entra_admin_group": "sql-admins"},
               # The cross-field rule still runs beside the section's own error: every problem at once.
               ((f"{SQL}.entra_admin_object_id", NEEDS_ADMIN), (f"{LAKE}.enabled", "lake is not enabled"))),
]

PROGRAM_CASES = [c for c in CASES if c.program]


def test_case_ids_are_unique_and_cover_lake_and_sql() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(CASES) >= 25
    paths = {p for c in CASES for p, _ in c.expected}
    assert {f"{LAKE}.containers", f"{LAKE}.existing_storage_account_id", f"{LAKE}.enabled", f"{SQL}.entra_admin_group"} <= paths
    assert 3 <= len(PROGRAM_CASES) <= 5


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_data_reports_every_problem_at_its_path(case: AccessCase) -> None:
    check_reported(case)


@pytest.mark.parametrize("case", case_params(CASES))
def test_invalid_data_is_rejected_by_the_file_loader(case: AccessCase, tmp_path: Path) -> None:
    check_file_loader(case, tmp_path)


@pytest.mark.parametrize("case", case_params(PROGRAM_CASES))
def test_program_registers_nothing_for_invalid_data(case: AccessCase, tmp_path: Path) -> None:
    check_program_registers_nothing(case, tmp_path, case.base)


def test_valid_variants_are_accepted() -> None:
    """The rules reject what is wrong, not what is unusual: an existing lake, a reader role, SQL without a lake."""
    existing = EnvironmentSpec.model_validate(edit(base("staging"), {f"{LAKE}.existing_storage_account_id": GOOD_ID,
                                                                     f"{LAKE}.databricks_role": "Storage Blob Data Reader"}))
    assert existing.data.lake.existing_storage_account_id == GOOD_ID
    sql_only = EnvironmentSpec.model_validate(edit(base("dev"), {f"{SQL}.enabled": True, **ADMIN}))
    assert sql_only.data.sql.enabled and not sql_only.data.lake.enabled
    # A 63-character container and an uppercase resource-group segment are Azure-valid.
    long_name = "a" + "-b" * 31
    assert len(long_name) == 63
    spec = EnvironmentSpec.model_validate(edit(base("prod"), {f"{LAKE}.containers": [long_name, "r2d"]}))
    assert spec.data.lake.containers == (long_name, "r2d")


def test_zone_redundancy_follows_the_tier() -> None:
    """Zone redundant by default where the tier needs it (prod), off in dev and staging unless asked; a single-zone SKU
    passes once zone redundancy is off."""
    assert EnvironmentSpec.model_validate(base("prod")).data.sql.zone_redundant is True
    for tier in ("dev", "staging"):
        spec = EnvironmentSpec.model_validate(edit(base(tier), {f"{SQL}.enabled": True, **ADMIN, f"{SQL}.sku": "Basic"}))
        assert spec.data.sql.zone_redundant is False and spec.data.sql.sku == "Basic"
    serverless = EnvironmentSpec.model_validate(edit(base("prod"), {f"{SQL}.sku": "GP_S_Gen5_4"}))
    assert serverless.data.sql.zone_redundant is True
