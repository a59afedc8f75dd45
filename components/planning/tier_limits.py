"""Per-tier numeric limits shared by the spec's floors (components/spec/tiers.py) and the policy pack.

Dependency-free on purpose: the CrossGuard pack (policies/) imports this module under the Pulumi CLI with only
policies/requirements.txt installed, so nothing here (or in the package __init__ files above it) may import
pydantic, pulumi or any other brickwall module.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

KNOWN_TIERS: tuple[str, ...] = ("dev", "staging", "prod")

# The longest personal-access-token lifetime (workspace conf maxTokenLifetimeDays) each tier accepts.
MAX_TOKEN_LIFETIME_DAYS: Mapping[str, int] = MappingProxyType({"dev": 180, "staging": 90, "prod": 90})
