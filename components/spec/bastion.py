"""The engineers' way in (issue 6 §1): an optional Azure Bastion with a small Linux jump host in the transit VNet.

`enabled` left unset takes the tier's default (`tiers.apply_tier_defaults`): on in a stamped test environment
(`stamping.ephemeral`), off everywhere else; prod has it only when the spec asks. The cross-field rules
(`rules._bastion`) need a transit VNet the toolkit creates, room for both subnets in it, the Entra group granted
sign-in and the jump host's SSH public key whenever Bastion is on.
"""

from __future__ import annotations

import base64
import binascii
import re
import struct

from pydantic import Field, field_validator

from components.planning.bastion import IMAGES
from components.spec.base import StrictModel, entra_guid

# Native client (`az network bastion ssh|tunnel`, Entra sign-in) needs Standard or Premium; Developer and Basic lack it
# (https://learn.microsoft.com/azure/bastion/configuration-settings#skus).
NATIVE_CLIENT_SKUS = ("Standard", "Premium")
# AzureBastionSubnet must be /26 or larger (https://learn.microsoft.com/azure/bastion/configuration-settings#subnet).
MAX_BASTION_SUBNET_PREFIX = 26
SSH_KEY_TYPES = ("ssh-ed25519", "ssh-rsa")
MIN_RSA_BITS = 3072
# Names Azure refuses as a Linux VM admin user.
RESERVED_ADMIN_NAMES = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1", "123", "a", "actuser",
    "adm", "admin2", "aspnet", "backup", "console", "david", "guest", "john", "owner", "root", "server", "sql",
    "support", "support_388945a0", "sys", "test2", "test3", "user4", "user5",
})


def ssh_public_key_problem(value: str) -> str | None:
    """Why `value` is not an OpenSSH public key Azure accepts for a Linux VM (ed25519, or RSA of 3072 bits or more)."""
    if "PRIVATE KEY" in value:
        return "this is a private key: give only the public half (the .pub file), never the private key"
    parts = value.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_KEY_TYPES:
        return f"not an OpenSSH public key: expected '{' or '.join(SSH_KEY_TYPES)} AAAA... [comment]'"
    try:
        blob = base64.b64decode(parts[1], validate=True)
        (length,) = struct.unpack(">I", blob[:4])
        kind = blob[4:4 + length].decode()
    except (binascii.Error, struct.error, UnicodeDecodeError, ValueError):
        return "the key data is not valid base64 of an OpenSSH key"
    if kind != parts[0]:
        return f"the key data is a {kind!r} key but is labelled {parts[0]!r}"
    if kind == "ssh-rsa":
        rest = blob[4 + length:]
        (e_len,) = struct.unpack(">I", rest[:4])
        (n_len,) = struct.unpack(">I", rest[4 + e_len:8 + e_len])
        modulus = int.from_bytes(rest[8 + e_len:8 + e_len + n_len], "big")
        if modulus.bit_length() < MIN_RSA_BITS:
            return f"an RSA key of {modulus.bit_length()} bits; use ed25519 or RSA of at least {MIN_RSA_BITS} bits"
    return None


class BastionSpec(StrictModel):
    """Azure Bastion (Standard, native-client tunnelling) plus a jump host reachable only through it."""

    # None: the tier's default (on in stamped test environments, off otherwise).
    enabled: bool | None = None
    sku: str = "Standard"
    scale_units: int = Field(default=2, ge=2, le=50)
    # Carved from the transit VNet next to its endpoint subnet.
    subnet_prefix_length: int = Field(default=MAX_BASTION_SUBNET_PREFIX, ge=16)
    jump_host_subnet_prefix_length: int = Field(default=28, ge=24, le=29)
    jump_host_size: str = "Standard_B2s"
    image: str = "ubuntu-24.04-lts"
    admin_username: str = "brickwall"
    # Azure needs one SSH public key on a Linux VM whose password sign-in is off. Sign-in is through Entra ID
    # (AADSSHLoginForLinux); give the public half of a key whose private half is discarded or held offline.
    admin_ssh_public_key: str | None = None
    # The Entra group granted "Virtual Machine User Login" on the jump host.
    entra_login_group_object_id: str | None = None
    # Encrypts the temp disk and disk caches on the host (needs the EncryptionAtHost feature on the subscription).
    encryption_at_host: bool = True
    # Copy/paste in browser sessions; native-client sessions (the intended way in) are not affected.
    disable_copy_paste: bool = True

    @field_validator("sku")
    @classmethod
    def _sku(cls, v: str) -> str:
        if v not in NATIVE_CLIENT_SKUS:
            raise ValueError(f"{v!r}: engineers connect with the native client (az network bastion ssh|tunnel, Entra sign-in), "
                             f"which only the {' and '.join(NATIVE_CLIENT_SKUS)} SKUs offer")
        return v

    @field_validator("subnet_prefix_length")
    @classmethod
    def _bastion_subnet(cls, v: int) -> int:
        if v > MAX_BASTION_SUBNET_PREFIX:
            raise ValueError(f"/{v}: AzureBastionSubnet must be /{MAX_BASTION_SUBNET_PREFIX} or larger")
        return v

    @field_validator("jump_host_size")
    @classmethod
    def _size(cls, v: str) -> str:
        if not re.fullmatch(r"Standard_[A-Za-z0-9]+(_[A-Za-z0-9]+)*", v):
            raise ValueError(f"{v!r} is not an Azure VM size (Standard_B2s, Standard_D2s_v5, ...)")
        return v

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        if v not in IMAGES:
            raise ValueError(f"unknown jump host image {v!r}; supported: {', '.join(sorted(IMAGES))}")
        return v

    @field_validator("admin_username")
    @classmethod
    def _admin(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", v):
            raise ValueError("1-32 lowercase letters, digits, _ and -, starting with a letter or _")
        if v in RESERVED_ADMIN_NAMES:
            raise ValueError(f"{v!r} is a name Azure refuses for a VM administrator")
        return v

    @field_validator("admin_ssh_public_key")
    @classmethod
    def _key(cls, v: str | None) -> str | None:
        if v is not None and (bad := ssh_public_key_problem(v)):
            raise ValueError(bad)
        return v.strip() if v is not None else v

    @field_validator("entra_login_group_object_id")
    @classmethod
    def _group(cls, v: str | None) -> str | None:
        return entra_guid(v) if v is not None else v

    @property
    def on(self) -> bool:
        return bool(self.enabled)
