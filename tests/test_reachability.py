"""The NSG evaluator and the subnet matrix (components/planning/reachability.py), the workspace front end
(front_end.py) and the combined matrix of every layer (combined.py)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stacks
from brickwall.engine import Recording
from components.planning.combined import (
    CombinedRow,
    Topology,
    combined_markdown,
    combined_rows,
    load_balancer_steps,
)
from components.planning.data_paths import DataPath
from components.planning.front_end import IpAccess, Step, ip_access_list_step, public_steps
from components.planning.ingress import network_policies
from components.planning.k8s_flows import Cluster
from components.planning.nsg_rules import DATABRICKS_RULE_PREFIX, NsgRule, rule_table_problems
from components.planning.reachability import (
    AZURE_DATABRICKS,
    DEFAULT_RULES,
    ENDPOINT_PROBE_PORTS,
    INBOUND_PORTS,
    INTERNET,
    NON_PUBLIC,
    EndpointNic,
    NetworkContext,
    NetworkInputs,
    PartialMatchError,
    data_path_problems,
    evaluate,
    flow,
    matrix_markdown,
    parse_ports,
    subnet_matrix,
)
from components.spec import EnvironmentSpec
from components.spec.access import IpList
from tests.conftest import recording_of

CORPORATE = "10.200.0.0/16"
CP_RULE = DATABRICKS_RULE_PREFIX + "databricks-worker-to-databricks-cp"
ALLOWED_TAGS = ("Storage", "Sql", "EventHub", "AzureActiveDirectory", "AzureFrontDoor.Frontend")
TAG_PORT = {"Storage": "443", "Sql": "3306", "EventHub": "9093", "AzureActiveDirectory": "443", "AzureFrontDoor.Frontend": "443"}


def _inputs(stack: str, **overrides: object) -> NetworkInputs:
    base = stacks.load(stack).plan.network_inputs((CORPORATE,))
    return NetworkInputs(**{**base.__dict__, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="module", params=["prod", "dev"])
def net(request: pytest.FixtureRequest) -> NetworkInputs:
    return _inputs(request.param)


@pytest.fixture(scope="module")
def prod() -> NetworkInputs:
    return _inputs("prod")


@pytest.fixture(scope="module")
def dev() -> NetworkInputs:
    return _inputs("dev")


# --- the evaluator -----------------------------------------------------------------------------

CTX = NetworkContext(vnet=("10.0.0.0/16",), peered=("10.200.0.0/16",))


def _r(name: str, priority: int, access: str = "Allow", direction: str = "Inbound", src: str = "*", dst: str = "*",
       ports: tuple[str, ...] = ("*",), protocol: str = "*") -> NsgRule:
    return NsgRule(name=name, priority=priority, direction=direction, access=access, protocol=protocol,  # type: ignore[arg-type]
                   sources=(src,), destinations=(dst,), destination_ports=ports, owner="toolkit", description="")


def test_default_rules_decide_an_empty_table() -> None:
    assert evaluate([], "Inbound", "10.0.1.4", "10.0.2.4", 22, ctx=CTX).rule_name == "AllowVnetInBound"
    assert evaluate([], "Inbound", "10.200.3.4", "10.0.2.4", 22, ctx=CTX).rule_name == "AllowVnetInBound"
    assert evaluate([], "Inbound", "AzureLoadBalancer", "10.0.2.4", 80, ctx=CTX).rule_name == "AllowAzureLoadBalancerInBound"
    assert evaluate([], "Inbound", INTERNET, "10.0.2.4", 443, ctx=CTX).rule_name == "DenyAllInBound"
    assert evaluate([], "Inbound", "192.168.1.1", "10.0.2.4", 443, ctx=CTX).rule_name == "DenyAllInBound"  # unpeered private
    assert evaluate([], "Outbound", "10.0.1.4", "10.200.0.0/24", 443, ctx=CTX).rule_name == "AllowVnetOutBound"
    assert evaluate([], "Outbound", "10.0.1.4", "Storage", 443, ctx=CTX).rule_name == "AllowInternetOutBound"
    assert evaluate([], "Outbound", "10.0.1.4", "8.8.8.8", 53, "Udp", ctx=CTX).rule_name == "AllowInternetOutBound"
    assert evaluate([], "Outbound", "10.0.1.4", "192.168.0.0/24", 443, ctx=CTX).rule_name == "DenyAllOutBound"
    assert all(d.default_rule for d in [evaluate([], "Inbound", INTERNET, "10.0.2.4", 1, ctx=CTX)])


def test_tag_semantics() -> None:
    deny_internet = [_r("deny-internet", 300, "Deny", "Outbound", dst=INTERNET)]
    for tag in (*ALLOWED_TAGS, AZURE_DATABRICKS, "Storage.WestEurope", INTERNET, "52.174.20.1"):
        assert evaluate(deny_internet, "Outbound", "10.0.1.4", tag, 443, ctx=CTX).access == "Deny", tag
    for not_internet in ("10.0.9.9", "10.200.1.1", "AzureLoadBalancer", "VirtualNetwork"):
        assert evaluate(deny_internet, "Outbound", "10.0.1.4", not_internet, 443, ctx=CTX).rule_name != "deny-internet", not_internet
    storage = [_r("storage", 300, "Allow", "Outbound", dst="Storage", ports=("443",), protocol="Tcp"),
               _r("deny-all", 4096, "Deny", "Outbound")]
    assert evaluate(storage, "Outbound", "10.0.1.4", "Storage.WestEurope", 443, ctx=CTX).rule_name == "storage"
    assert evaluate(storage, "Outbound", "10.0.1.4", "Sql", 443, ctx=CTX).rule_name == "deny-all"
    assert evaluate(storage, "Outbound", "10.0.1.4", "20.38.0.1", 443, ctx=CTX).rule_name == "deny-all"  # tags are opaque to CIDRs
    assert evaluate(storage, "Outbound", "10.0.1.4", "Storage", 443, "Udp", ctx=CTX).rule_name == "deny-all"


def test_ports_and_ranges() -> None:
    assert parse_ports("*") == (0, 65535) and parse_ports("8443-8451") == (8443, 8451) and parse_ports(22) == (22, 22)
    with pytest.raises(ValueError):
        parse_ports("70000")
    table = [_r("range", 300, ports=("8443-8451",), protocol="Tcp"), _r("deny", 4096, "Deny")]
    assert evaluate(table, "Inbound", "10.0.1.4", "10.0.2.4", "8443-8451", ctx=CTX).rule_name == "range"
    assert evaluate(table, "Inbound", "10.0.1.4", "10.0.2.4", 8447, ctx=CTX).rule_name == "range"
    assert evaluate(table, "Inbound", "10.0.1.4", "10.0.2.4", 8452, ctx=CTX).rule_name == "deny"
    with pytest.raises(PartialMatchError):
        evaluate(table, "Inbound", "10.0.1.4", "10.0.2.4", "8440-8450", ctx=CTX)
    with pytest.raises(PartialMatchError):
        evaluate(table, "Inbound", "10.0.1.4", "10.0.2.4", 8443, "*", ctx=CTX)
    with pytest.raises(PartialMatchError):  # 10.0.0.0/8 is only partly inside VirtualNetwork
        evaluate([], "Inbound", "10.0.0.0/8", "10.0.2.4", 443, ctx=CTX)


ports = st.integers(min_value=1, max_value=65535)
priorities = st.integers(min_value=100, max_value=4096)
endpoints = st.sampled_from(["*", INTERNET, "VirtualNetwork", "Storage", "AzureDatabricks", "10.0.1.0/24", "10.200.0.0/16", "52.174.20.0/28"])
queries = st.sampled_from([INTERNET, "Storage", "AzureDatabricks", "AzureLoadBalancer", "10.0.1.4", "10.0.7.7", "10.200.9.9",
                           "52.174.20.3", "8.8.8.8", "192.168.1.1"])


@st.composite
def rules(draw: st.DrawFn, direction: str) -> NsgRule:
    lo = draw(ports)
    port = draw(st.sampled_from(["*", str(lo), f"{lo}-{min(65535, lo + draw(st.integers(0, 500)))}"]))
    return _r(f"r{draw(st.integers(0, 10**9))}", draw(priorities), draw(st.sampled_from(["Allow", "Deny"])), direction,
              draw(endpoints), draw(endpoints), (port,), draw(st.sampled_from(["*", "Tcp", "Udp"])))


directions = st.sampled_from(["Inbound", "Outbound"])


@settings(max_examples=300, deadline=None)
@given(st.data(), directions, queries, queries, ports, st.sampled_from(["Tcp", "Udp"]))
def test_a_lower_precedence_rule_never_changes_a_decision(data: st.DataObject, direction: str, src: str, dst: str,
                                                          port: int, protocol: str) -> None:
    table = data.draw(st.lists(rules(direction), max_size=6, unique_by=lambda r: r.priority))
    before = evaluate(table, direction, src, dst, port, protocol, CTX)  # type: ignore[arg-type]
    # Strictly lower precedence than the deciding rule (past 4096 too, for the defaults), never sharing a default's number.
    default_numbers = {r.priority for r in DEFAULT_RULES}
    priority = data.draw(st.integers(before.priority + 1, 70000).filter(lambda p: p not in default_numbers))
    shape = data.draw(rules(direction))
    extra = _r("extra", priority, shape.access, direction, shape.sources[0], shape.destinations[0], shape.destination_ports, shape.protocol)
    after = evaluate([*table, extra], direction, src, dst, port, protocol, CTX)  # type: ignore[arg-type]
    assert after == before


@settings(max_examples=300, deadline=None)
@given(st.data(), directions, queries, queries, ports)
def test_a_higher_precedence_matching_rule_always_wins(data: st.DataObject, direction: str, src: str, dst: str, port: int) -> None:
    table = data.draw(st.lists(rules(direction), max_size=6, unique_by=lambda r: r.priority))
    access = data.draw(st.sampled_from(["Allow", "Deny"]))
    top = _r("top", 99, access, direction)  # below every other rule's priority number, matches everything
    decision = evaluate([*table, top], direction, src, dst, port, "Tcp", CTX)  # type: ignore[arg-type]
    assert (decision.rule_name, decision.access) == ("top", access)


@settings(max_examples=200, deadline=None)
@given(directions, queries, queries, ports, st.sampled_from(["Tcp", "Udp"]))
def test_the_default_rules_decide_when_no_custom_rule_matches(direction: str, src: str, dst: str, port: int, protocol: str) -> None:
    unrelated = [_r("unrelated", 200, "Deny", direction, "10.99.0.0/16", "10.99.0.0/16")]
    decision = evaluate(unrelated, direction, src, dst, port, protocol, CTX)  # type: ignore[arg-type]
    assert decision.default_rule and decision == evaluate([], direction, src, dst, port, protocol, CTX)  # type: ignore[arg-type]
    assert decision.rule_name in {r.name for r in DEFAULT_RULES if r.direction == direction}


# --- the environments --------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(ports, st.sampled_from(["Tcp", "Udp"]), st.sampled_from([INTERNET, AZURE_DATABRICKS, "52.174.20.3", "45.155.205.9"]))
def test_nothing_on_the_internet_reaches_any_subnet_on_any_port(port: int, protocol: str, source: str) -> None:
    for stack in ("prod", "dev"):
        net = _inputs(stack)
        for dst in (net.host, net.container, net.endpoints):
            row = flow(net, source, dst, str(port), protocol)  # type: ignore[arg-type]
            assert row.access == "Deny", (stack, row)


def test_the_matrix_denies_internet_and_the_control_plane_inbound(net: NetworkInputs) -> None:
    rows = subnet_matrix(net)
    inbound = [r for r in rows if r.source in (INTERNET, AZURE_DATABRICKS)]
    assert {r.port for r in inbound if r.destination in (net.host, net.container)} == set(INBOUND_PORTS)
    assert {r.destination for r in inbound} == {net.host, net.container, *net.endpoint_nics}
    assert {r.port for r in inbound if isinstance(r.destination, EndpointNic)} >= set(ENDPOINT_PROBE_PORTS)
    assert inbound and all(r.access == "Deny" for r in inbound)
    # Secure cluster connectivity: the control plane never opens a connection, so no rule lets it in.
    assert not any(r.legs[-1].decision.access == "Allow" for r in inbound)


def test_cluster_nodes_reach_each_other(net: NetworkInputs) -> None:
    for src, dst in ((net.host, net.container), (net.container, net.host)):
        for port in INBOUND_PORTS:
            assert flow(net, src, dst, port).access == "Allow"
            assert flow(net, src, dst, port, "Udp").access == "Allow"


def test_workers_reach_the_endpoints_and_a_peered_range_does_not(net: NetworkInputs) -> None:
    backend = net.endpoint_nic("backend")
    for port in ("443", "6666", "3306", "8443-8451"):
        for worker in (net.host, net.container):
            row = flow(net, worker, backend, port)
            assert row.access == "Allow" and row.legs[-1].decision.rule_name == "allow-workspace-to-backend"
        denied = flow(net, CORPORATE, backend, port)
        assert denied.access == "Deny" and denied.legs[-1].decision.rule_name == "deny-all-inbound"
    for port in ("22", "3389", "5557"):
        assert flow(net, net.host, backend, port).access == "Deny"


def test_an_address_query_over_endpoint_members_is_partial(net: NetworkInputs) -> None:
    """The endpoint subnet as a whole holds members of the ASGs and other addresses: no single answer."""
    with pytest.raises(PartialMatchError, match="ask about the endpoint"):
        flow(net, net.host, net.endpoints, "443")
    # A source that no ASG rule admits is denied by the final rule, whatever the address.
    assert flow(net, INTERNET, net.endpoints, "443").legs[-1].decision.rule_name == "deny-all-inbound"


def test_prod_egress_is_limited_to_the_allowed_tags(prod: NetworkInputs) -> None:
    for worker in (prod.host, prod.container):
        row = flow(prod, worker, INTERNET, "443")
        assert row.access == "Deny" and row.legs[0].decision.rule_name == "deny-internet-outbound"
        assert flow(prod, worker, "8.8.8.8", "443").access == "Deny"
        for tag in ALLOWED_TAGS:
            allowed = flow(prod, worker, tag, TAG_PORT[tag])
            assert allowed.access == "Allow" and not allowed.legs[0].decision.default_rule, tag
        assert flow(prod, worker, "Storage", "80").access == "Deny"
        # NoAzureDatabricksRules: the control plane is reached over back-end private link, not the public tag.
        assert flow(prod, worker, AZURE_DATABRICKS, "443").access == "Deny"


def test_dev_egress_reaches_the_internet(dev: NetworkInputs) -> None:
    assert dev.allow_internet_outbound
    for worker in (dev.host, dev.container):
        row = flow(dev, worker, INTERNET, "443")
        assert row.access == "Allow" and row.legs[0].decision.rule_name == "AllowInternetOutBound"
        assert flow(dev, worker, "AzureActiveDirectory", "443").access == "Allow"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_control_plane_rule_follows_required_nsg_rules(stack: str) -> None:
    all_rules = _inputs(stack, required_nsg_rules="AllRules")
    none = _inputs(stack, required_nsg_rules="NoAzureDatabricksRules")
    assert CP_RULE in {r.name for r in all_rules.workspace_rules()}
    assert CP_RULE not in {r.name for r in none.workspace_rules()}
    for port in ("443", "3306", "8443-8451"):
        assert flow(all_rules, all_rules.host, AZURE_DATABRICKS, port).legs[0].decision.rule_name == CP_RULE
        assert flow(none, none.host, AZURE_DATABRICKS, port).legs[0].decision.rule_name != CP_RULE


def test_a_peered_range_is_part_of_virtual_network(net: NetworkInputs) -> None:
    """Azure's VirtualNetwork tag includes peered and gateway-learned ranges, so the Databricks-owned
    worker-to-worker rule admits them to the cluster subnets: recorded here so a change shows up."""
    row = flow(net, CORPORATE, net.host, "22")
    assert row.access == "Allow" and row.legs[0].decision.rule_name.startswith(DATABRICKS_RULE_PREFIX)
    unpeered = _inputs("prod", peered=())
    assert flow(unpeered, CORPORATE, unpeered.host, "22").legs[0].decision.rule_name == "DenyAllInBound"


def test_the_matrix_uses_the_component_rule_tables(net: NetworkInputs) -> None:
    rows = subnet_matrix(net)
    named = {leg.decision.rule_name for r in rows for leg in r.legs}
    table = {r.name for r in (*net.workspace_rules(), *net.endpoint_rules(), *net.aks_rules())} | {r.name for r in DEFAULT_RULES}
    assert named <= table
    assert ipaddress.ip_network(net.host).subnet_of(ipaddress.ip_network(net.vnet))  # type: ignore[arg-type]


def test_matrix_markdown_shape(prod: NetworkInputs) -> None:
    rows = subnet_matrix(prod)
    text = matrix_markdown(rows, prod)
    lines = text.strip().splitlines()
    assert lines[0] == "| source | destination | port | protocol | access | decided by |"
    assert lines[1] == "|---|---|---|---|---|---|"
    assert len(lines) == len(rows) + 2
    assert all(line.startswith("| ") and line.endswith(" |") and line.count(" | ") == 5 for line in lines[2:])
    assert f"host ({prod.host})" in text and "deny-internet-outbound" in text
    assert matrix_markdown([]).strip().count("\n") == 1


# --- the combined matrix: workspace front end, AKS subnet, ingress load balancer, pods -----------



def _topology(stack: str, peered: tuple[str, ...] = ()) -> Topology:
    return stacks.load(stack).plan.topology(peered)


def _row(rows: list[CombinedRow], plane: str, source: str, destination: str, port: str | None = None) -> CombinedRow:
    found = [r for r in rows if r.plane == plane and r.source == source and r.destination == destination and port in (None, r.port)]
    assert len(found) == 1, (plane, source, destination, port, found)
    return found[0]


LISTS = IpAccess(enabled=True, allow=(("office", ("194.8.240.0/24",)), ("break-glass", ("52.174.20.0/28",))),
                 block=(("bad", ("194.8.240.128/25",)),))


def test_ip_access_list_semantics() -> None:
    assert ip_access_list_step("52.174.20.3", LISTS).access == "Allow"
    assert ip_access_list_step("194.8.240.10", LISTS).access == "Allow"
    blocked = ip_access_list_step("194.8.240.200", LISTS)
    assert blocked.access == "Deny" and "BLOCK list bad" in blocked.reason
    assert ip_access_list_step("194.8.240.0/24", LISTS).access == "Partial"
    assert ip_access_list_step(INTERNET, LISTS).access == "Deny" and ip_access_list_step("8.8.8.8", LISTS).access == "Deny"
    no_allow = IpAccess(enabled=True, allow=(), block=LISTS.block)
    assert ip_access_list_step("8.8.8.8", no_allow).access is None and ip_access_list_step("194.8.240.200", no_allow).access == "Deny"
    off = IpAccess(enabled=False, allow=LISTS.allow, block=LISTS.block)
    assert ip_access_list_step("194.8.240.200", off).access is None


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 127), st.booleans())
def test_a_block_match_wins_over_every_allow_list(host: int, enabled_allow: bool) -> None:
    lists = IpAccess(enabled=True, allow=LISTS.allow if enabled_allow else (("all", ("0.0.0.0/0",)),), block=LISTS.block)
    assert ip_access_list_step(f"194.8.240.{128 + host}", lists).access == "Deny"


def test_dev_front_end_is_public_and_fenced_by_the_lists() -> None:
    t = _topology("dev")
    rows = combined_rows(t)
    for cidr, label in (("52.174.20.0/28", "break-glass"), ("20.61.88.16/28", "ci-egress"), ("194.8.240.0/24", "office")):
        row = _row(rows, "workspace", cidr, "workspace UI/API")
        assert row.access == "Allow" and f"ALLOW list {label}" in row.decided_by and "public network access: Enabled" in row.decided_by
    internet = _row(rows, "workspace", INTERNET, "workspace UI/API")
    assert internet.access == "Deny" and internet.decided_by == "IP access lists: on no ALLOW list"
    # Cluster nodes reach the API over the back-end endpoint, which the lists never see.
    host = _row(rows, "workspace", t.net.host, "workspace UI/API")
    assert host.access == "Allow" and "back-end private endpoint" in host.decided_by and "not applied to private-link" in host.decided_by
    assert t.net.aks is None and not [r for r in rows if r.plane in ("aks subnet", "ingress", "kubernetes")]


def test_dev_a_blocked_range_inside_an_allow_list_is_denied() -> None:
    data = stacks.load("dev").model_dump(mode="json")
    data["access"]["ip_access"]["block"] = [IpList(label="compromised", cidrs=("194.8.240.128/25",)).model_dump()]
    t = EnvironmentSpec.model_validate(data).plan.topology()
    rows = combined_rows(t)
    blocked = _row(rows, "workspace", "194.8.240.128/25", "workspace UI/API")
    assert blocked.access == "Deny" and "BLOCK list compromised" in blocked.decided_by
    assert _row(rows, "workspace", "194.8.240.0/24", "workspace UI/API").access == "Partial"
    assert _row(rows, "workspace", "52.174.20.0/28", "workspace UI/API").access == "Allow"


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_private_front_end_answers_only_private_paths(stack: str) -> None:
    t = _topology(stack)
    rows = combined_rows(t)
    for source in (INTERNET, "52.174.20.0/28", "20.61.88.16/28"):
        row = _row(rows, "workspace", source, "workspace UI/API")
        assert row.access == "Deny" and row.decided_by.startswith("public network access: Disabled"), row
    assert t.front_end.transit is not None
    transit = _row(rows, "workspace", t.front_end.transit, "workspace UI/API")
    assert transit.access == "Allow" and "front-end private endpoint" in transit.decided_by
    assert _row(rows, "workspace", t.net.host, "workspace UI/API").access == "Allow"


def test_prod_corporate_reaches_the_workspace_only_through_the_private_endpoint() -> None:
    t = _topology("prod")
    assert CORPORATE in t.front_end.corporate and CORPORATE in t.net.peered
    row = _row(combined_rows(t), "workspace", CORPORATE, "workspace UI/API")
    assert row.access == "Allow" and row.decided_by.startswith("private path: front-end private endpoint")
    # Over the public path it would get nowhere: public network access is Disabled.
    assert public_steps(CORPORATE, t.front_end)[0] == Step("public network access", "Deny", "Disabled, and this source has no private path")


public_addresses = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(lambda a: not any(a in n for n in NON_PUBLIC))


@settings(max_examples=200, deadline=None)
@given(public_addresses)
def test_prod_nothing_on_the_internet_reaches_the_ingress_load_balancer(address: ipaddress.IPv4Address) -> None:
    t = PROD_TOPOLOGY
    assert t.ingress is not None and t.ingress.kind == "internal"
    steps = load_balancer_steps(t, Cluster(network_policies(t.ingress.layout)), str(address))
    assert steps[0].layer == "internal load balancer" and steps[0].access == "Deny"


PROD_TOPOLOGY = _topology("prod", peered=("10.99.0.0/16",))


def test_prod_ingress_load_balancer() -> None:
    t = PROD_TOPOLOGY
    rows = combined_rows(t)
    lb = "ingress LB (internal) to traefik:8443"
    internet = _row(rows, "ingress", INTERNET, lb)
    assert internet.access == "Deny" and internet.decided_by.startswith("internal load balancer")
    corporate = _row(rows, "ingress", CORPORATE, lb)
    assert corporate.access == "Allow"
    assert "loadBalancerSourceRanges: within 10.200.0.0/16" in corporate.decided_by
    assert "aks inbound: allow-ingress-clients-inbound" in corporate.decided_by
    for outside in ("10.99.0.0/16", t.net.host):  # routed into the VNet, outside the source ranges
        row = _row(rows, "ingress", outside, lb)
        assert row.access == "Deny" and row.decided_by.startswith("loadBalancerSourceRanges: outside"), row
    # The transit VNet passes the load balancer but no route admits it, so the NetworkPolicy stops it.
    transit = _row(rows, "ingress", "10.130.0.0/24", lb)
    assert transit.access == "Deny" and transit.decided_by.startswith("NetworkPolicy:")


def test_prod_aks_subnet_has_its_own_nsg() -> None:
    t = PROD_TOPOLOGY
    assert t.net.aks == str(stacks.load("prod").network.plan["aks"])
    rows = [r for r in combined_rows(t) if r.plane == "aks subnet"]
    assert {r.port for r in rows} == {"22", "443", "10250"}
    for r in rows:
        if r.source in (INTERNET, AZURE_DATABRICKS):
            assert r.access == "Deny" and r.decided_by.startswith("route:")
        elif r.source in (t.net.host, t.net.container):
            # The workspace NSG lets cluster nodes out to the VNet (Databricks' worker-to-worker rule); the AKS NSG stops them.
            assert r.access == "Deny" and r.decided_by == "aks inbound: deny-databricks-clusters-inbound", r
            assert r.steps[0].access == "Allow" and "worker-to-worker-outbound" in r.steps[0].reason
        elif r.source in ("10.200.0.0/16", "10.130.0.0/24") and r.port == "443":  # the load balancer's source ranges
            assert r.access == "Allow" and r.decided_by == "aks inbound: allow-ingress-clients-inbound"
        else:  # any other port, or a routed range outside the source ranges
            assert r.access == "Deny" and r.decided_by == "aks inbound: deny-all-inbound", r


@pytest.mark.parametrize("workspace", ["host", "container"])
def test_pods_and_aks_nodes_cannot_reach_databricks_cluster_nodes(workspace: str) -> None:
    """Under Azure CNI pods take AKS-subnet addresses: one row per port, and one for every port and protocol, all
    Deny, closed by the AKS subnet's outbound deny although the workspace NSG itself would admit them at priority 100."""
    t = PROD_TOPOLOGY
    target = getattr(t.net, workspace)
    assert t.net.aks is not None
    rows = [r for r in combined_rows(t) if r.plane == "subnets" and r.source == t.net.aks and r.destination == target]
    assert {(r.port, r.protocol) for r in rows} == {*((p, "Tcp") for p in INBOUND_PORTS), ("*", "*")}
    for r in rows:
        assert r.access == "Deny" and r.decided_by == "aks outbound: deny-databricks-clusters-outbound", r
        # The design does not rely on Databricks' rule being absent: it is there, and it would allow.
        assert r.steps[1].layer == "workspace inbound" and r.steps[1].access == "Allow"
        assert r.steps[1].reason == "Microsoft.Databricks-workspaces_UseOnly_databricks-worker-to-worker-inbound"
    # Without the AKS NSG's deny the flow would be open: the deny is what closes it.
    opened = [rule for rule in t.net.aks_rules() if rule.name != "deny-databricks-clusters-outbound"]
    net = replace(t.net, aks=None)
    assert evaluate(opened, "Outbound", t.net.aks, target, "*", "*", net.context).access == "Allow"
    assert flow(net, t.net.aks, target, "*", "*").access == "Allow"  # the workspace NSG alone admits it
    # A pod that no NetworkPolicy isolates meets the same deny in the kubernetes plane.
    pod_rows = [r for r in combined_rows(t) if r.plane == "kubernetes" and r.source == "kube-system/any-system-pod"
                and r.destination == target]
    assert pod_rows and all(r.access == "Deny" and r.decided_by == "aks outbound: deny-databricks-clusters-outbound"
                            and r.steps[0] == Step("NetworkPolicy", "Allow", r.steps[0].reason) for r in pod_rows)


