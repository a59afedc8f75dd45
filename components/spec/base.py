"""The base every spec model shares: frozen, unknown fields forbidden, defaults validated."""

import re
import uuid

from pydantic import BaseModel, ConfigDict

from components.planning.addresses import parse_network

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class StrictModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


def is_guid(v: str) -> bool:
    """A canonical, non-nil GUID."""
    return bool(_GUID.fullmatch(v)) and uuid.UUID(v).int != 0


def entra_guid(v: str) -> str:
    """An Entra ID object or application id: a canonical, non-nil GUID, lowercased."""
    if not is_guid(v):
        raise ValueError(f"{v!r} is not an Entra ID GUID")
    return v.lower()


def cidr_problem(value: str) -> str | None:
    """Why `value` is not an IPv4 network in CIDR form with its host bits clear, or None."""
    try:
        parse_network(value)
    except ValueError as exc:
        return f"{value!r} is not an IPv4 CIDR with its host bits clear ({exc})"
    return None
