"""Customer-managed keys and locks, over the recorded registrations of each tier and of a few spec variants.

prod runs DBFS root encryption in its steady state ("apply"), staging in its first deployment ("prepare"), dev has
no customer-managed keys and no locks. Variants (built once per session): staging with dbfs_root "off", staging
with an existing vault, and prod's first preview.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import stacks
from brickwall import planfile, project
from brickwall.engine import SUBSCRIPTION_ID, UNKNOWN, Recording, Registration, Secret, stable_guid
from components.planning.keys import (
    CRYPTO_SERVICE_ENCRYPTION_USER,
    KeyRotation,
    key_rotation,
    key_version_of,
    parse_vault_id,
    role_assignment_name,
    role_definition_id,
)
from tests.spec_cases import mutate

VAULT = "azure-native:keyvault:Vault"
KEY = "azure-native:keyvault:Key"
GRANT = "azure-native:authorization:RoleAssignment"
LOCK = "azure-native:authorization:ManagementLockByScope"
WORKSPACE = "azure-native:databricks:Workspace"
ENDPOINT = "azure-native:network:PrivateEndpoint"
EXISTING_VAULT = "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-keys/providers/Microsoft.KeyVault/vaults/kv-shared-keys"
APP = "6a1e2f3b-9c8d-4e7f-8a6b-5c4d3e2f1a09"  # the AzureDatabricks application's object id in staging and prod
HEX_VERSION = re.compile(r"[0-9a-f]{32}")


def _variant(tmp: Path, stack: str, changes: dict[str, object]) -> Recording:
    path = tmp / f"{stack}-{len(list(tmp.iterdir()))}.json"
    path.write_text(json.dumps(mutate(stacks.load(stack).model_dump(mode="json"), changes)))
    return project.run(stack, spec_file=path)


@pytest.fixture(scope="module")
def variants_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("key-variants")


@pytest.fixture(scope="module")
def staging_variant(variants_dir: Path) -> Recording:
    """One render of staging with two independent changes, each read by its own tests: the DBFS root left unencrypted
    by our key, and the key in someone else's (HSM) vault."""
    return _variant(variants_dir, "staging", {"encryption.dbfs_root": "off",
                                              "encryption.key_vault.existing_id": EXISTING_VAULT, "encryption.hsm": True})


@pytest.fixture(scope="module")
def dbfs_off(staging_variant: Recording) -> Recording:
    return staging_variant


@pytest.fixture(scope="module")
def existing_vault(staging_variant: Recording) -> Recording:
    return staging_variant


def workspace(rec: Recording) -> Registration:
    return rec.one(WORKSPACE, f"{rec.stack}-workspace-workspace")


def named(rec: Recording, name: str) -> Registration:
    return next(r for r in rec.registrations if r.name == name)


def ancestors(rec: Recording, reg: Registration) -> set[str]:
    """Every URN `reg` depends on, directly or through other resources' dependencies."""
    seen: set[str] = set()
    todo = list(reg.dependencies)
    while todo:
        urn = todo.pop()
        if urn not in seen:
            seen.add(urn)
            todo += rec.by_urn(urn).dependencies
    return seen


def workspace_endpoints(rec: Recording) -> list[Registration]:
    ws_id = f"/resourceGroups/rg-bw-{rec.stack}-weu/providers/Microsoft.Databricks/workspaces/{workspace(rec).inputs['workspaceName']}"
    found = [pe for pe in rec.of_type(ENDPOINT)
             if any(c["privateLinkServiceId"].endswith(ws_id) for c in pe.inputs["privateLinkServiceConnections"])]
    assert found
    return found


def storage_endpoints(rec: Recording) -> list[Registration]:
    return [named(rec, f"{rec.stack}-private-link-{group}-pe") for group in ("dfs", "blob")]