def test_aks_subnet_table_is_complete_for_aks() -> None:
    """What AKS needs is open: node and pod traffic within the subnet, load balancer probes, the endpoints on 443,
    the ingress clients; the table has no structural problems."""
    t = PROD_TOPOLOGY
    rules, aks, ctx = t.net.aks_rules(), t.net.aks, t.net.context
    assert aks is not None and rule_table_problems(rules) == []
    assert evaluate(rules, "Outbound", aks, aks, "*", "*", ctx).rule_name == "allow-aks-subnet-outbound"
    assert evaluate(rules, "Inbound", aks, aks, "*", "*", ctx).rule_name == "allow-aks-subnet-inbound"
    assert evaluate(rules, "Inbound", "AzureLoadBalancer", aks, "8443", ctx=ctx).rule_name == "allow-load-balancer-probes-inbound"
    assert evaluate(rules, "Outbound", aks, t.net.endpoints, "443", ctx=ctx).rule_name == "allow-private-endpoints-outbound"
    assert evaluate(rules, "Outbound", aks, INTERNET, "443", ctx=ctx).rule_name == "AllowInternetOutBound"
    assert evaluate(rules, "Inbound", CORPORATE, aks, "443", ctx=ctx).rule_name == "allow-ingress-clients-inbound"
    assert evaluate(rules, "Inbound", CORPORATE, aks, "80", ctx=ctx).access == "Deny"  # no ACME route in prod
    # Without source ranges an internal load balancer admits the VNet and what is routed into it, a public one the Internet.
    data = stacks.load("prod").model_dump(mode="json")
    data["ingress"]["load_balancer_source_ranges"] = []
    internal = EnvironmentSpec.model_validate(data).plan.network_inputs((CORPORATE,))
    assert evaluate(internal.aks_rules(), "Inbound", CORPORATE, aks, "443", ctx=internal.context).access == "Allow"
    assert evaluate(internal.aks_rules(), "Inbound", INTERNET, aks, "443", ctx=internal.context).access == "Deny"
    assert data_path_problems(internal) == []


