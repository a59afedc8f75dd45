"""The key and lock rules (policies/brickwall_rules/keys.py): every stack passes them, each insecure mutation of
prod's plan is caught by the rule meant for it, with a message naming what is wrong."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from brickwall import check, planfile
from brickwall.engine import Recording
from tests.policy_cases import POLICIES, Mutations, Plan, check_mutation, drop, inputs, res

KEY_RULES = ("keyvault-hardened", "keyvault-key-rotation-policy", "keyvault-key-hsm-in-prod", "databricks-workspace-cmk-in-prod",
             "databricks-dbfs-key-needs-prepared-workspace", "prod-data-resources-locked", "no-locks-in-dev")
WS = "prod-workspace-workspace"


def vault(plan: Plan) -> dict[str, Any]:
    return inputs(plan, "prod-keys-vault")["properties"]


def entities(plan: Plan) -> dict[str, Any]:
    return inputs(plan, WS)["encryption"]["entities"]


def params(plan: Plan) -> dict[str, Any]:
    return inputs(plan, WS)["parameters"]


MUTATIONS: Mutations = {
    # id: (expected policy, mutation, text the message must contain)
    "vault-access-policies": ("keyvault-hardened", lambda p: vault(p).update(enableRbacAuthorization=False), "enableRbacAuthorization"),
    "vault-rbac-unset": ("keyvault-hardened", lambda p: vault(p).pop("enableRbacAuthorization"), "enableRbacAuthorization"),
    "vault-no-purge-protection": ("keyvault-hardened", lambda p: vault(p).pop("enablePurgeProtection"), "enablePurgeProtection"),
    "vault-soft-delete-off": ("keyvault-hardened", lambda p: vault(p).update(enableSoftDelete=False), "enableSoftDelete"),
    "vault-public": ("keyvault-hardened", lambda p: vault(p).update(publicNetworkAccess="Enabled"), "'Enabled'"),
    "vault-public-unset": ("keyvault-hardened", lambda p: vault(p).pop("publicNetworkAccess"), "None"),
    "vault-firewall-allow": ("keyvault-hardened", lambda p: vault(p)["networkAcls"].update(defaultAction="Allow"), "'Allow'"),
    "vault-no-firewall": ("keyvault-hardened", lambda p: vault(p).pop("networkAcls"), "networkAcls.defaultAction"),
    "key-no-rotation-policy": ("keyvault-key-rotation-policy", lambda p: inputs(p, "prod-keys-key")["properties"].pop("rotationPolicy"),
                               "cmk-databricks"),
    "key-notify-only": ("keyvault-key-rotation-policy",
                        lambda p: inputs(p, "prod-keys-key")["properties"]["rotationPolicy"]["lifetimeActions"].pop(0), "rotate"),
    "workspace-no-managed-services-key": ("databricks-workspace-cmk-in-prod", lambda p: entities(p).pop("managedServices"),
                                          "managedServices"),
    "workspace-managed-services-default-key": ("databricks-workspace-cmk-in-prod",
                                               lambda p: entities(p)["managedServices"].update(keySource="Default"), "managedServices"),
    "workspace-no-disk-key": ("databricks-workspace-cmk-in-prod", lambda p: entities(p).pop("managedDisk"), "managedDisk"),
    "workspace-disk-pinned-version": ("databricks-workspace-cmk-in-prod",
                                      lambda p: entities(p)["managedDisk"].update(rotationToLatestKeyVersionEnabled=False),
                                      "rotationToLatestKeyVersionEnabled"),
    "workspace-no-encryption": ("databricks-workspace-cmk-in-prod", lambda p: inputs(p, WS).pop("encryption"), "managedServices"),
    "workspace-not-prepared": ("databricks-workspace-cmk-in-prod", lambda p: params(p).pop("prepareEncryption"), "prepareEncryption"),
    "workspace-no-infrastructure-encryption": ("databricks-workspace-cmk-in-prod",
                                               lambda p: params(p)["requireInfrastructureEncryption"].update(value=False),
                                               "requireInfrastructureEncryption"),
    "dbfs-key-on-unprepared-workspace": ("databricks-dbfs-key-needs-prepared-workspace",
                                         lambda p: params(p)["prepareEncryption"].update(value=False), "without prepareEncryption"),
    "no-workspace-lock": ("prod-data-resources-locked", lambda p: drop(p, "prod-locks-workspace"), "microsoft.databricks/workspaces/dbw-bw-prod-weu"),
    "no-vault-lock": ("prod-data-resources-locked", lambda p: drop(p, "prod-locks-key-vault"), "microsoft.keyvault/vaults/kvbwprodweup7k2"),
    "no-log-analytics-lock": ("prod-data-resources-locked", lambda p: drop(p, "prod-locks-log-analytics"),
                              "microsoft.operationalinsights/workspaces/log-bw-prod-weu"),
    "no-webauth-workspace-lock": ("prod-data-resources-locked", lambda p: drop(p, "prod-locks-webauth-workspace"),
                                  "microsoft.databricks/workspaces/webauth_do_not_delete_westeurope"),
    "software-key-in-prod": ("keyvault-key-hsm-in-prod", lambda p: inputs(p, "prod-keys-key")["properties"].update(kty="RSA"),
                             "'RSA'"),
    "no-lake-lock": ("prod-data-resources-locked", lambda p: drop(p, "prod-locks-data-lake"), "microsoft.storage/storageaccounts/dlbwprodweup7k2"),
    "lock-level-not-specified": ("prod-data-resources-locked", lambda p: inputs(p, "prod-locks-key-vault").update(level="NotSpecified"),
                                 "kvbwprodweup7k2"),
    "lock-on-the-wrong-resource": ("prod-data-resources-locked", lambda p: inputs(p, "prod-locks-data-lake").update(
        scope=inputs(p, "prod-locks-workspace")["scope"]), "dlbwprodweup7k2"),
}


@pytest.mark.parametrize("case", sorted(MUTATIONS))
def test_insecure_key_mutation_is_caught(case: str, prod_plan: Plan) -> None:
    result = check_mutation(prod_plan, MUTATIONS, case)
    assert not result.ok


def test_every_key_rule_is_in_the_pack_with_its_mutation() -> None:
    names = {p.name for p in POLICIES}
    assert set(KEY_RULES) <= names
    mandatory = {p.name for p in POLICIES if p.name in KEY_RULES and p.enforcement_level.value == "mandatory"}
    assert {rule for rule, _, _ in MUTATIONS.values()} == mandatory == set(KEY_RULES) - {"no-locks-in-dev"}


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_stacks_pass_the_key_rules(stack: str, dev: Recording, staging: Recording, prod: Recording) -> None:
    rec = {"dev": dev, "staging": staging, "prod": prod}[stack]
    result = check.check_recording(rec, POLICIES)
    assert not [v for v in result.violations if v.policy in KEY_RULES], check.render(result)


def test_locks_in_dev_are_reported_as_advisory(prod_plan: Plan) -> None:
    result = check.check_plan(copy.deepcopy(prod_plan), POLICIES, config={"tier": "dev"})
    flagged = result.of("no-locks-in-dev")
    # The four data-bearing resources and the browser-authentication workspace.
    assert len(flagged) == 5 and all("tear itself down" in v.message for v in flagged)
    assert not result.of("prod-data-resources-locked") and not result.of("databricks-workspace-cmk-in-prod")


def test_staging_may_drop_a_lock_and_dev_needs_no_keys(staging: Recording, dev: Recording) -> None:
    plan = planfile.to_plan(staging)
    drop(plan, "staging-locks-key-vault")
    params_ = inputs(plan, "staging-workspace-workspace")["parameters"]
    params_.pop("requireInfrastructureEncryption")
    result = check.check_plan(plan, POLICIES)
    assert not result.of("prod-data-resources-locked") and not result.of("databricks-workspace-cmk-in-prod")
    # ... but the same workspace under prod's rules is missing its infrastructure encryption.
    assert check.check_plan(plan, POLICIES, config={"tier": "prod"}).of("databricks-workspace-cmk-in-prod")
    assert not check.check_recording(dev, POLICIES).of("databricks-workspace-cmk-in-prod")


def test_lock_rule_follows_dependencies_when_the_scope_is_not_known(prod_plan: Plan) -> None:
    """Under the real engine a lock's scope may be absent from its outputs; the lock's dependency on its target counts."""
    plan = copy.deepcopy(prod_plan)
    inputs(plan, "prod-locks-key-vault").pop("scope")
    assert not check.check_plan(plan, POLICIES).of("prod-data-resources-locked")
    res(plan, "prod-locks-key-vault")["dependencies"] = []
    assert check.check_plan(plan, POLICIES).of("prod-data-resources-locked")
