"""brickwall guardrails as CrossGuard policies (`ALL`), shared by the policy pack and `python -m brickwall check`.

Rules read the wire (camelCase) inputs a `pulumi preview --policy-pack policies` sends the analyzer. Only
`pulumi_policy`, the standard library and dependency-free planning modules (`components.planning.tier_limits`, the
Azure type catalog `components.planning.azure_types`, ...) are imported: the pack installs nothing else
(policies/__main__.py puts the repository root on sys.path for the latter).

Layout: one module per concern, each exposing `RULES: list[Policy]`; `base.py` holds the shared helpers (dig,
tier_of, the `resource_rule` / `stack_rule` builders, TIER_CONFIG). To add a module:
1. create `brickwall_rules/<concern>.py` importing what it needs from `brickwall_rules.base` and ending with
   `RULES: list[Policy] = [...]`;
2. add one line `"<concern>",` to `RULE_MODULES` below. `ALL` collects every module's rules in that order and fails
   at import on a duplicate rule name.

Conventions:
- The tier (dev, staging, prod) is the policy config `tier` when set, else the stack named in the URN; a stack with
  another name is held to prod's rules (the strictest). Rules that read the tier declare `config_schema=TIER_CONFIG`.
- Secrets: `brickwall check` hands the rules every secret as the string "[secret]" (the plan-file form) and sets
  the policy config `secretMarkers: true`. Under the real engine the analyzer receives secrets wrapped in Pulumi's
  secret signature, but `pulumi-policy`'s `Analyze` unwraps them (deserialize_properties without proxy_secrets)
  before a rule sees the props, so the "Kubernetes Secret values must be Pulumi secrets" rule reports itself not
  applicable there instead of flagging every Secret (tests/test_policy_pack_server.py).
- Unknown values raise `UnknownValueError` through the analyzer's proxy; the analyzer (and `brickwall check`)
  turns that into "cannot run during preview", never into a pass or a violation.
- Stack policies read inputs under `brickwall check` and outputs under the real engine; they only use keys that are
  both inputs and outputs (names, ids, groupIds, tags).
"""

from __future__ import annotations

from importlib import import_module

from pulumi_policy import Policy

# One line per rule module, in report order.
RULE_MODULES: tuple[str, ...] = (
    "network",
    "workspace",
    "private_link",
    "access",
    "ingress",
    "data",
    "tagging",
    "keys",
    "audit",
    "bastion",
    "firewall",
)


def _collect(modules: tuple[str, ...]) -> list[Policy]:
    rules: list[Policy] = []
    for name in modules:
        module_rules = import_module(f"{__name__}.{name}").RULES
        if not isinstance(module_rules, list) or not all(isinstance(r, Policy) for r in module_rules):
            raise TypeError(f"{__name__}.{name}.RULES must be a list of pulumi_policy Policy objects")
        rules += module_rules
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate policy names across rule modules: {', '.join(duplicates)}")
    return rules


ALL: list[Policy] = _collect(RULE_MODULES)
# The rules that read the tier, so accept the policy config `tier` (policies/config.<tier>.json lists exactly these).
TIERED: tuple[str, ...] = tuple(p.name for p in ALL if p.config_schema is not None and "tier" in p.config_schema.properties)