def key_uri(rec: Recording) -> tuple[str, str]:
    key = rec.one(KEY)
    return f"https://{key.inputs['vaultName']}.vault.azure.net/", str(key.inputs["keyName"])


# --- the vault -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_vault_is_rbac_only_purge_protected_and_private(stack: str, staging: Recording, prod: Recording) -> None:
    rec = {"staging": staging, "prod": prod}[stack]
    vault = rec.one(VAULT)
    spec = stacks.load(stack)
    assert vault.inputs["vaultName"] == spec.names.key_vault
    assert vault.inputs["resourceGroupName"] == spec.names.resource_group
    assert vault.inputs["properties"] == {
        "tenantId": "00000000-0000-0000-0000-000000000000",  # the provider's tenant (getClientConfig) when none is set
        "sku": {"family": "A", "name": "premium"},
        "enableRbacAuthorization": True,
        "enableSoftDelete": True,
        "softDeleteRetentionInDays": 90,
        "enablePurgeProtection": True,
        "publicNetworkAccess": "Disabled",
        "networkAcls": {"defaultAction": "Deny", "bypass": "AzureServices"},
        "enabledForDeployment": False,
        "enabledForDiskEncryption": False,
        "enabledForTemplateDeployment": False,
    }
    assert "accessPolicies" not in vault.inputs["properties"]
    assert vault.protect and vault.retain_on_delete
    assert vault.inputs["tags"]["managed-by"] == "brickwall"


