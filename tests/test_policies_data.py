"""The data-source rules of the policy pack (policies/brickwall_rules/data.py): each insecure mutation of prod's plan
is caught by its rule with a message naming the problem; the clean stacks pass (tests/test_policies.py)."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from brickwall import check, planfile
from brickwall.engine import Recording
from tests.policy_cases import POLICIES, Mutations, Plan, check_mutation, drop, inputs, res

LAKE, SQL, DB = "prod-data-lake", "prod-data-sql-server", "prod-data-sql-database"
ROLE_IDS = "/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Authorization/roleDefinitions/"
OWNER, CONTRIBUTOR = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "b24988ac-6180-42a0-ab88-20f7382dd24c"
ACCOUNT_CONTRIBUTOR, BLOB_OWNER = "17d1049b-9a84-46fb-8f53-869881c3d3ab", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"


def lake(plan: Plan) -> dict:
    return inputs(plan, LAKE)


def grant(plan: Plan, role: str, container: str = "raw") -> None:
    inputs(plan, f"prod-data-lake-{container}-role")["roleDefinitionId"] = ROLE_IDS + role


def account_scope(plan: Plan) -> None:
    role = inputs(plan, "prod-data-lake-raw-role")
    role["scope"] = role["scope"].split("/blobServices/")[0]
    role["roleDefinitionId"] = ROLE_IDS + CONTRIBUTOR


def existing_lake_owner(plan: Plan) -> None:
    """An existing lake (not created here, known only by its dfs endpoint) still gets no broad role."""
    drop(plan, LAKE)
    grant(plan, OWNER)


def unprotect(name: str) -> Callable[[Plan], None]:
    return lambda p: res(p, name).update(protect=False, retainOnDelete=False)


MUTATIONS: Mutations = {
    # id: (expected policy, mutation, text the message must contain)
    "storage-tls-1-0": ("storage-account-tls-1-2", lambda p: lake(p).update(minimumTlsVersion="TLS1_0"), "'TLS1_0'"),
    "storage-tls-unset": ("storage-account-tls-1-2", lambda p: lake(p).pop("minimumTlsVersion"), "None"),
    "storage-shared-key-on": ("storage-account-no-shared-key", lambda p: lake(p).update(allowSharedKeyAccess=True), "True"),
    "storage-shared-key-unset": ("storage-account-no-shared-key", lambda p: lake(p).pop("allowSharedKeyAccess"), "unset means true"),
    "storage-http-allowed": ("storage-account-https-only", lambda p: lake(p).update(enableHttpsTrafficOnly=False), "False"),
    "storage-public-blobs": ("storage-account-no-public-blob-access", lambda p: lake(p).update(allowBlobPublicAccess=True), "anonymously"),
    "storage-public-blobs-unset": ("storage-account-no-public-blob-access", lambda p: lake(p).pop("allowBlobPublicAccess"), "None"),
    "storage-default-allow": ("storage-account-firewall-default-deny",
                              lambda p: lake(p)["networkRuleSet"].update(defaultAction="Allow"), "'Allow'"),
    "storage-no-firewall": ("storage-account-firewall-default-deny", lambda p: lake(p).pop("networkRuleSet"), "unset means Allow"),
    "lake-public": ("data-lake-no-public-network-access", lambda p: lake(p).update(publicNetworkAccess="Enabled"), "'Enabled'"),
    "lake-public-unset": ("data-lake-no-public-network-access", lambda p: lake(p).pop("publicNetworkAccess"), "None"),
    "lake-by-tag-public": ("data-lake-no-public-network-access",
                           lambda p: lake(p).update(isHnsEnabled=False, publicNetworkAccess="Enabled"), "data lake"),
    "lake-no-dfs-endpoint": ("data-lake-private-endpoints", lambda p: drop(p, "prod-data-lake-dfs-pe"), "no 'dfs' private endpoint"),
    "lake-no-blob-endpoint": ("data-lake-private-endpoints", lambda p: drop(p, "prod-data-lake-blob-pe"), "no 'blob' private endpoint"),
    "lake-blob-no-zone-group": ("data-lake-private-endpoints", lambda p: drop(p, "prod-data-lake-blob-dns"), "DNS zone group"),
    "lake-role-owner": ("data-lake-role-least-privilege", lambda p: grant(p, OWNER), "grants Owner"),
    "lake-role-account-contributor": ("data-lake-role-least-privilege", lambda p: grant(p, ACCOUNT_CONTRIBUTOR, "curated"),
                                      "grants Storage Account Contributor"),
    "lake-role-blob-owner": ("data-lake-role-least-privilege", lambda p: grant(p, BLOB_OWNER, "sandbox"), "Storage Blob Data Owner"),
    "lake-role-contributor-on-account": ("data-lake-role-least-privilege", account_scope, "grants Contributor"),
    "existing-lake-role-owner": ("data-lake-role-least-privilege", existing_lake_owner, "grants Owner"),
    "sql-public": ("sql-server-no-public-access", lambda p: inputs(p, SQL).update(publicNetworkAccess="Enabled"), "'Enabled'"),
    "sql-public-unset": ("sql-server-no-public-access", lambda p: inputs(p, SQL).pop("publicNetworkAccess"), "unset means Enabled"),
    "sql-sql-auth-allowed": ("sql-server-entra-only",
                             lambda p: inputs(p, SQL)["administrators"].update(azureADOnlyAuthentication=False), "azureADOnlyAuthentication"),
    "sql-no-admins": ("sql-server-entra-only", lambda p: inputs(p, SQL).pop("administrators"), "Entra-only"),
    "sql-admin-login": ("sql-server-entra-only",
                        lambda p: inputs(p, SQL).update(administratorLogin="sqladmin", administratorLoginPassword="[secret]"),
                        "administratorLoginPassword"),
    "sql-tls-1-0": ("sql-server-tls-1-2", lambda p: inputs(p, SQL).update(minimalTlsVersion="1.0"), "'1.0'"),
    "sql-no-endpoint": ("sql-server-private-endpoint", lambda p: drop(p, "prod-data-sql-pe"), "no private endpoint"),
    "sql-database-single-zone": ("sql-database-zone-redundant-in-prod", lambda p: inputs(p, DB).update(zoneRedundant=False),
                                "not zone redundant"),
    "sql-database-zone-unset": ("sql-database-zone-redundant-in-prod", lambda p: inputs(p, DB).pop("zoneRedundant"),
                                "not zone redundant"),
    "lake-unprotected": ("data-protected-in-prod", unprotect(LAKE), "data lake"),
    "sql-server-unprotected": ("data-protected-in-prod", unprotect(SQL), "SQL server"),
    "sql-database-unprotected": ("data-protected-in-prod", unprotect(DB), "SQL database"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_insecure_data_mutation_is_caught(case: str, prod_plan: Plan) -> None:
    result = check_mutation(prod_plan, MUTATIONS, case)
    assert not result.ok  # every data rule is mandatory


def test_every_data_rule_has_a_mutation() -> None:
    import brickwall_rules.data

    assert {p.name for p in brickwall_rules.data.RULES} == {expected for expected, _, _ in MUTATIONS.values()}


def test_clean_prod_plan_passes_the_data_rules(prod_plan: Plan) -> None:
    import brickwall_rules.data

    names = {p.name for p in brickwall_rules.data.RULES}
    result = check.check_plan(prod_plan, POLICIES)
    assert [v for v in result.violations if v.policy in names] == []
    assert not [s for s in result.skipped if s.policy in names]


def test_a_store_that_is_no_lake_may_keep_a_public_endpoint(prod_plan: Plan) -> None:
    """Only data lakes (HNS or tagged data-lake) need public access Disabled: a flow-log store written by a trusted
    Azure service keeps its public endpoint behind a default-deny firewall."""
    plan = copy.deepcopy(prod_plan)
    lake(plan).update(isHnsEnabled=False, publicNetworkAccess="Enabled")
    lake(plan)["tags"].pop("data-lake")
    result = check.check_plan(plan, POLICIES)
    assert not result.of("data-lake-no-public-network-access")
    assert not result.of("data-lake-private-endpoints") and not result.of("data-protected-in-prod")


def test_roles_outside_the_lake_are_not_the_lake_rules_business(prod_plan: Plan) -> None:
    plan = copy.deepcopy(prod_plan)
    role = inputs(plan, "prod-data-lake-raw-role")
    role.update(scope=role["scope"].replace("dlbwprodweup7k2", "someoneelses"), roleDefinitionId=ROLE_IDS + OWNER)
    assert not check.check_plan(plan, POLICIES).of("data-lake-role-least-privilege")


def test_unprotected_data_is_fine_below_prod(prod_plan: Plan, staging: Recording) -> None:
    plan = copy.deepcopy(prod_plan)
    unprotect(LAKE)(plan)
    unprotect(SQL)(plan)
    assert not check.check_plan(plan, POLICIES, config={"tier": "staging"}).of("data-protected-in-prod")
    assert check.check_plan(plan, POLICIES).of("data-protected-in-prod")
    staging_plan = planfile.to_plan(staging)
    res(staging_plan, "staging-data-lake").update(protect=False)
    assert not check.check_plan(staging_plan, POLICIES).of("data-protected-in-prod")
    assert check.check_plan(staging_plan, POLICIES, config={"tier": "prod"}).of("data-protected-in-prod")
