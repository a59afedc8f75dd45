"""Shared vocabulary of the rule modules: constants, resource types, prop helpers and the policy builders.

Only `pulumi_policy`, the standard library and dependency-free planning modules (`components.planning.tier_limits`,
the Azure type catalog `components.planning.azure_types`) are imported: the pack installs nothing else
(policies/requirements.txt).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

import components.planning.azure_types as az
from components.planning.tier_limits import KNOWN_TIERS

SECRET_PLACEHOLDER = "[secret]"
MANDATORY = EnforcementLevel.MANDATORY
ADVISORY = EnforcementLevel.ADVISORY
# report(message) or report(message, urn): the analyzer's ReportViolation, whose urn is optional.
Say = Callable[..., None]

# The policy config every tier-dependent rule accepts. Pulumi policy config is per policy (the "all" key only sets
# enforcement levels), so a config file repeats `tier` for each of these rules (policies/config.<tier>.json).
TIER_CONFIG = PolicyConfigSchema(
    properties={
        "tier": {
            "type": "string",
            "enum": list(KNOWN_TIERS),
            "description": "The brickwall tier whose limits apply; unset: the stack name when it is a tier, else prod.",
        },
    },
)

WORKSPACE = az.DATABRICKS_WORKSPACE.token
PRIVATE_ENDPOINT = az.PRIVATE_ENDPOINT.token


def stack_of(urn: str) -> str:
    """The stack named in a URN (`urn:pulumi:<stack>::<project>::...`)."""
    parts = urn.split(":", 3)
    return parts[2] if len(parts) > 3 else ""


def tier_of(urn: str, config: Mapping[str, Any], props: Any = None) -> str:
    """The tier whose limits apply: the policy config's `tier`, else the resource's own `tier` tag (the program tags
    every taggable resource with its spec's tier), else the stack name when it is a tier, else prod (the strictest)."""
    tier = config.get("tier") or _tag_tier(props) or stack_of(urn)
    return tier if tier in KNOWN_TIERS else "prod"


def _tag_tier(props: Any) -> str | None:
    try:
        tier = dig(props, "tags.tier") if props is not None else None
    except Exception:  # an unknown value at preview: fall through to the next source
        return None
    return str(tier) if tier in KNOWN_TIERS else None


def stack_tier(args: StackValidationArgs) -> str:
    """A stack's tier: the policy config's, else the `tier` tag its resources carry (the strictest if they ever
    disagree), else the stack name when it is a tier, else prod. Rules on untagged types (Databricks, Kubernetes)
    read the tier this way, from the stack, so a stack of any name is judged by its spec's tier."""
    config = args.get_config()
    if config.get("tier") in KNOWN_TIERS:
        return str(config["tier"])
    tagged = {t for r in args.resources if (t := _tag_tier(r.props))}
    if tagged:
        return max(tagged, key=KNOWN_TIERS.index)
    urn = args.resources[0].urn if args.resources else ""
    return tier_of(urn, {})


def dig(props: Any, path: str, default: Any = None) -> Any:
    """Dotted lookup through (proxied) mappings and sequences; unknowns still raise UnknownValueError."""
    node = props
    for part in path.split("."):
        if isinstance(node, Mapping):
            if part not in node:
                return default
            node = node[part]
        elif is_list(node) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    return list(value) if is_list(value) else ([] if value is None else [value])


def is_secret(value: Any) -> bool:
    """A value the checker marked secret ("[secret]"), or a pulumi_policy Secret (remediation path)."""
    return value == SECRET_PLACEHOLDER or type(value).__name__ == "Secret"


def arm_key(value: Any) -> str:
    """Case-insensitive ARM id from `/resourcegroups/` on: the subscription is only known at apply time."""
    text = str(value or "").lower()
    index = text.find("/resourcegroups/")
    return text[index:] if index >= 0 else text


def arm_key_for(entry: az.AzureType, rg: Any, name: Any) -> str:
    """The ARM key of a resource of a top-level catalog type (`entry`) in resource group `rg`."""
    return arm_key(f"/resourceGroups/{rg}/providers/{entry.arm_type}/{name}")


def resource_key(res: PolicyResource, entry: az.AzureType) -> str:
    """A resource's ARM key: its id when known (outputs), else built from its resource group and own name (inputs)."""
    rg = dig(res.props, "resourceGroupName", "")
    name = (dig(res.props, entry.own_name_input) if entry.own_name_input else None) or dig(res.props, "name") or res.name
    return arm_key(dig(res.props, "id") or arm_key_for(entry, rg, name))


def workspace_key(res: PolicyResource) -> str:
    rg = dig(res.props, "resourceGroupName", "")
    name = dig(res.props, "workspaceName") or res.name
    return arm_key(dig(res.props, "id") or arm_key_for(az.DATABRICKS_WORKSPACE, rg, name))


def vnet_of_subnet(subnet_id: Any) -> str:
    key = arm_key(subnet_id)
    return key.split("/subnets/")[0]


def is_serverless(props: Any) -> bool:
    return str(dig(props, "computeMode", "")).lower() == "serverless"


def endpoint_groups(props: Any) -> list[tuple[str, str]]:
    """(groupId, target key) for every connection of a private endpoint."""
    found = []
    for conn in [*as_list(dig(props, "privateLinkServiceConnections")), *as_list(dig(props, "manualPrivateLinkServiceConnections"))]:
        for group in as_list(dig(conn, "groupIds")):
            found.append((str(group), arm_key(dig(conn, "privateLinkServiceId"))))
    return found


def of_type(args: StackValidationArgs, type_: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type == type_]


def resource_rule(
    name: str,
    description: str,
    remediation: str,
    types: Iterable[str] | Callable[[str], bool],
    check: Callable[[ResourceValidationArgs, Say], None],
    level: EnforcementLevel = MANDATORY,
    config_schema: PolicyConfigSchema | None = None,
) -> ResourceValidationPolicy:
    """A resource policy that runs `check` only for the given resource types (or types the predicate accepts)."""
    wanted: Callable[[str], bool] = types if callable(types) else frozenset(types).__contains__

    def validate(args: ResourceValidationArgs, report: Say) -> None:
        if wanted(args.resource_type):
            check(args, report)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level, remediation_steps=remediation,
        config_schema=config_schema,
    )


def stack_rule(
    name: str,
    description: str,
    remediation: str,
    check: Callable[[StackValidationArgs, Say], None],
    level: EnforcementLevel = MANDATORY,
    config_schema: PolicyConfigSchema | None = None,
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name, description=description, validate=check, enforcement_level=level, remediation_steps=remediation,
        config_schema=config_schema,
    )
