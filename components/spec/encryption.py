"""Customer-managed keys: a Key Vault and the workspace's managed-services, managed-disk and DBFS-root keys."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from components.spec.base import StrictModel, entra_guid
from components.spec.errors import Problem, raise_problems

ARM_KEY_VAULT = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[^/]+/providers/Microsoft\.KeyVault/vaults/[A-Za-z0-9-]{3,24}", re.I)


class KeyVaultSpec(StrictModel):
    """The vault the keys live in: created (RBAC, purge protection, private endpoint) or an existing one."""

    existing_id: str | None = None
    sku: Literal["standard", "premium"] = "premium"
    soft_delete_retention_days: int = Field(default=90, ge=7, le=90)

    @field_validator("existing_id")
    @classmethod
    def _existing(cls, v: str | None) -> str | None:
        if v is not None and not ARM_KEY_VAULT.fullmatch(v):
            raise ValueError("not a Key Vault resource id (/subscriptions/<guid>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<name>)")
        return v


class EncryptionSpec(StrictModel):
    customer_managed_keys: bool = True
    key_vault: KeyVaultSpec | None = KeyVaultSpec()
    key_size: Literal[2048, 3072, 4096] = 3072
    # RSA-HSM keys: the key material never leaves Key Vault's HSMs. Vaults hold HSM-protected keys only in the
    # premium SKU (https://learn.microsoft.com/azure/key-vault/keys/about-keys). Required in prod (tiers.py).
    hsm: bool = True
    rotation_days: int = Field(default=90, ge=30, le=730)
    managed_services: bool = True
    managed_disks: bool = True
    # DBFS root encryption takes two deployments, in the order Azure requires: `prepare` creates the
    # workspace with prepareEncryption and grants its storage identity the key; `apply` then sets the key.
    dbfs_root: Literal["off", "prepare", "apply"] = "prepare"
    # A second layer of platform encryption on the DBFS root; only settable when the workspace is created.
    infrastructure_encryption: bool = True
    # The tenant's object id of the first-party AzureDatabricks application, granted the managed-services key.
    databricks_app_object_id: str | None = None

    @field_validator("databricks_app_object_id")
    @classmethod
    def _object_id(cls, v: str | None) -> str | None:
        return entra_guid(v) if v is not None else v

    # The AzureDatabricks application id is needed to grant managed-services keys; that check is a
    # cross-field rule (components.spec.rules) so an environment that omits this section still gets it.

    @model_validator(mode="after")
    def _consistent(self) -> EncryptionSpec:
        if not self.customer_managed_keys:
            return self
        problems = []
        if self.key_vault is None:
            problems.append(Problem(("key_vault",), "customer-managed keys need a Key Vault: leave key_vault to create one "
                                                    "or give existing_id"))
        elif self.hsm and self.key_vault.existing_id is None and self.key_vault.sku != "premium":
            problems.append(Problem(("hsm",), "RSA-HSM keys need a premium Key Vault (key_vault.sku 'premium')"))
        if not (self.managed_services or self.managed_disks or self.dbfs_root != "off"):
            problems.append(Problem(("customer_managed_keys",), "no key is used: turn on managed_services, managed_disks "
                                                                "or dbfs_root, or turn customer_managed_keys off"))
        if problems:
            raise_problems(problems)
        return self