def test_vault_has_its_own_private_endpoint_and_zone(prod: Recording) -> None:
    vault = prod.one(VAULT)
    vault_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-bw-prod-weu/providers/Microsoft.KeyVault/vaults/{vault.inputs['vaultName']}"
    pe = named(prod, "prod-keys-vault-pe")
    assert pe.inputs["privateEndpointName"] == "pe-bw-prod-weu-kv"
    assert pe.inputs["subnet"]["id"].endswith("/virtualNetworks/vnet-bw-prod-weu/subnets/snet-private-endpoints")
    [conn] = pe.inputs["privateLinkServiceConnections"]
    assert conn["groupIds"] == ["vault"] and conn["privateLinkServiceId"] == vault_id
    zone = named(prod, "prod-keys-vault-zone")
    assert zone.inputs["privateZoneName"] == "privatelink.vaultcore.azure.net"
    link = named(prod, "prod-keys-vault-workspace-vnet-link")
    assert link.inputs["virtualNetwork"]["id"].endswith("/virtualNetworks/vnet-bw-prod-weu")
    assert link.inputs["registrationEnabled"] is False
    group = named(prod, "prod-keys-vault-dns")
    assert group.inputs["privateEndpointName"] == "pe-bw-prod-weu-kv"
    assert [c["privateDnsZoneId"] for c in group.inputs["privateDnsZoneConfigs"]] == [
        f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-bw-prod-weu/providers/Microsoft.Network/privateDnsZones/privatelink.vaultcore.azure.net"]
    # One zone of that name in the environment.
    assert [z.name for z in prod.of_type("azure-native:privatedns:PrivateZone")
            if z.inputs["privateZoneName"] == "privatelink.vaultcore.azure.net"] == ["prod-keys-vault-zone"]


# --- the key -------------------------------------------------------------------------------------------------


def test_key_rotates_and_only_wraps(prod: Recording) -> None:
    key = prod.one(KEY)
    assert key.inputs["keyName"] == "cmk-databricks"
    assert key.inputs["vaultName"] == prod.one(VAULT).inputs["vaultName"]
    assert key.inputs["properties"] == {
        "kty": "RSA-HSM",  # HSM-protected: prod requires it (tiers.py), premium vault
        "keySize": 3072,
        "keyOps": ["wrapKey", "unwrapKey"],
        "attributes": {"enabled": True, "exportable": False},
        "rotationPolicy": {
            "attributes": {"expiryTime": "P180D"},
            "lifetimeActions": [
                {"action": {"type": "rotate"}, "trigger": {"timeAfterCreate": "P90D"}},
                {"action": {"type": "notify"}, "trigger": {"timeBeforeExpiry": "P30D"}},
            ],
        },
    }
    assert key.protect and key.retain_on_delete
    # The key is created after its vault.
    assert named(prod, "prod-keys-vault").urn in key.dependencies


def test_rotation_policy_planner() -> None:
    assert key_rotation(90) == KeyRotation("P90D", "P180D", "P30D")
    assert key_rotation(30) == KeyRotation("P30D", "P60D", "P30D")
    assert key_rotation(730).expire_after == "P1460D"


def test_no_key_material_or_secret_leaves_the_program(prod: Recording) -> None:
    """Keys are generated inside the vault: no key value, no Key Vault secret, and the plan file carries none."""
    assert not prod.of_type("azure-native:keyvault:Secret")
    for reg in (*prod.of_type(KEY), *prod.of_type(VAULT), *prod.of_type(GRANT)):
        text = json.dumps(reg.inputs, default=str)
        assert not any(isinstance(v, Secret) for v in reg.inputs.values())
        assert '"k"' not in text and "releasePolicy" not in text and "Secret(" not in text
    plan = planfile.to_plan(prod)
    key = next(r for r in plan["resources"] if r["type"] == KEY)
    assert set(key["inputs"]["properties"]) == {"kty", "keySize", "keyOps", "attributes", "rotationPolicy"}
    # The one secret the environment holds (the Databricks client secret) is still a secret in the plan file.
    provider = next(r for r in plan["resources"] if r["type"] == "pulumi:providers:databricks")
    assert provider["inputs"].get("azureClientSecret", planfile.SECRET_PLACEHOLDER) == planfile.SECRET_PLACEHOLDER


# --- the workspace, per DBFS root mode -----------------------------------------------------------------------


def _entities(rec: Recording) -> dict:
    vault_uri, name = key_uri(rec)
    version = workspace(rec).input("encryption.entities.managedServices.keyVaultProperties.keyVersion")
    assert HEX_VERSION.fullmatch(version)
    props = {"keyVaultUri": vault_uri, "keyName": name, "keyVersion": version}
    return {
        "managedServices": {"keySource": "Microsoft.Keyvault", "keyVaultProperties": props},
        "managedDisk": {"keySource": "Microsoft.Keyvault", "keyVaultProperties": props, "rotationToLatestKeyVersionEnabled": True},
    }


def test_prod_applies_every_key(prod: Recording) -> None:
    ws = workspace(prod)
    assert ws.inputs["encryption"] == {"entities": _entities(prod)}
    params = ws.inputs["parameters"]
    assert params["prepareEncryption"] == {"value": True}
    assert params["requireInfrastructureEncryption"] == {"value": True}
    vault_uri, name = key_uri(prod)
    assert params["encryption"] == {"value": {
        "keySource": "Microsoft.Keyvault", "keyName": name, "keyVaultUri": vault_uri,
        "keyVersion": ws.input("encryption.entities.managedServices.keyVaultProperties.keyVersion"),
    }}
    assert vault_uri == "https://kvbwprodweup7k2.vault.azure.net/"


def test_staging_prepares_the_dbfs_root_without_applying_its_key(staging: Recording) -> None:
    ws = workspace(staging)
    assert ws.inputs["encryption"] == {"entities": _entities(staging)}
    params = ws.inputs["parameters"]
    assert params["prepareEncryption"] == {"value": True}
    assert params["requireInfrastructureEncryption"] == {"value": True}
    assert "encryption" not in params


def test_dbfs_root_off_neither_prepares_nor_grants(dbfs_off: Recording) -> None:
    ws = workspace(dbfs_off)
    params = ws.inputs["parameters"]
    assert "prepareEncryption" not in params and "encryption" not in params
    assert params["requireInfrastructureEncryption"] == {"value": True}
    assert ws.inputs["encryption"] == {"entities": _entities(dbfs_off)}
    assert sorted(g.name for g in key_grants(dbfs_off)) == ["staging-key-grants-managed-disks-grant", "staging-keys-managed-services-grant"]


def test_dev_has_no_keys_no_encryption_parameters_and_no_locks(dev: Recording) -> None:
    for type_ in (VAULT, KEY, LOCK):
        assert not dev.of_type(type_), type_
    assert not key_grants(dev)
    ws = workspace(dev)
    assert "encryption" not in ws.inputs
    assert not {"prepareEncryption", "requireInfrastructureEncryption", "encryption"} & set(ws.inputs["parameters"])
    assert not [r for r in dev.registrations if r.type.startswith("brickwall:security:")]


def test_every_encryption_setting_stays_a_workspace_input_without_secrets(prod: Recording) -> None:
    ws = workspace(prod)
    assert not isinstance(ws.inputs["encryption"], Secret) and not isinstance(ws.inputs["parameters"], Secret)


# --- grants ----------------------------------------------------------------------------------------------------


def key_grants(rec: Recording) -> list[Registration]:
    """The role assignments on the customer-managed key (other components grant roles on other resources)."""
    return [g for g in rec.of_type(GRANT) if "/keys/" in str(g.inputs.get("scope", ""))
            or g.parent.endswith(("::" + f"{rec.stack}-keys", "::" + f"{rec.stack}-key-grants"))]


def _grants(rec: Recording) -> dict[str, Registration]:
    return {g.name.rsplit("-grant", 1)[0].split("-", 1)[1]: g for g in key_grants(rec)}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_each_identity_holds_the_key_and_nothing_more(stack: str, staging: Recording, prod: Recording) -> None:
    rec = {"staging": staging, "prod": prod}[stack]
    key_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-bw-{stack}-weu/providers/Microsoft.KeyVault/vaults/" \
             f"{rec.one(VAULT).inputs['vaultName']}/keys/cmk-databricks"
    ws_id = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/rg-bw-{stack}-weu/providers/Microsoft.Databricks/workspaces/dbw-bw-{stack}-weu"
    grants = _grants(rec)
    assert set(grants) == {"keys-managed-services", "key-grants-dbfs-root", "key-grants-managed-disks"}
    principals = {
        "keys-managed-services": APP,
        "key-grants-dbfs-root": stable_guid(ws_id, "storage"),  # the workspace's storageAccountIdentity
        "key-grants-managed-disks": stable_guid(ws_id, "disk"),  # its disk encryption set's identity
    }
    for key, grant in grants.items():
        assert grant.inputs["principalId"] == principals[key], key
        assert grant.inputs["principalType"] == "ServicePrincipal"
        assert grant.inputs["scope"] == key_id  # the key, not the vault
        assert grant.inputs["roleDefinitionId"] == (
            f"/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{CRYPTO_SERVICE_ENCRYPTION_USER}")
    names = {g.inputs["roleAssignmentName"] for g in grants.values()}
    assert len(names) == 3
    assert grants["key-grants-dbfs-root"].inputs["roleAssignmentName"] == role_assignment_name(
        stacks.load(stack).names.key_vault, "cmk-databricks", "dbfs-root")


def test_grant_names_are_stable_across_runs(prod: Recording, prod_again: Recording) -> None:
    again = prod_again
    assert {g.urn: g.inputs for g in key_grants(again)} == {g.urn: g.inputs for g in key_grants(prod)}


def test_existing_vault_gets_only_a_key(existing_vault: Recording) -> None:
    assert not existing_vault.of_type(VAULT)
    assert not [r for r in existing_vault.registrations if r.name.startswith("staging-keys-vault")]
    key = existing_vault.one(KEY)
    assert key.inputs["vaultName"] == "kv-shared-keys" and key.inputs["resourceGroupName"] == "rg-keys"
    # ... through a provider for the vault's own subscription.
    provider = existing_vault.by_urn(key.provider.rsplit("::", 1)[0])
    assert provider.name == "staging-azure-key-vault"
    assert provider.inputs["subscriptionId"] == "11111111-2222-3333-4444-555555555555"
    assert key.input("properties.kty") == "RSA-HSM"
    ws = workspace(existing_vault)
    assert ws.input("encryption.entities.managedServices.keyVaultProperties.keyVaultUri") == "https://kv-shared-keys.vault.azure.net/"
    for grant in key_grants(existing_vault):
        assert grant.inputs["roleDefinitionId"].startswith("/subscriptions/11111111-2222-3333-4444-555555555555/providers/")
        assert grant.inputs["scope"] == f"{EXISTING_VAULT}/keys/cmk-databricks"
        assert key.urn in grant.dependencies
    # Someone else's vault: no lock of ours on it; the workspace, lake and logs keep theirs.
    assert sorted(lock.name for lock in existing_vault.of_type(LOCK)) == [
        "staging-locks-data-lake", "staging-locks-log-analytics", "staging-locks-workspace"]


def test_first_preview_leaves_the_workspace_identities_unknown(prod_preview: Recording) -> None:
    grants = _grants(prod_preview)
    assert grants["keys-managed-services"].inputs["principalId"] == APP
    for key in ("key-grants-dbfs-root", "key-grants-managed-disks"):
        assert grants[key].inputs.get("principalId", UNKNOWN) is UNKNOWN


# --- ordering ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_managed_services_grant_comes_before_the_workspace(stack: str, staging: Recording, prod: Recording) -> None:
    rec = {"staging": staging, "prod": prod}[stack]
    grants, ws = _grants(rec), workspace(rec)
    assert grants["keys-managed-services"].urn in ws.dependencies
    assert rec.one(KEY).urn in ancestors(rec, ws)
    order = [r.urn for r in rec.registrations]
    assert order.index(grants["keys-managed-services"].urn) < order.index(ws.urn)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_workspace_identity_grants_follow_the_workspace(stack: str, staging: Recording, prod: Recording) -> None:
    rec = {"staging": staging, "prod": prod}[stack]
    ws = workspace(rec)
    for key in ("key-grants-dbfs-root", "key-grants-managed-disks"):
        grant = _grants(rec)[key]
        assert ws.urn in grant.dependencies
        assert grant.urn not in ancestors(rec, ws)


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_endpoints_never_change_with_the_workspace_encryption(stack: str, staging: Recording, prod: Recording) -> None:
    """Every endpoint on the workspace (and on its storage) waits for the workspace and every key step on it."""
    rec = {"staging": staging, "prod": prod}[stack]
    ws, grants = workspace(rec), _grants(rec)
    for pe in [*workspace_endpoints(rec), *storage_endpoints(rec)]:
        before = ancestors(rec, pe)
        assert ws.urn in before, pe.name
        assert {g.urn for g in grants.values()} <= before, pe.name
        # ... and no key step waits for an endpoint (which would put them in one step the other way round).
        for grant in grants.values():
            assert pe.urn not in ancestors(rec, grant)


def test_with_dbfs_off_endpoints_wait_for_the_disk_grant(dbfs_off: Recording) -> None:
    disk = named(dbfs_off, "staging-key-grants-managed-disks-grant")
    for pe in workspace_endpoints(dbfs_off):
        assert disk.urn in pe.dependencies


def test_databricks_resources_come_after_the_key_steps(prod: Recording) -> None:
    conf = named(prod, "prod-access-conf")
    assert {g.urn for g in key_grants(prod)} <= ancestors(prod, conf)


# --- locks -------------------------------------------------------------------------------------------------------


def _locked(rec: Recording) -> dict[str, Registration]:
    return {lock.name.rsplit("-locks-", 1)[1]: lock for lock in rec.of_type(LOCK)}


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_data_bearing_resources_are_locked(stack: str, staging: Recording, prod: Recording) -> None:
    rec = {"staging": staging, "prod": prod}[stack]
    spec = stacks.load(stack)
    rg = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{spec.names.resource_group}/providers"
    targets = {
        "workspace": (f"{rg}/Microsoft.Databricks/workspaces/{spec.names.workspace}", f"{stack}-workspace-workspace"),
        "key-vault": (f"{rg}/Microsoft.KeyVault/vaults/{spec.names.key_vault}", f"{stack}-keys-vault"),
        "log-analytics": (f"{rg}/Microsoft.OperationalInsights/workspaces/{spec.names.log_analytics}", f"{stack}-log-analytics"),
        "data-lake": (f"{rg}/Microsoft.Storage/storageAccounts/{spec.names.data_lake_storage_account}", f"{stack}-data-lake"),
    }
    if spec.private_link.browser_authentication == "dedicated_workspace":
        # No data in it, but deleting it breaks browser sign-in to every private workspace of the region.
        transit = f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{spec.names.transit_resource_group}/providers"
        targets["webauth-workspace"] = (f"{transit}/Microsoft.Databricks/workspaces/{spec.names.webauth_workspace}",
                                        f"{stack}-private-link-webauth-workspace")
    assert ("webauth-workspace" in targets) is (stack == "prod")
    locks = _locked(rec)
    assert set(locks) == set(targets)
    for key, lock in locks.items():
        scope, target = targets[key]
        assert lock.inputs == {"lockName": "do-not-delete", "scope": scope, "level": "CanNotDelete", "notes": lock.inputs["notes"]}
        assert "brickwall" in lock.inputs["notes"]
        assert named(rec, target).urn in lock.dependencies
        assert named(rec, target).protect and named(rec, target).retain_on_delete
    # The workspace storage account sits in the Databricks-managed resource group (deny assignment): no lock there.
    assert not [lock for lock in rec.of_type(LOCK) if spec.names.managed_resource_group in lock.inputs["scope"]]


def test_every_lock_is_parented_to_one_component(prod: Recording) -> None:
    component = next(r for r in prod.registrations if r.type == "brickwall:security:ResourceLocks")
    assert {lock.parent for lock in prod.of_type(LOCK)} == {component.urn}


# --- planners ----------------------------------------------------------------------------------------------------


def test_vault_ids_and_role_ids() -> None:
    ref = parse_vault_id(EXISTING_VAULT)
    assert (ref.subscription_id, ref.resource_group_name, ref.name) == ("11111111-2222-3333-4444-555555555555", "rg-keys", "kv-shared-keys")
    assert ref.uri == "https://kv-shared-keys.vault.azure.net/"
    assert parse_vault_id(EXISTING_VAULT.lower().replace("resourcegroups", "resourceGroups")).name == "kv-shared-keys"
    for bad in ("kv", EXISTING_VAULT + "/keys/k", EXISTING_VAULT.replace("vaults", "managedHSMs")):
        with pytest.raises(ValueError):
            parse_vault_id(bad)
    assert role_definition_id(EXISTING_VAULT + "/keys/k") == (
        "/subscriptions/11111111-2222-3333-4444-555555555555/providers/Microsoft.Authorization/roleDefinitions/"
        "e147488a-f6f5-4113-8e2d-b22465e65bf6")
    with pytest.raises(ValueError):
        role_definition_id("/providers/Microsoft.Foo/bar")
    assert role_assignment_name("kv", "k", "a") == role_assignment_name("kv", "k", "a") != role_assignment_name("kv", "k", "b")
    assert key_version_of("https://kv.vault.azure.net/keys/cmk/0123abcd") == "0123abcd"
    with pytest.raises(ValueError):
        key_version_of("https://kv.vault.azure.net/keys/cmk")