def test_prod_kubernetes_flows() -> None:
    t = PROD_TOPOLOGY
    rows = combined_rows(t)
    for c in ("sql-gateway", "jobs-api"):
        pod = f"databricks-apps/{c}"
        assert _row(rows, "kubernetes", "ingress/traefik", pod).access == "Allow"
        assert _row(rows, "kubernetes", "default/any-pod", pod).access == "Deny"
        # Public HTTPS for the workload identity token exchange at Entra ID, narrowed by the hub firewall's rules.
        internet = _row(rows, "kubernetes", pod, INTERNET)
        assert internet.access == "Allow" and internet.port == "443" and internet.decided_by.startswith("NetworkPolicy:")
        assert "rule collection group rcg-databricks-prod" in internet.decided_by
        # The NetworkPolicy lets a connector reach the endpoint subnet, and the matrix carries the flow on to the
        # private-endpoint subnet's NSG, whose verdict is the row's: the back-end endpoint, and the Azure Monitor scope's
        # endpoint that the Container Insights agent on the same nodes sends to (an NSG sees node and pod addresses of
        # the AKS subnet alike under Azure CNI).
        for nic in t.net.endpoint_nics:
            row = _row(rows, "kubernetes", pod, str(nic))
            assert row.steps[0] == Step("NetworkPolicy", "Allow", row.steps[0].reason)
            nsg = flow(t.net, t.net.aks, nic, "443")  # type: ignore[arg-type]
            assert row.access == nsg.access and row.steps[-1].layer == "private-endpoint inbound"
            if nic.endpoint_class in ("backend", "monitor"):
                assert row.access == "Allow" and f"allow-ingress-tier-to-{nic.endpoint_class}" in row.steps[-1].reason
            else:  # not the lake, the DBFS root, SQL, the Key Vault or the SIEM hub
                assert row.access == "Deny" and "deny-all-inbound" in row.steps[-1].reason, nic
    proxy = _row(rows, "kubernetes", "ingress/oauth2-proxy", INTERNET)
    assert proxy.access == "Allow" and proxy.decided_by.endswith(
        "egress: firewall 10.0.1.4 in the peered hub, allowing only what rule collection group rcg-databricks-prod lists")
    assert _row(rows, "kubernetes", INTERNET, "ingress/traefik").access == "Deny"


