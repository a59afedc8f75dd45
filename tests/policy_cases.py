"""The harness of the policy-pack tests (tests/test_policies*.py): the loaded pack, lookups into a plan's resources
and the check that an insecure mutation of a clean plan is caught by the rule meant for it.

A plain module (not collected): the test files import its helpers, never each other's tests.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

from pulumi_policy import proxy

from brickwall import check

POLICIES = check.load_policies()
Plan = dict[str, Any]
# id: (expected policy, mutation, text the message must contain)
Mutations = dict[str, tuple[str, Callable[[Plan], None], str]]


def res(plan: Plan, name: str) -> dict[str, Any]:
    found = [r for r in plan["resources"] if r["name"] == name]
    assert len(found) == 1, name
    return found[0]


def drop(plan: Plan, name: str) -> None:
    plan["resources"].remove(res(plan, name))


def inputs(plan: Plan, name: str) -> dict[str, Any]:
    return res(plan, name)["inputs"]


@contextlib.contextmanager
def writes_refused() -> Iterator[None]:
    """brickwall/check.py gives every policy one deserialized copy of a resource's inputs (the analyzer gives each
    its own): the same check only while no rule writes to what it is given. Inside this, a write fails the test."""
    def refuse(self: Any, key: str, value: Any) -> None:
        raise AssertionError(f"a policy wrote {key!r} into the props it was given")

    with mock.patch.object(proxy._DictProxy, "__setitem__", refuse):
        yield


def check_mutation(clean: Plan, mutations: Mutations, case: str, stack: str | None = "prod") -> check.CheckResult:
    """Check a copy of `clean` changed by `mutations[case]`: its expected policy flags it, with the expected text in a
    message, and (given the `stack` the plan comes from) every such violation has a remediation and that stack's URN."""
    expected, mutate, text = mutations[case]
    plan = copy.deepcopy(clean)
    mutate(plan)
    with writes_refused():  # every rule's branches that a mutation reaches write nothing either
        result = check.check_plan(plan, POLICIES)
    caught = result.of(expected)
    assert caught, f"{expected} missed {case}:\n{check.render(result)}"
    assert any(text in v.message for v in caught), check.render(result)
    if stack is not None:
        assert all(v.remediation and v.urn.startswith(f"urn:pulumi:{stack}::") for v in caught)
    return result
