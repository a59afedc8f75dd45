"""Typed environment specs (pydantic v2), tier defaults and floors, cross-field rules, loading."""

from components.spec.errors import Problem, SpecError
from components.spec.models import (
    EgressSpec,
    EnvironmentSpec,
    MonitoringSpec,
    NamingSpec,
    NetworkSpec,
    PrivateLinkSpec,
    ProtectionSpec,
    SubnetLayout,
    Tier,
    TransitNetworkSpec,
    WorkspaceSpec,
)

__all__ = [
    "EgressSpec",
    "EnvironmentSpec",
    "MonitoringSpec",
    "NamingSpec",
    "NetworkSpec",
    "PrivateLinkSpec",
    "Problem",
    "ProtectionSpec",
    "SpecError",
    "SubnetLayout",
    "Tier",
    "TransitNetworkSpec",
    "WorkspaceSpec",
]