def test_combined_markdown() -> None:
    for stack in ("dev", "staging", "prod"):
        t = _topology(stack)
        text = combined_markdown(t)
        rows = combined_rows(t)
        table = [line for line in text.splitlines() if line.startswith("| ")]
        assert table[0] == "| source | destination | port | protocol | access | decided by |" and len(table) == len(rows) + 1
        assert all(line.endswith(" |") and line.count(" | ") == 5 for line in table)
        assert "Planes:" in text and "**Partial**" in text
        # The subnet plane is the NSG matrix, row for row.
        nsg = subnet_matrix(t.net)
        assert [(r.source, r.destination, r.port, r.access, r.decided_by) for r in rows if r.plane == "subnets"] == \
            [(r.source, str(r.destination), r.port, r.access, r.decided_by) for r in nsg]
    assert "| 52.174.20.0/28 (ALLOW break-glass) | workspace UI/API | 443 | Tcp | Allow |" in combined_markdown(_topology("dev"))


# --- every data path the design promises to the private endpoints, and nothing else ----------------------


@dataclass(frozen=True)
class _WithRules(NetworkInputs):
    """The matrix inputs with the endpoint subnet's table given: the recorded one, or a mutated one."""

    table: tuple[NsgRule, ...] = ()

    def endpoint_rules(self) -> list[NsgRule]:
        return list(self.table)


