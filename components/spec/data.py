"""Data sources: the ADLS Gen2 data lake and an optional Azure SQL database, reached only privately."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.spec.base import StrictModel, entra_guid
from components.spec.errors import Problem, raise_problems

ARM_STORAGE_ACCOUNT = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.Storage/storageAccounts/[a-z0-9]{3,24}", re.I)

# SKU names of the service tiers that offer zone redundancy (SqlDatabaseSpec.zone_redundant).
ZONE_REDUNDANT_SKU = re.compile(r"(GP|BC|HS)_|P\d+$")


class DataLakeSpec(StrictModel):
    enabled: bool = False
    # Reach an existing lake (private endpoints and the role only; its settings stay its owner's).
    existing_storage_account_id: str | None = None
    containers: tuple[str, ...] = ("raw", "curated")
    # Geo-zone-redundant by default: three zones here and a copy in the paired region (ADLS Gen2 supports every
    # redundancy option: https://learn.microsoft.com/azure/storage/common/storage-redundancy). dev's tier default is ZRS.
    sku: Literal["Standard_LRS", "Standard_ZRS", "Standard_GRS", "Standard_RAGRS", "Standard_GZRS", "Standard_RAGZRS"] = "Standard_GZRS"
    # The least role Databricks' access connector needs on each container.
    databricks_role: Literal["Storage Blob Data Contributor", "Storage Blob Data Reader"] = "Storage Blob Data Contributor"
    # Days a deleted file or container can be restored (blob and container soft delete on a created lake).
    soft_delete_days: int = Field(default=14, ge=1, le=365)

    @field_validator("existing_storage_account_id")
    @classmethod
    def _existing(cls, v: str | None) -> str | None:
        if v is not None and not ARM_STORAGE_ACCOUNT.fullmatch(v):
            raise ValueError("not a storage account resource id "
                             "(/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<name>)")
        return v

    @field_validator("containers")
    @classmethod
    def _containers(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in v if not (re.fullmatch(r"[a-z0-9](-?[a-z0-9])*", c) and 3 <= len(c) <= 63)]
        if bad:
            raise ValueError(f"container names are 3-63 lowercase letters, digits and single hyphens: {', '.join(map(repr, bad))}")
        if len(set(v)) != len(v):
            raise ValueError("lists the same container twice")
        return v


class SqlDatabaseSpec(StrictModel):
    """Azure SQL with Entra-only authentication; the admin is an Entra group."""

    enabled: bool = False
    database_name: str = "analytics"
    sku: str = "GP_S_Gen5_2"
    # Replicas in several availability zones of the region. Only the vCore General Purpose (GP_, serverless GP_S_
    # included), Business Critical (BC_) and Hyperscale (HS_) tiers and the DTU Premium tier (P1...) offer it, not
    # DTU Basic or Standard (https://learn.microsoft.com/azure/azure-sql/database/enable-zone-redundancy). Off in
    # dev and staging by default (tiers.py), required in prod.
    zone_redundant: bool = True
    entra_admin_group: str | None = None
    entra_admin_object_id: str | None = None

    @field_validator("database_name")
    @classmethod
    def _db_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", v) or v.lower() in {"master", "tempdb", "model", "msdb"}:
            raise ValueError("1-128 letters, digits, _ or -, and not a system database name")
        return v

    @field_validator("entra_admin_group")
    @classmethod
    def _group(cls, v: str | None) -> str | None:
        if v is not None and not (v.strip() == v and 1 <= len(v) <= 128):
            raise ValueError("the Entra group's display name: 1-128 characters, no leading or trailing spaces")
        return v

    @field_validator("entra_admin_object_id")
    @classmethod
    def _object_id(cls, v: str | None) -> str | None:
        return entra_guid(v) if v is not None else v

    @model_validator(mode="after")
    def _admin(self) -> SqlDatabaseSpec:
        if self.enabled:
            problems = [Problem((f,), "Entra-only authentication needs an Entra admin group; give its name and object id")
                        for f in ("entra_admin_group", "entra_admin_object_id") if getattr(self, f) is None]
            if self.zone_redundant and not ZONE_REDUNDANT_SKU.match(self.sku):
                problems.append(Problem(("zone_redundant",), f"SKU {self.sku!r} cannot be zone redundant: use a General "
                                        "Purpose (GP_...), Business Critical (BC_...), Hyperscale (HS_...) or Premium (P...) SKU, "
                                        "or zone_redundant false"))
            if problems:
                raise_problems(problems)
        return self


class DataSpec(StrictModel):
    lake: DataLakeSpec = DataLakeSpec()
    sql: SqlDatabaseSpec = SqlDatabaseSpec()
