"""The ARM export is the request Azure receives: every resource of every stack, and of a variant with every optional
feature on, validates against Azure's own template schema for its type and API version, with every object closed.

The validator (tests/arm_validation.py) is tested here too: the shapes the exporter used to write, and the mistakes a
program makes (a mis-cased property, a missing required one, a wrong enum, a name without its parent), are caught.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from brickwall import export
from brickwall.engine import Recording
from components.planning.azure_types import ENTRIES
from components.spec import EnvironmentSpec
from tests import arm_validation

# --- the program --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def all_features_template(all_features_env: tuple[Recording, EnvironmentSpec]) -> dict[str, Any]:
    return export.arm_resources(all_features_env[0])


@pytest.fixture(scope="session")
def prod_template(prod: Recording) -> dict[str, Any]:
    return export.arm_resources(prod)


def test_every_stack_sends_only_what_azure_accepts(rec: Recording, stack: str) -> None:
    template = export.arm_resources(rec)
    assert template["resources"], stack
    assert arm_validation.template_violations(template) == []


def test_the_all_features_variant_sends_only_what_azure_accepts(all_features_template: dict[str, Any]) -> None:
    assert arm_validation.template_violations(all_features_template) == []


def test_the_validated_exports_cover_every_type_the_program_creates(
    all_features_template: dict[str, Any], dev: Recording, staging: Recording
) -> None:
    """No azure-native type the components create escapes the schema check."""
    seen = {r["type"] for t in (all_features_template, export.arm_resources(dev), export.arm_resources(staging))
            for r in t["resources"]}
    mapped = {entry.arm_type for entry in ENTRIES}
    assert mapped - seen == set(), "types in the Azure type catalog but never exported by a validated stack"


def test_every_mapped_type_has_a_vendored_schema_at_the_sdk_api_version() -> None:
    known = arm_validation.definitions()
    missing = sorted(f"{entry.arm_type}@{entry.api_version}" for entry in ENTRIES
                     if (entry.arm_type, entry.api_version) not in known)
    assert missing == []


def _one(template: dict[str, Any], arm_type: str, name_part: str) -> dict[str, Any]:
    found = [r for r in template["resources"] if r["type"] == arm_type and name_part in r["name"]]
    assert len(found) == 1, (arm_type, name_part, [r["name"] for r in found])
    return found[0]


def test_private_endpoints_and_dns_groups_nest_their_sub_resources(prod_template: dict[str, Any]) -> None:
    endpoint = _one(prod_template, "Microsoft.Network/privateEndpoints", "-backend")
    (connection,) = endpoint["properties"]["privateLinkServiceConnections"]
    assert set(connection) == {"name", "properties"}
    assert connection["properties"]["groupIds"] == ["databricks_ui_api"]
    assert connection["properties"]["privateLinkServiceId"].endswith("/Microsoft.Databricks/workspaces/dbw-bw-prod-weu")
    group = _one(prod_template, "Microsoft.Network/privateEndpoints/privateDnsZoneGroups", "-backend/")
    (config,) = group["properties"]["privateDnsZoneConfigs"]
    assert config["properties"]["privateDnsZoneId"].endswith("/privateDnsZones/privatelink.azuredatabricks.net")


def test_subnet_delegations_nest_the_service_name(prod_template: dict[str, Any]) -> None:
    host = _one(prod_template, "Microsoft.Network/virtualNetworks/subnets", "/snet-dbw-host")
    (delegation,) = host["properties"]["delegations"]
    assert delegation["properties"] == {"serviceName": "Microsoft.Databricks/workspaces"}


def test_the_workspace_sends_compute_mode_and_the_api_names_of_its_key_fields(prod_template: dict[str, Any]) -> None:
    workspace = _one(prod_template, "Microsoft.Databricks/workspaces", "dbw-bw-prod-weu")
    assert workspace["properties"]["computeMode"] == "Hybrid"
    encryption = workspace["properties"]["parameters"]["encryption"]["value"]
    assert {"KeyName", "keyvaulturi", "keyversion"} <= set(encryption)
    assert not {"keyName", "keyVaultUri", "keyVersion"} & set(encryption)
    # The entities' key properties keep the SDK's (camelCase) names: that is the REST name there.
    disk = workspace["properties"]["encryption"]["entities"]["managedDisk"]["keyVaultProperties"]
    assert {"keyName", "keyVaultUri", "keyVersion"} <= set(disk)


def test_the_workspace_sends_its_enhanced_security_and_compliance(prod_template: dict[str, Any], dev: Recording) -> None:
    workspace = _one(prod_template, "Microsoft.Databricks/workspaces", "dbw-bw-prod-weu")
    # prod: monitoring and automatic cluster update on (floors), the permanent compliance profile off.
    assert workspace["properties"]["enhancedSecurityCompliance"] == {
        "complianceSecurityProfile": {"value": "Disabled"},
        "enhancedSecurityMonitoring": {"value": "Enabled"},
        "automaticClusterUpdate": {"value": "Enabled"},
    }
    # dev leaves the paid add-on out entirely.
    dev_ws = next(r for r in export.arm_resources(dev)["resources"] if r["type"] == "Microsoft.Databricks/workspaces")
    assert "enhancedSecurityCompliance" not in dev_ws["properties"]
    # The schema holds the values to Enabled/Disabled.
    bad = copy.deepcopy(workspace)
    bad["properties"]["enhancedSecurityCompliance"]["enhancedSecurityMonitoring"]["value"] = "On"
    assert arm_validation.violations(bad)


def test_log_analytics_sku_is_a_property_and_data_export_has_its_destination(prod_template: dict[str, Any]) -> None:
    workspace = _one(prod_template, "Microsoft.OperationalInsights/workspaces", "log-bw-prod-weu")
    assert "sku" not in workspace and workspace["properties"]["sku"] == {"name": "PerGB2018"}
    data_export = _one(prod_template, "Microsoft.OperationalInsights/workspaces/dataExports", "log-bw-prod-weu/")
    destination = data_export["properties"]["destination"]
    assert destination["resourceId"].endswith("/Microsoft.EventHub/namespaces/" + destination["resourceId"].rsplit("/", 1)[-1])
    assert destination["metaData"]["eventHubName"]
    assert not {"resourceId", "eventHubName"} & set(data_export["properties"])


def test_names_have_one_segment_per_level(prod_template: dict[str, Any]) -> None:
    container = next(r for r in prod_template["resources"] if r["type"].endswith("/blobServices/containers"))
    account, service, _ = container["name"].split("/")
    assert service == "default" and account.startswith("dl")


def test_user_assigned_identities_are_a_map_and_identities_have_no_properties(prod_template: dict[str, Any]) -> None:
    flow_log = next(r for r in prod_template["resources"] if r["type"] == "Microsoft.Network/networkWatchers/flowLogs")
    identities = flow_log["identity"]["userAssignedIdentities"]
    assert isinstance(identities, dict) and all(v == {} for v in identities.values())
    identity = next(r for r in prod_template["resources"] if r["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities")
    assert "properties" not in identity
    assert flow_log["properties"]["flowAnalyticsConfiguration"]["networkWatcherFlowAnalyticsConfiguration"]["workspaceId"]


def test_vm_extension_sends_its_handler_type_and_vm_nics_nest_their_options(all_features_template: dict[str, Any]) -> None:
    extension = next(r for r in all_features_template["resources"] if r["type"] == "Microsoft.Compute/virtualMachines/extensions")
    assert extension["properties"]["type"] == "AADSSHLoginForLinux"
    vm = next(r for r in all_features_template["resources"] if r["type"] == "Microsoft.Compute/virtualMachines")
    (nic,) = vm["properties"]["networkProfile"]["networkInterfaces"]
    assert set(nic) == {"id", "properties"} and nic["properties"]["primary"] is True


# --- the validator can fail ---------------------------------------------------------------------------------


def _mutated(template: dict[str, Any], arm_type: str, name_part: str, mutate: Any) -> dict[str, Any]:
    resource = copy.deepcopy(_one(template, arm_type, name_part))
    mutate(resource)
    return resource


def _flatten_connection(r: dict[str, Any]) -> None:
    (connection,) = r["properties"]["privateLinkServiceConnections"]
    connection.update(connection.pop("properties"))


def _case(r: dict[str, Any]) -> None:
    r["properties"]["PublicNetworkAccess"] = r["properties"].pop("publicNetworkAccess")


def _drop_compute_mode(r: dict[str, Any]) -> None:
    del r["properties"]["computeMode"]


def _bad_enum(r: dict[str, Any]) -> None:
    r["properties"]["publicNetworkAccess"] = "Off"


def _sku_in_envelope(r: dict[str, Any]) -> None:
    r["sku"] = r["properties"].pop("sku")


def _identity_list(r: dict[str, Any]) -> None:
    r["identity"]["userAssignedIdentities"] = list(r["identity"]["userAssignedIdentities"])


def _container_without_service(r: dict[str, Any]) -> None:
    account, _, container = r["name"].split("/")
    r["name"] = f"{account}/{container}"


def _misspelt_firewall_rule_field(r: dict[str, Any]) -> None:
    rule = r["properties"]["ruleCollections"][0]["rules"][0]
    rule["destinationPort"] = rule.pop("destinationPorts")  # one variant of a discriminated union, closed


def _unknown_property(r: dict[str, Any]) -> None:
    r["properties"]["enableNoPublicIp"] = True  # a workspace parameter, not a property


def _dcr_streams_as_string(r: dict[str, Any]) -> None:
    r["properties"]["dataFlows"][0]["streams"] = "Microsoft-ContainerLogV2"  # the open enum is still a list of strings


def _dcr_misspelt_destinations(r: dict[str, Any]) -> None:
    flow = r["properties"]["dataFlows"][0]
    flow["destination"] = flow.pop("destinations")


@pytest.mark.parametrize(("arm_type", "name_part", "mutate", "expected"), [
    ("Microsoft.Network/privateEndpoints", "-backend", _flatten_connection,
     "properties/privateLinkServiceConnections/0: Additional properties are not allowed ('groupIds', 'privateLinkServiceId'"),
    ("Microsoft.Databricks/workspaces", "dbw-bw-prod-weu", _case, "('PublicNetworkAccess' was unexpected)"),
    ("Microsoft.Databricks/workspaces", "dbw-bw-prod-weu", _drop_compute_mode, "'computeMode' is a required property"),
    ("Microsoft.Databricks/workspaces", "dbw-bw-prod-weu", _bad_enum, "properties/publicNetworkAccess: 'Off' is not one of"),
    ("Microsoft.Databricks/workspaces", "dbw-bw-prod-weu", _unknown_property, "('enableNoPublicIp' was unexpected)"),
    ("Microsoft.OperationalInsights/workspaces", "log-bw-prod-weu", _sku_in_envelope, "('sku' was unexpected)"),
    ("Microsoft.Network/networkWatchers/flowLogs", "fl-", _identity_list, "identity/userAssignedIdentities"),
    ("Microsoft.Network/firewallPolicies/ruleCollectionGroups", "rcg-databricks", _misspelt_firewall_rule_field,
     "Additional properties are not allowed ('destinationPort'"),
    ("Microsoft.Storage/storageAccounts/blobServices/containers", "/default/curated", _container_without_service,
     "name: needs 3 segment(s)"),
    ("Microsoft.Insights/dataCollectionRules", "MSCI-", _dcr_streams_as_string, "properties/dataFlows/0/streams"),
    ("Microsoft.Insights/dataCollectionRules", "MSCI-", _dcr_misspelt_destinations, "('destination' was unexpected)"),
])
def test_the_validator_catches_what_azure_would_not_accept(
    prod_template: dict[str, Any], arm_type: str, name_part: str, mutate: Any, expected: str
) -> None:
    resource = _mutated(prod_template, arm_type, name_part, mutate)
    found = arm_validation.violations(resource)
    assert any(expected in problem for problem in found), found


def test_the_validator_names_an_unvendored_type_or_api_version(prod_template: dict[str, Any]) -> None:
    resource = {**_one(prod_template, "Microsoft.Databricks/workspaces", "dbw-bw-prod-weu"), "apiVersion": "2018-04-01"}
    (problem,) = arm_validation.violations(resource)
    assert "no vendored ARM schema for Microsoft.Databricks/workspaces@2018-04-01" in problem


def test_closing_leaves_open_maps_open() -> None:
    """Tags and other maps (`additionalProperties` given) stay open; objects listing properties close."""
    closed = arm_validation.close({"properties": {"a": {"type": "object", "additionalProperties": {"type": "string"}},
                                                  "b": {"type": "object", "properties": {"x": {}}}}})
    assert closed["additionalProperties"] is False
    assert closed["properties"]["a"]["additionalProperties"] == {"type": "string"}
    assert closed["properties"]["b"]["additionalProperties"] is False
    assert json.dumps(closed)  # still plain JSON
