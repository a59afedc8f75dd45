"""The identity rules of the policy pack (policies/brickwall_rules/access.py) on prod's plan: no workspace-local
groups, and in prod one ADMIN workspace assignment (the break-glass group), never a user."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from brickwall import check
from tests.policy_cases import POLICIES, Mutations, Plan, check_mutation, inputs, res

GROUP = "databricks:index/group:Group"


def add_group(plan: Plan, provider_name: str) -> dict[str, Any]:
    """A databricks Group registered through the named provider, shaped like the plan's other Databricks entries."""
    template = res(plan, "prod-access-group-data-engineers-entitlements")
    provider = res(plan, provider_name)
    entry = copy.deepcopy(template)
    entry.update(type=GROUP, name="prod-access-group-local", urn=template["urn"].replace(
        "databricks:index/entitlements:Entitlements::prod-access-group-data-engineers-entitlements",
        f"{GROUP}::prod-access-group-local"),
        provider=f"{provider['urn']}::{provider.get('id') or 'mock-' + provider_name}",
        inputs={"displayName": "data-engineers-local", "externalId": "3f2b8c1e-6d4a-4e8f-9a1b-2c3d4e5f6a70"})
    plan["resources"].append(entry)
    return entry


def user_admin(plan: Plan) -> None:
    entry = res(plan, "prod-access-assign-databricks-prod-break-glass")
    entry["type"] = "databricks:index/permissionAssignment:PermissionAssignment"
    entry["inputs"] = {"userName": "alice@contoso.com", "permissions": ["ADMIN"]}


MUTATIONS: Mutations = {
    "workspace-local-group": ("databricks-no-workspace-local-groups", lambda p: add_group(p, "prod-databricks"),
                              "'data-engineers-local' is created through a workspace provider"),
    "second-admin-assignment": ("databricks-prod-admin-is-break-glass-only",
                                lambda p: inputs(p, "prod-access-assign-analysts").update(permissions=["ADMIN"]),
                                "2 ADMIN workspace assignments"),
    "user-admin-assignment": ("databricks-prod-admin-is-break-glass-only", user_admin, "makes a person workspace admin"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_identity_mutation_is_caught(case: str, prod_plan: Plan) -> None:
    check_mutation(prod_plan, MUTATIONS, case)


def test_prod_plan_passes_the_identity_rules(prod_plan: Plan) -> None:
    result = check.check_plan(prod_plan, POLICIES)
    for rule in ("databricks-no-workspace-local-groups", "databricks-prod-admin-is-break-glass-only"):
        assert result.of(rule) == [], check.render(result)


def test_an_account_group_through_the_account_provider_passes(prod_plan: Plan) -> None:
    plan = copy.deepcopy(prod_plan)
    add_group(plan, "prod-databricks-account")
    assert check.check_plan(plan, POLICIES).of("databricks-no-workspace-local-groups") == []


def test_lower_tiers_may_have_several_admin_assignments(prod_plan: Plan) -> None:
    plan = copy.deepcopy(prod_plan)
    inputs(plan, "prod-access-assign-analysts").update(permissions=["ADMIN"])
    result = check.check_plan(plan, POLICIES, config={"tier": "staging"})
    assert result.of("databricks-prod-admin-is-break-glass-only") == []
