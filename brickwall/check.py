"""Run the CrossGuard policies in `policies/brickwall_rules` offline, over a `Recording` or a saved plan file.

`pulumi_policy.PolicyPack()` starts a gRPC analyzer server, so the pack is never constructed here: each policy
object's `validate` is called directly, with props built the way the real analyzer builds them
(`deserialize_properties` then `unknown_checking_proxy`).

What the rules see:
- A `Recording` goes through `planfile.to_plan` first, so a recording and its saved plan file are checked
  identically: inputs in plan form (whole floats as ints), every secret as the string "[secret]" (a rule never
  sees a secret's value, and the "Kubernetes Secret values are Pulumi secrets" rule tells a marked value from a
  plain one). Policies get the config `{"secretMarkers": true}` (plus `tier` when given) so that rule runs; under
  the real analyzer, where pulumi-policy unwraps the engine's secret markers before a rule runs, it reports itself
  not applicable (tests/test_policy_pack_server.py).
- Unknown values (the engine's `UNKNOWN`, or any unknown sentinel in a plan file) become the wire's unknown
  sentinels; a policy that touches one raises `UnknownValueError` and is skipped for that resource (for a stack
  policy: for the stack), as the real analyzer does during preview. Skips are kept in `CheckResult.skipped`.
- Resource policies see custom resources only (components are never sent to Analyze); stack policies see every
  resource with its parent, dependencies and provider. A resource with no explicit provider gets the engine's
  default provider (`pulumi:providers:<package>::default`), as the real engine reports it.
- Stack policies see inputs, where the real engine shows them outputs: the rules only read keys that are both.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, unknown_checking_proxy

from brickwall import planfile
from brickwall.engine import Recording, ResourceRef, Unknown
from brickwall.planfile import UNKNOWN_PLACEHOLDER

POLICIES_DIR = Path(__file__).resolve().parent.parent / "policies"


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str  # "mandatory" | "advisory" | ...
    urn: str
    message: str
    remediation: str

    @property
    def mandatory(self) -> bool:
        return self.level == EnforcementLevel.MANDATORY.value


@dataclass(frozen=True)
class Skip:
    policy: str
    urn: str
    reason: str


@dataclass
class CheckResult:
    stack: str
    violations: list[Violation] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)
    rules: int = 0  # how many policies ran

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]

    @property
    def ok(self) -> bool:
        return not self.mandatory

    def of(self, policy: str) -> list[Violation]:
        return [v for v in self.violations if v.policy == policy]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "ok": self.ok,
            "rules": self.rules,
            "violations": [asdict(v) for v in self.violations],
            "skipped": [asdict(s) for s in self.skipped],
        }


def load_policies() -> list[Policy]:
    """`brickwall_rules.ALL`, imported from the pack directory (never through the pack's __main__)."""
    if str(POLICIES_DIR) not in sys.path:
        sys.path.insert(0, str(POLICIES_DIR))
    import brickwall_rules

    return list(brickwall_rules.ALL)


def _wire(value: Any) -> Any:
    """Plan-form value -> what the analyzer deserializes: unknowns become the wire sentinel, references their id."""
    if isinstance(value, Unknown) or value == UNKNOWN_PLACEHOLDER:
        return UNKNOWN_STRING_VALUE
    if isinstance(value, ResourceRef):
        return value.id or value.urn
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [_wire(v) for v in value]
    return value


def _props(inputs: Mapping[str, Any]) -> Mapping[str, Any]:
    """What validate sees: the inputs deserialized behind the unknown-checking proxy, as the analyzer builds them."""
    return unknown_checking_proxy(deserialize_properties(_wire(inputs)))


def _level(policy: Policy) -> EnforcementLevel:
    return policy.enforcement_level or EnforcementLevel.ADVISORY


def _run(result: Any) -> None:
    if inspect.isawaitable(result):
        asyncio.run(_await(result))


async def _await(awaitable: Any) -> None:
    await awaitable


def _default_provider_urn(entry: Mapping[str, Any], stack: str, project: str) -> str:
    package = str(entry["type"]).split(":", 1)[0]
    return f"urn:pulumi:{stack}::{project}::pulumi:providers:{package}::default"


@dataclass(frozen=True)
class ProviderRef:
    type: str
    urn: str
    name: str
    inputs: Mapping[str, Any]


def provider_ref(entry: Mapping[str, Any], by_urn: Mapping[str, Mapping[str, Any]], stack: str, project: str) -> ProviderRef | None:
    """The provider the engine reports to analyzers for a plan entry (None for components and providers themselves)."""
    if not entry.get("custom", True) or str(entry["type"]).startswith("pulumi:providers:"):
        return None
    package = str(entry["type"]).split(":", 1)[0]
    ref = str(entry.get("provider") or "")
    if not ref:  # the engine would pick (and report) the package's default provider
        return ProviderRef(f"pulumi:providers:{package}", _default_provider_urn(entry, stack, project), "default", {})
    prov_urn = ref.rsplit("::", 1)[0] if ref.count("::") >= 4 else ref  # "<urn>::<id>"
    prov = by_urn.get(prov_urn)
    return ProviderRef(prov["type"] if prov else f"pulumi:providers:{package}", prov_urn, prov_urn.rsplit("::", 1)[-1],
                       prov["inputs"] if prov else {})


def check_plan(plan: Mapping[str, Any], policies: Sequence[Policy] | None = None, config: Mapping[str, Any] | None = None) -> CheckResult:
    """Run every policy over a plan (the `planfile` schema); `config` is passed to every policy."""
    policies = load_policies() if policies is None else list(policies)
    stack, project = str(plan.get("stack", "")), str(plan.get("project", ""))
    policy_config = {"secretMarkers": True, **(config or {})}
    entries = list(plan.get("resources", []))
    by_urn = {e["urn"]: e for e in entries}
    result = CheckResult(stack=stack, rules=len(policies))
    # One deserialized, unknown-checking copy of each resource's inputs, and one provider resource, serve every
    # policy. The analyzer (pulumi_policy's Analyze) deserializes per policy so that no policy sees another's writes;
    # no rule of this pack writes to what it is given (tests/test_policies.py holds every stack to that), so one copy
    # gives the same results at a fraction of the cost.
    props = {e["urn"]: _props(e["inputs"]) for e in entries}
    refs = {e["urn"]: provider_ref(e, by_urn, stack, project) for e in entries}
    providers = {urn: PolicyProviderResource(ref.type, _props(ref.inputs), ref.urn, ref.name)
                 for urn, ref in refs.items() if ref is not None}

    def provider_of(entry: Mapping[str, Any]) -> PolicyProviderResource | None:
        return providers.get(entry["urn"])

    def opts_of(entry: Mapping[str, Any]) -> PolicyResourceOptions:
        return PolicyResourceOptions(
            bool(entry.get("protect")), list(entry.get("ignoreChanges", [])), None, [], PolicyCustomTimeouts(0, 0, 0), [],
            entry.get("parent") or None,
        )

    def report_into(policy: Policy, default_urn: str):  # type: ignore[no-untyped-def]
        def report(message: str, urn: str | None = None) -> None:
            result.violations.append(Violation(
                policy.name, _level(policy).value, urn or default_urn, message, policy.remediation_steps or "",
            ))
        return report

    active = [p for p in policies if _level(p) != EnforcementLevel.DISABLED]
    for policy in active:
        if not isinstance(policy, ResourceValidationPolicy):
            continue
        for entry in entries:
            if not entry.get("custom", True) or str(entry["type"]).startswith("pulumi:providers:"):
                continue
            args = ResourceValidationArgs(
                entry["type"], props[entry["urn"]], entry["urn"], entry["name"], opts_of(entry), provider_of(entry), dict(policy_config),
            )
            try:
                _run(policy.validate(args, report_into(policy, entry["urn"])))
            except UnknownValueError as exc:
                result.skipped.append(Skip(policy.name, entry["urn"], f"can't run during preview: {exc.message}"))
            except _NotApplicableError as exc:
                result.skipped.append(Skip(policy.name, entry["urn"], exc.message))

    resources: dict[str, PolicyResource] = {}
    for entry in entries:
        resources[entry["urn"]] = PolicyResource(
            entry["type"], props[entry["urn"]], entry["urn"], entry["name"], opts_of(entry), provider_of(entry), None, [], {},
        )
    for entry in entries:
        res = resources[entry["urn"]]
        res.parent = resources.get(entry.get("parent") or "")
        res.dependencies = [resources[d] for d in entry.get("dependencies", []) if d in resources]
    for policy in active:
        if not isinstance(policy, StackValidationPolicy):
            continue
        args_stack = StackValidationArgs(list(resources.values()), dict(policy_config))
        try:
            _run(policy.validate(args_stack, report_into(policy, "")))
        except UnknownValueError as exc:
            result.skipped.append(Skip(policy.name, "", f"can't run during preview: {exc.message}"))
        except _NotApplicableError as exc:
            result.skipped.append(Skip(policy.name, "", exc.message))
    return result


def check_recording(recording: Recording, policies: Sequence[Policy] | None = None, config: Mapping[str, Any] | None = None) -> CheckResult:
    """The same as `check_plan(planfile.to_plan(recording))`: secrets reach the rules as "[secret]"."""
    return check_plan(planfile.to_plan(recording), policies, config)


def render(result: CheckResult) -> str:
    lines = []
    for v in sorted(result.violations, key=lambda v: (not v.mandatory, v.policy, v.urn)):
        lines.append(f"[{v.level}] {v.policy}: {v.message}")
        lines.append(f"    resource: {v.urn or '(stack)'}")
        lines.append(f"    remediation: {v.remediation}")
    mandatory = len(result.mandatory)
    lines.append(f"brickwall check: stack {result.stack}: {result.rules} rules ran: {len(result.violations)} violation(s), "
                 f"{mandatory} mandatory, {len(result.skipped)} check(s) skipped")
    return "\n".join(lines) + "\n"