def _recorded_endpoint_rules(rec: Recording, spec: EnvironmentSpec) -> tuple[NsgRule, ...]:
    """The endpoint subnet's NSG as the program registered it, read back into table rows (ASG ids to classes)."""
    prefix = f"{spec.names.endpoint_application_security_group}-"
    created = {a.inputs["applicationSecurityGroupName"] for a in rec.of_type("azure-native:network:ApplicationSecurityGroup")}

    def asg_class(arm_id: str) -> str:  # .../applicationSecurityGroups/<name>, a group this stack created
        name = arm_id.rsplit("/applicationSecurityGroups/", 1)[1]
        assert name in created, arm_id
        return name.removeprefix(prefix)

    def many(i: dict, one: str, plural: str) -> tuple[str, ...]:
        return (i[one],) if one in i else tuple(i.get(plural) or ())

    rows = []
    for r in rec.of_type("azure-native:network:SecurityRule"):
        i = r.inputs
        if i["networkSecurityGroupName"] != spec.names.endpoint_network_security_group:
            continue
        rows.append(NsgRule(
            name=i["securityRuleName"], priority=int(i["priority"]), direction=i["direction"], access=i["access"],
            protocol=i["protocol"], sources=many(i, "sourceAddressPrefix", "sourceAddressPrefixes"),
            destinations=many(i, "destinationAddressPrefix", "destinationAddressPrefixes"),
            destination_ports=many(i, "destinationPortRange", "destinationPortRanges"), owner="toolkit", description="",
            destination_asgs=tuple(asg_class(g["id"]) for g in i.get("destinationApplicationSecurityGroups") or ()),
        ))
    assert rows, "no rules recorded on the endpoint subnet's NSG"
    return tuple(rows)


