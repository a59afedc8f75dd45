"""brickwall.engine: real Pulumi programs under the mock runtime, recorded registration by registration."""

from __future__ import annotations

import asyncio
import gc
import hashlib
import re
from typing import Any

import pulumi
import pulumi_azure_native as az
import pytest
from pulumi.runtime.mocks import MockResourceArgs

from brickwall import engine
from brickwall.engine import (
    SUBSCRIPTION_ID,
    UNKNOWN,
    BrickwallMocks,
    DuplicateUrnError,
    ProgramError,
    Recording,
    ResourceRef,
    Secret,
    _plain,
    record,
)
from components.planning.azure_types import CATALOG

SUB = SUBSCRIPTION_ID
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg-dev"
NET = f"{RG_ID}/providers/Microsoft.Network"
STACK_URN = "urn:pulumi:dev::brickwall::pulumi:pulumi:Stack::brickwall-dev"


class Net(pulumi.ComponentResource):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("brickwall:test:Net", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.vnet = az.network.VirtualNetwork(
            "vnet",
            resource_group_name="rg-dev",
            virtual_network_name="vnet-dev",
            address_space={"address_prefixes": ["10.10.0.0/16"]},
            opts=child,
        )
        self.nsg = az.network.NetworkSecurityGroup("nsg", resource_group_name="rg-dev", opts=child)
        self.register_outputs({})


def topology() -> None:
    cfg = pulumi.Config("brickwall")
    azp = az.Provider("azp", subscription_id=SUB, client_secret=pulumi.Output.secret("pr0vider-s3cret"))
    rg = az.resources.ResourceGroup(
        "rg",
        resource_group_name="rg-dev",
        location="westeurope",
        tags={"owner": "platform", "token": pulumi.Output.secret("t0ken-s3cret")},
        opts=pulumi.ResourceOptions(provider=azp),
    )
    net = Net("net", opts=pulumi.ResourceOptions(providers=[azp]))
    subnet = az.network.Subnet(
        "host",
        resource_group_name=rg.name,
        virtual_network_name=net.vnet.name,
        address_prefix="10.10.0.0/24",
        network_security_group={"id": net.nsg.id},
        opts=pulumi.ResourceOptions(
            protect=True,
            retain_on_delete=True,
            deleted_with=net.vnet,
            ignore_changes=["address_prefix", "tags"],
            depends_on=[rg],
        ),
    )
    az.network.SecurityRule(
        "deny-all",
        resource_group_name=rg.name,
        network_security_group_name=net.nsg.name,
        priority=4096,
        access="Deny",
        direction="Inbound",
        protocol="*",
    )
    parameters: az.databricks.WorkspaceCustomParametersArgsDict = {
        "enable_no_public_ip": {"value": True},
        "custom_private_subnet_name": {"value": subnet.name.apply(lambda n: n or "")},
    }
    ws = az.databricks.Workspace(
        "ws", resource_group_name=rg.name, workspace_name="dbw-dev", sku={"name": "premium"}, parameters=parameters
    )
    pulumi.export("vnetId", net.vnet.id)
    pulumi.export("workspaceId", ws.workspace_id)
    pulumi.export("workspaceUrl", ws.workspace_url)
    pulumi.export("subscription", az.authorization.get_client_config_output().subscription_id)
    pulumi.export("region", cfg.require("region"))
    pulumi.export("adminPassword", cfg.require_secret("adminPassword"))


DEV_CONFIG = {"brickwall:region": "westeurope", "brickwall:adminPassword": "c0nfig-s3cret"}


@pytest.fixture(scope="module")
def dev() -> Recording:
    return record(
        topology, project="brickwall", stack="dev", config=DEV_CONFIG, secret_keys=["brickwall:adminPassword"]
    )


def test_records_every_registration_in_order_without_the_root_stack(dev: Recording) -> None:
    assert sorted((r.type, r.name) for r in dev.registrations) == [
        ("azure-native:databricks:Workspace", "ws"),
        ("azure-native:network:NetworkSecurityGroup", "nsg"),
        ("azure-native:network:SecurityRule", "deny-all"),
        ("azure-native:network:Subnet", "host"),
        ("azure-native:network:VirtualNetwork", "vnet"),
        ("azure-native:resources:ResourceGroup", "rg"),
        ("brickwall:test:Net", "net"),
        ("pulumi:providers:azure-native", "azp"),
    ]
    # Registration order is causal: parents, providers, deleted_with targets and dependencies come first.
    seen = {STACK_URN}
    for r in dev.registrations:
        refs = {r.parent, r.deleted_with, r.provider.rpartition("::")[0], *r.dependencies} - {""}
        assert refs <= seen, f"{r.urn} registered before {refs - seen}"
        seen.add(r.urn)
    assert (dev.project, dev.stack) == ("brickwall", "dev")


def test_urns_and_parent_chain_match_the_real_engine(dev: Recording) -> None:
    rg, net, vnet = (
        dev.one("azure-native:resources:ResourceGroup"),
        dev.one("brickwall:test:Net"),
        dev.one("azure-native:network:VirtualNetwork"),
    )
    # The root stack is elided from type chains, as the real engine does (MockMonitor alone would not).
    assert rg.urn == "urn:pulumi:dev::brickwall::azure-native:resources:ResourceGroup::rg"
    assert rg.parent == STACK_URN and net.parent == STACK_URN
    assert vnet.urn == "urn:pulumi:dev::brickwall::brickwall:test:Net$azure-native:network:VirtualNetwork::vnet"
    assert vnet.parent == net.urn
    assert [c.name for c in dev.children_of(net.urn)] == ["vnet", "nsg"]
    assert (net.custom, net.remote, vnet.custom) == (False, False, True)
    assert dev.by_urn(vnet.urn) is vnet


def test_provider_reference_options_and_dependencies(dev: Recording) -> None:
    azp = dev.one("pulumi:providers:azure-native")
    rg, vnet, subnet = (
        dev.one("azure-native:resources:ResourceGroup"),
        dev.one("azure-native:network:VirtualNetwork"),
        dev.one("azure-native:network:Subnet"),
    )
    assert rg.provider == f"{azp.urn}::mock-azp"
    assert vnet.provider.startswith(azp.urn + "::")  # inherited from the component's providers=
    assert subnet.provider == ""  # default provider: the engine, not the SDK, picks it
    assert (subnet.protect, subnet.retain_on_delete) == (True, True)
    assert (rg.protect, rg.retain_on_delete) == (False, False)
    assert subnet.deleted_with == vnet.urn
    assert subnet.ignore_changes == ("addressPrefix", "tags")  # translated to wire names
    assert subnet.dependencies == tuple(
        sorted([rg.urn, vnet.urn, dev.one("azure-native:network:NetworkSecurityGroup").urn])
    )


def test_inputs_are_wire_named_plain_values(dev: Recording) -> None:
    vnet, rule, ws = (
        dev.one("azure-native:network:VirtualNetwork"),
        dev.one("azure-native:network:SecurityRule"),
        dev.one("azure-native:databricks:Workspace"),
    )
    assert vnet.inputs["addressSpace"] == {"addressPrefixes": ["10.10.0.0/16"]}
    assert vnet.input("addressSpace.addressPrefixes.0") == "10.10.0.0/16"
    priority = rule.input("priority")
    assert priority == 4096 and isinstance(priority, float)  # numbers arrive as the SDK sends them
    assert ws.input("parameters.enableNoPublicIp.value") is True
    assert ws.input("parameters.customPrivateSubnetName.value") == "host"  # auto-named: falls back to the logical name
    assert ws.input("parameters.storageAccountName.value", None) is None
    with pytest.raises(KeyError, match=r"parameters\.nope"):
        ws.input("parameters.nope")


def test_arm_ids_are_derived_from_inputs_and_flow_into_other_inputs(dev: Recording) -> None:
    subnet = dev.one("azure-native:network:Subnet")
    assert subnet.input("virtualNetworkName") == "vnet-dev"
    # nsg has no explicit name, so its ARM name is the logical name
    assert subnet.input("networkSecurityGroup.id") == f"{NET}/networkSecurityGroups/nsg"
    assert dev.one("azure-native:network:SecurityRule").input("networkSecurityGroupName") == "nsg"
    assert dev.stack_outputs["vnetId"] == f"{NET}/virtualNetworks/vnet-dev"
    assert dev.stack_outputs["subscription"] == SUB


def test_workspace_outputs_are_deterministic(dev: Recording) -> None:
    workspace_id = dev.stack_outputs["workspaceId"]
    arm_id = f"{RG_ID}/providers/Microsoft.Databricks/workspaces/dbw-dev"
    digest = int(hashlib.sha256(arm_id.encode()).hexdigest(), 16)
    assert workspace_id == str(10**15 + digest % (9 * 10**15))
    assert re.fullmatch(rf"adb-{workspace_id}\.[1-9]\.azuredatabricks\.net", dev.stack_outputs["workspaceUrl"])


def test_secrets_are_wrapped_and_never_printed(dev: Recording) -> None:
    rg, azp = dev.one("azure-native:resources:ResourceGroup"), dev.one("pulumi:providers:azure-native")
    assert rg.input("tags.token") == Secret("t0ken-s3cret")
    assert rg.input("tags.owner") == "platform"
    assert azp.input("clientSecret") == Secret("pr0vider-s3cret")
    assert dev.stack_outputs["adminPassword"] == Secret("c0nfig-s3cret")  # require_secret yields a secret
    assert dev.stack_outputs["region"] == "westeurope"
    text = repr(dev) + str(dev.stack_outputs)
    assert "Secret([secret])" in text
    for secret in ("t0ken-s3cret", "pr0vider-s3cret", "c0nfig-s3cret"):
        assert secret not in text


def test_identical_runs_give_identical_recordings(dev: Recording) -> None:
    again = record(
        topology, project="brickwall", stack="dev", config=DEV_CONFIG, secret_keys=["brickwall:adminPassword"]
    )
    assert again == dev


def test_many_independent_registrations_keep_a_stable_order() -> None:
    # With the SDK's default thread pool, thread timing reorders sibling registrations between runs.
    def program() -> None:
        rg = az.resources.ResourceGroup("rg", resource_group_name="rg-dev")
        vnet = az.network.VirtualNetwork("vnet", resource_group_name=rg.name)
        for i in range(10):
            az.network.Subnet(f"s{i}", resource_group_name=rg.name, virtual_network_name=vnet.name)

    orders = {tuple(r.name for r in record(program, project="p", stack="s").registrations) for _ in range(3)}
    assert len(orders) == 1


def test_runs_in_one_process_are_independent() -> None:
    def program() -> None:
        cfg = pulumi.Config("brickwall")
        az.resources.ResourceGroup("rg", resource_group_name=f"rg-{pulumi.get_stack()}")
        pulumi.export("marker", cfg.get("marker") or "absent")
        pulumi.export("secretKey", cfg.get_secret("marker") is not None)

    first = record(program, project="brickwall", stack="staging", config={"brickwall:marker": "one"})
    second = record(program, project="other", stack="prod")
    assert first.stack_outputs == {"marker": "one", "secretKey": True}
    assert second.stack_outputs == {"marker": "absent", "secretKey": False}
    rg = second.one("azure-native:resources:ResourceGroup")
    assert rg.urn == "urn:pulumi:prod::other::azure-native:resources:ResourceGroup::rg"
    assert rg.parent == "urn:pulumi:prod::other::pulumi:pulumi:Stack::other-prod"
    assert rg.input("resourceGroupName") == "rg-prod"
    assert first.one("azure-native:resources:ResourceGroup").input("resourceGroupName") == "rg-staging"


def test_duplicate_urns_are_rejected() -> None:
    def program() -> None:
        az.resources.ResourceGroup("rg", resource_group_name="a")
        az.resources.ResourceGroup("rg", resource_group_name="b")
        az.network.RouteTable("rt", resource_group_name="a")

    with pytest.raises(DuplicateUrnError) as caught:
        record(program, project="brickwall", stack="dev")
    assert caught.value.urns == ("urn:pulumi:dev::brickwall::azure-native:resources:ResourceGroup::rg",)
    assert "azure-native:resources:ResourceGroup::rg" in str(caught.value)


def test_program_errors_are_wrapped_and_leave_no_state_behind() -> None:
    def failing() -> None:
        az.resources.ResourceGroup("leftover", resource_group_name="x")
        raise pulumi.RunError("boom: spec is invalid")

    with pytest.raises(ProgramError) as caught:
        record(failing, project="brickwall", stack="dev", config={"brickwall:leak": "yes"})
    assert str(caught.value) == "boom: spec is invalid"
    assert isinstance(caught.value.original, pulumi.RunError)
    assert caught.value.__cause__ is caught.value.original

    def clean() -> None:
        pulumi.export("leak", pulumi.Config("brickwall").get("leak") or "none")

    after = record(clean, project="brickwall", stack="dev")
    assert after.registrations == [] and after.stack_outputs == {"leak": "none"}


def test_errors_inside_applies_are_program_errors_with_what_was_registered() -> None:
    def failing() -> None:
        rg = az.resources.ResourceGroup("rg", resource_group_name="x")

        def explode(name: str) -> str:
            raise ValueError(f"bad name {name}")

        pulumi.export("x", rg.name.apply(explode))

    with pytest.raises(ProgramError, match="ValueError: bad name x") as caught:
        record(failing, project="brickwall", stack="dev")
    # The apply ran after the resource group's registration resolved, so that registration is kept.
    assert [r.name for r in caught.value.registrations] == ["rg"]


def test_custom_mocks_resource_inputs_and_async_programs() -> None:
    class CustomIds(BrickwallMocks):
        def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
            resource_id, state = super().new_resource(args)
            return f"custom:{resource_id}", state

    async def program() -> None:
        rg = az.resources.ResourceGroup("rg", resource_group_name="rg-dev")
        pulumi.CustomResource("test:index:Thing", "thing", {"ref": rg, "rgId": rg.id})
        pulumi.export("count", 3)

    recording = record(program, project="brickwall", stack="dev", mocks=CustomIds())
    thing = recording.one("test:index:Thing", "thing")
    rg = recording.one("azure-native:resources:ResourceGroup")
    assert thing.input("rgId") == f"custom:{RG_ID}"
    # Resource references are off (they deadlock MockMonitor), so a resource input travels as its id.
    assert thing.input("ref") == f"custom:{RG_ID}"
    assert rg.urn in thing.dependencies
    assert thing.dependencies == (rg.urn,)
    assert recording.stack_outputs == {"count": 3.0}


def test_lookups_fail_clearly(dev: Recording) -> None:
    with pytest.raises(LookupError, match="found 0"):
        dev.one("azure-native:network:NatGateway")
    with pytest.raises(LookupError, match="named 'other'"):
        dev.one("azure-native:network:Subnet", "other")
    with pytest.raises(KeyError):
        dev.by_urn("urn:pulumi:dev::brickwall::nope::nope")


def test_wire_markers_are_unwrapped() -> None:
    sig = "4dabf18193072939515e22adb298388d"
    raw = {
        "s": {sig: "1b47061264138c4ac30d75fd1eb44270", "value": {"k": ["04da6b54-80e4-46f7-96ec-b56ff0331ba9"]}},
        "r": {sig: "5cf8f73096256a8f31e491e813e4eb8e", "urn": "urn:x", "packageVersion": ""},
        "o": {sig: "d0e6a833031e9bbcd3f4e8bde6ca49a4", "secret": True, "dependencies": []},
    }
    assert _plain(raw) == {"s": Secret({"k": [UNKNOWN]}), "r": ResourceRef(urn="urn:x"), "o": Secret(UNKNOWN)}


@pytest.mark.parametrize(
    ("type_", "inputs", "expected"),
    [
        ("azure-native:resources:ResourceGroup", {"resourceGroupName": "rg-dev"}, RG_ID),
        (
            "azure-native:network:Subnet",
            {"resourceGroupName": "rg-dev", "virtualNetworkName": "v", "subnetName": "s"},
            f"{NET}/virtualNetworks/v/subnets/s",
        ),
        ("azure-native:network:PublicIPAddress", {"resourceGroupName": "rg-dev"}, f"{NET}/publicIPAddresses/logical"),
        (
            "azure-native:network:PrivateDnsZoneGroup",
            {"resourceGroupName": "rg-dev", "privateEndpointName": "pe", "privateDnsZoneGroupName": "g"},
            f"{NET}/privateEndpoints/pe/privateDnsZoneGroups/g",
        ),
        (
            "azure-native:privatedns:VirtualNetworkLink",
            {"resourceGroupName": "rg-dev", "privateZoneName": "privatelink.azuredatabricks.net"},
            f"{NET}/privateDnsZones/privatelink.azuredatabricks.net/virtualNetworkLinks/logical",
        ),
        (
            "azure-native:databricks:AccessConnector",
            {"resourceGroupName": "rg-dev", "connectorName": "ac"},
            f"{RG_ID}/providers/Microsoft.Databricks/accessConnectors/ac",
        ),
        (
            "azure-native:monitor:PrivateLinkScopedResource",
            {"resourceGroupName": "rg-dev", "scopeName": "ampls", "name": "log-connection"},
            f"{RG_ID}/providers/Microsoft.Insights/privateLinkScopes/ampls/scopedResources/log-connection",
        ),
        (
            "azure-native:eventhub:NamespaceNetworkRuleSet",
            {"resourceGroupName": "rg-dev", "namespaceName": "evhns"},
            f"{RG_ID}/providers/Microsoft.EventHub/namespaces/evhns/networkRuleSets/default",  # the one name Azure gives it
        ),
        (
            # An extension resource of the cluster it associates (Container Insights, components/aks.py).
            "azure-native:monitor:DataCollectionRuleAssociation",
            {"resourceUri": f"{RG_ID}/providers/Microsoft.ContainerService/managedClusters/aks",
             "associationName": "ContainerInsightsExtension"},
            f"{RG_ID}/providers/Microsoft.ContainerService/managedClusters/aks/providers/Microsoft.Insights/"
            "dataCollectionRuleAssociations/ContainerInsightsExtension",
        ),
        ("databricks:index:Cluster", {"clusterName": "c"}, "mock-logical"),
        ("pulumi:providers:databricks", {"host": "h"}, "mock-logical"),
    ],
)
def test_mock_ids(type_: str, inputs: dict[str, Any], expected: str) -> None:
    resource_id, state = BrickwallMocks().new_resource(MockResourceArgs(typ=type_, name="logical", inputs=inputs))
    assert resource_id == expected
    assert state.items() >= inputs.items()


def test_mock_table_covers_the_topology_and_identity_is_computed() -> None:
    from tests.conftest import recording_of

    used = {r.type for stack in ("dev", "staging", "prod") for r in recording_of(stack).registrations
            if r.type.startswith("azure-native:") and r.custom}
    assert used <= set(CATALOG), used - set(CATALOG)
    mocks = BrickwallMocks()
    args = MockResourceArgs(
        typ="azure-native:databricks:AccessConnector",
        name="ac",
        inputs={"resourceGroupName": "rg-dev", "identity": {"type": "SystemAssigned"}},
    )
    _, state = mocks.new_resource(args)
    assert re.fullmatch(r"[0-9a-f-]{36}", state["identity"]["principalId"])
    assert mocks.new_resource(args) == (mocks.new_resource(args)[0], state)


def test_a_failed_apply_leaves_no_unretrieved_future_traceback(caplog: pytest.LogCaptureFixture) -> None:
    """A failed apply's error is raised once (ProgramError); the SDK's output futures that hold copies of it are not
    reported again as "Future exception was never retrieved" tracebacks on stderr when they are collected. Other
    loop errors still reach asyncio's default handler."""
    def program() -> None:
        pulumi.export("bad", pulumi.Output.from_input("x").apply(lambda _: (_ for _ in ()).throw(ValueError("boom"))))

    with pytest.raises(engine.ProgramError):
        engine.record(program, project="p", stack="s")
    loop = asyncio.get_event_loop()
    assert loop.get_exception_handler() is engine._quiet_unretrieved
    caplog.clear()
    future = loop.create_future()
    future.set_exception(ValueError("held by an output"))
    del future
    gc.collect()
    loop.call_exception_handler({"message": "something else went wrong"})
    messages = [r.getMessage() for r in caplog.records if r.name == "asyncio"]
    assert messages == ["something else went wrong"]
