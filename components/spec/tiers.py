"""Security tiers: the defaults each tier fills in and the floor no spec may go below.

Class defaults on the spec models are the strict (prod) settings; a tier's defaults only
fill fields the spec leaves unset, and its floors reject weaker explicit values.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec

TIER_DEFAULTS: dict[str, dict[str, Any]] = {
    # dev: public front end (restricted later by IP access lists), back-end private link kept,
    # nothing protected so the environment can be torn down.
    "dev": {
        "workspace": {"public_network_access": "Enabled", "default_storage_firewall": False},
        "private_link": {"frontend": False, "browser_authentication": "none", "workspace_storage": False},
        "protection": {"protect_data": False},
        "network": {"egress": {"allow_internet_outbound": True}},
    },
    "staging": {
        "network": {"egress": {"allow_internet_outbound": True}},
    },
    "prod": {},
}


@dataclass(frozen=True)
class Floor:
    tiers: frozenset[str]
    path: tuple[str, ...]
    holds: Callable[[EnvironmentSpec], bool]
    reason: str


_PRIVATE = frozenset({"staging", "prod"})
_ALL = frozenset({"dev", "staging", "prod"})

TIER_FLOORS: tuple[Floor, ...] = (
    Floor(_ALL, ("workspace", "no_public_ip"), lambda s: s.workspace.no_public_ip,
          "secure cluster connectivity (no public IP) is never turned off, in any tier"),
    Floor(_PRIVATE, ("workspace", "public_network_access"), lambda s: s.workspace.public_network_access == "Disabled",
          "{tier} requires public network access Disabled"),
    Floor(_PRIVATE, ("private_link", "backend"), lambda s: s.private_link.backend,
          "{tier} requires back-end private link"),
    Floor(_PRIVATE, ("private_link", "frontend"), lambda s: s.private_link.frontend,
          "{tier} requires front-end private link"),
    Floor(_PRIVATE, ("private_link", "browser_authentication"), lambda s: s.private_link.browser_authentication != "none",
          "{tier} requires a browser-authentication endpoint"),
    Floor(_PRIVATE, ("protection", "protect_data"), lambda s: s.protection.protect_data,
          "{tier} requires protection of data-bearing resources"),
)


def _plain(value: Any) -> Any:
    """Nested models become dicts of the fields the author set, so tier defaults fill the rest."""
    if isinstance(value, BaseModel):
        return {k: _plain(getattr(value, k)) for k in value.model_fields_set}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _merge_defaults(data: dict[str, Any], defaults: dict[str, Any]) -> None:
    for key, default in defaults.items():
        if key not in data:
            data[key] = copy.deepcopy(default)
        elif isinstance(data[key], dict) and isinstance(default, dict):
            _merge_defaults(data[key], default)


def apply_tier_defaults(data: Any) -> Any:
    if not isinstance(data, dict):
        return data
    data = _plain(data)
    tier = data.get("tier")
    tier = getattr(tier, "value", tier)
    if isinstance(tier, str) and tier in TIER_DEFAULTS:
        _merge_defaults(data, TIER_DEFAULTS[tier])
    return data