@pytest.fixture(scope="module", params=["dev", "staging", "prod", "staging+bastion"])
def recorded(request: pytest.FixtureRequest) -> tuple[Recording, EnvironmentSpec]:
    if request.param == "staging+bastion":
        env: tuple[Recording, EnvironmentSpec] = request.getfixturevalue("bastion_env")
        assert env[1].bastion.enabled
        return env
    return recording_of(request.param), stacks.load(request.param)


def test_every_promised_data_path_is_open_and_every_other_closed(recorded: tuple[Recording, EnvironmentSpec]) -> None:
    """The matrix, evaluated over the rules the program registered, against the promise derived from the spec."""
    rec, spec = recorded
    planned = spec.plan.network_inputs((CORPORATE,))
    assert data_path_problems(planned) == []
    net = _WithRules(**planned.__dict__, table=_recorded_endpoint_rules(rec, spec))
    assert sorted((r.name, r.priority, r.sources, r.destination_asgs, r.destination_ports) for r in net.endpoint_rules()) == \
        sorted((r.name, r.priority, r.sources, r.destination_asgs, r.destination_ports) for r in planned.endpoint_rules())
    assert data_path_problems(net) == []
    # What the promise holds, per spec: the clusters reach every data endpoint class that exists (SQL over TDS), not
    # the Key Vault or the SIEM hub; the AKS nodes only the back-end endpoint and the Azure Monitor scope.
    promised = net.promised()
    classes = spec.plan.endpoint_classes
    # (the scope's endpoint only where the toolkit creates the AKS nodes that send to it)
    assert {p.endpoint_class for p in promised} == set(classes) - {"key-vault", "siem", *([] if net.aks else ["monitor"])}
    assert ("monitor" in classes) == spec.monitoring.private_link.enabled
    assert ("siem" in classes) == (spec.monitoring.siem.event_hub and spec.monitoring.siem.private_endpoint)
    assert ("sql" in classes) == spec.data.sql.enabled and ("lake" in classes) == spec.data.lake.enabled
    for worker in (net.host, net.container):
        assert DataPath(worker, "backend", "443") in promised
        if "sql" in classes:
            assert DataPath(worker, "sql", "1433-65535") in promised
    aks_promise = {("backend", "443"), *([("monitor", "443")] if "monitor" in classes else [])}
    assert {(p.endpoint_class, p.port) for p in promised if p.source == net.aks} == (aks_promise if net.aks else set())
    assert not any(p.endpoint_class == "monitor" for p in promised if p.source in (net.host, net.container))


def _prod_with(mutate: Callable[[list[NsgRule]], list[NsgRule]]) -> list[str]:
    net = stacks.load("prod").plan.network_inputs((CORPORATE,))
    return data_path_problems(_WithRules(**net.__dict__, table=tuple(mutate(net.endpoint_rules()))))


def _replace(name: str, **changes: object) -> Callable[[list[NsgRule]], list[NsgRule]]:
    return lambda rules: [replace(r, **changes) if r.name == name else r for r in rules]  # type: ignore[arg-type]


def test_a_closed_promised_path_is_found() -> None:
    problems = _prod_with(lambda rules: [r for r in rules if r.name != "allow-workspace-to-sql"])
    assert problems and all(p.startswith("promised path closed:") and "sql endpoint" in p for p in problems)
    assert any("port 1433-65535" in p for p in problems)
    # Redirect's ports are part of the promise: 1433 alone is not enough.
    narrowed = _prod_with(_replace("allow-workspace-to-sql", destination_ports=("1433",)))
    assert any(p.startswith("promised path partly open:") and "port 1433-65535" in p for p in narrowed)
    assert all(p.startswith("promised path") and "sql endpoint" in p for p in narrowed)
    # A deny ahead of the allows closes the back-end endpoint for the clusters.
    deny = NsgRule(name="deny-workers", priority=150, direction="Inbound", access="Deny", protocol="*", sources=("VirtualNetwork",),
                   destinations=("*",), destination_ports=("*",), owner="toolkit", description="")
    assert any(p.startswith("promised path closed:") and "backend endpoint" in p for p in _prod_with(lambda rules: [deny, *rules]))


def test_an_unpromised_open_path_is_found() -> None:
    # The connector rule widened to the whole endpoint subnet (what the toolkit used to create).
    net = stacks.load("prod").plan.network
    widened = _prod_with(_replace("allow-ingress-tier-to-backend", destination_asgs=(), destinations=(net.endpoints,)))
    assert widened and all(p.startswith("unpromised path open:") and f"{net.aks} to" in p for p in widened)
    assert {p.split(" to ")[1].split(" endpoint")[0] for p in widened} == {"dfs", "blob", "lake-dfs", "lake-blob", "sql", "vault", "event-hub"}
    # The lake's rule pointed at the Key Vault's ASG: the lake closes and the vault opens.
    swapped = _prod_with(_replace("allow-workspace-to-lake", destination_asgs=("key-vault",)))
    assert any(p.startswith("promised path closed:") and "lake-dfs endpoint" in p for p in swapped)
    assert any(p.startswith("unpromised path open:") and "vault endpoint" in p for p in swapped)
    # A peered range let in on the SQL rule.
    sql_sources = _prod_with(_replace("allow-workspace-to-sql", sources=(*(net.host, net.container), CORPORATE)))
    assert any(p.startswith(f"unpromised path open: {CORPORATE} to sql endpoint") for p in sql_sources)


def test_application_security_group_semantics() -> None:
    """A rule naming an ASG applies only to the endpoints in it; an address query over its members has no single answer."""
    ctx = NetworkContext(vnet=("10.0.0.0/16",), asg_subnets=(("sql", "10.0.8.0/27"), ("lake", "10.0.8.0/27")))
    rule = NsgRule(name="to-sql", priority=200, direction="Inbound", access="Allow", protocol="Tcp", sources=("10.0.0.0/22",),
                   destinations=(), destination_ports=("1433-65535",), owner="toolkit", description="", destination_asgs=("sql",))
    sql, lake = EndpointNic("sql", "sql", "10.0.8.0/27", ("sql",)), EndpointNic("lake-dfs", "lake", "10.0.8.0/27", ("lake",))
    assert evaluate([rule], "Inbound", "10.0.0.0/22", sql, "1433", ctx=ctx).rule_name == "to-sql"
    assert evaluate([rule], "Inbound", "10.0.0.0/22", sql, "11000-11999", ctx=ctx).access == "Allow"
    assert evaluate([rule], "Inbound", "10.0.0.0/22", lake, "1433", ctx=ctx).rule_name == "AllowVnetInBound"
    assert evaluate([rule], "Inbound", "10.0.4.0/22", sql, "1433", ctx=ctx).rule_name == "AllowVnetInBound"  # not a source
    with pytest.raises(PartialMatchError):
        evaluate([rule], "Inbound", "10.0.0.0/22", "10.0.8.4", "1433", ctx=ctx)
    # An address outside every member's subnet is simply not a member; a service tag never is.
    assert evaluate([rule], "Inbound", "10.0.0.0/22", "10.0.9.0/24", "1433", ctx=ctx).rule_name == "AllowVnetInBound"
    assert evaluate([rule], "Inbound", "10.0.0.0/22", "Sql", "1433", ctx=ctx).rule_name == "DenyAllInBound"
    # An address rule covering the endpoint's whole subnet applies to it.
    subnet_rule = replace(rule, name="to-subnet", destinations=("10.0.8.0/27",), destination_asgs=())
    assert evaluate([subnet_rule], "Inbound", "10.0.0.0/22", lake, "1433", ctx=ctx).rule_name == "to-subnet"
