"""Pure planners: address carving (property-tested), names, NSG rule tables."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stacks
from components.facts import AKS, CONTAINER, ENDPOINTS, HOST
from components.planning.addresses import (
    AZURE_RESERVED_ADDRESSES,
    AddressPlanError,
    SubnetRequest,
    carve_subnets,
    max_cluster_nodes,
    usable_addresses,
)
from components.planning.ingress import creates_aks
from components.planning.naming import NAME_RULES, name_problem, plan_names
from components.planning.nsg_rules import (
    DATABRICKS_RULE_PREFIX,
    private_endpoint_subnet_rules,
    rule_table_problems,
    workspace_subnet_rules,
)
from components.planning.regions import DATABRICKS_REGIONS

# ---------- addresses ----------

vnets = st.builds(
    lambda a, b, prefix: str(ipaddress.IPv4Network(f"10.{a}.{b}.0/{prefix}", strict=False)),
    st.integers(0, 255), st.integers(0, 255), st.integers(16, 24),
)


@st.composite
def layouts(draw: st.DrawFn) -> tuple[str, list[SubnetRequest]]:
    vnet = draw(vnets)
    base = ipaddress.IPv4Network(vnet).prefixlen
    n = draw(st.integers(1, 5))
    reqs = [SubnetRequest(f"s{i}", draw(st.integers(base, 29))) for i in range(n)]
    return vnet, reqs


@settings(max_examples=300, deadline=None)
@given(layouts())
def test_carved_subnets_fit_do_not_overlap_and_have_the_requested_size(layout: tuple[str, list[SubnetRequest]]) -> None:
    vnet_cidr, reqs = layout
    vnet = ipaddress.IPv4Network(vnet_cidr)
    total = sum(2 ** (32 - (r.prefix_length or 0)) for r in reqs)
    try:
        plan = carve_subnets(vnet_cidr, reqs)
    except AddressPlanError as exc:
        # Only a layout that cannot fit may fail, and the error says which subnet did not fit.
        assert total > vnet.num_addresses or len(reqs) > 1
        assert exc.problems and all(name.startswith("s") for name, _ in exc.problems)
        return
    nets = list(plan.subnets.values())
    assert list(plan.subnets) == [r.name for r in reqs]
    for req in reqs:
        assert plan[req.name].prefixlen == req.prefix_length
        assert plan[req.name].subnet_of(vnet)
    for i, a in enumerate(nets):
        for b in nets[i + 1:]:
            assert not a.overlaps(b)
    # Free space plus used space is the whole VNet.
    assert sum(n.num_addresses for n in nets) + sum(f.num_addresses for f in plan.free()) == vnet.num_addresses


@settings(max_examples=200, deadline=None)
@given(layouts())
def test_carving_is_deterministic(layout: tuple[str, list[SubnetRequest]]) -> None:
    vnet_cidr, reqs = layout
    try:
        first = carve_subnets(vnet_cidr, reqs)
    except AddressPlanError:
        return
    assert carve_subnets(vnet_cidr, reqs) == first


@settings(max_examples=200, deadline=None)
@given(vnets, st.integers(0, 3), st.lists(st.integers(18, 28), min_size=1, max_size=3))
def test_fixed_cidrs_are_kept_and_carved_ones_avoid_them(vnet_cidr: str, pick: int, prefixes: list[int]) -> None:
    vnet = ipaddress.IPv4Network(vnet_cidr)
    fixed_prefix = min(vnet.prefixlen + 2, 29)
    candidates = list(vnet.subnets(new_prefix=fixed_prefix))
    fixed = candidates[pick % len(candidates)]
    reqs = [SubnetRequest("fixed", cidr=str(fixed))] + [
        SubnetRequest(f"c{i}", max(p, vnet.prefixlen)) for i, p in enumerate(prefixes)
    ]
    try:
        plan = carve_subnets(vnet_cidr, reqs)
    except AddressPlanError:
        return
    assert plan["fixed"] == fixed
    for name, net in plan.subnets.items():
        if name != "fixed":
            assert not net.overlaps(fixed)


@given(st.integers(16, 29))
def test_usable_addresses_reserve_five(prefix: int) -> None:
    net = ipaddress.IPv4Network(f"10.0.0.0/{prefix}")
    assert usable_addresses(net) == net.num_addresses - AZURE_RESERVED_ADDRESSES


def test_max_cluster_nodes_is_bounded_by_the_smaller_subnet() -> None:
    host, container = ipaddress.IPv4Network("10.0.0.0/22"), ipaddress.IPv4Network("10.0.4.0/26")
    assert max_cluster_nodes(host, container) == 64 - 5
    assert max_cluster_nodes(host, host) == 1024 - 5


def test_fixed_cidr_problems_are_all_reported() -> None:
    with pytest.raises(AddressPlanError) as err:
        carve_subnets("10.0.0.0/20", [
            SubnetRequest("a", cidr="10.1.0.0/24"),
            SubnetRequest("b", cidr="10.0.0.0/24"),
            SubnetRequest("c", cidr="10.0.0.128/25"),
            SubnetRequest("d", cidr="10.0.0.1/24"),
        ])
    names = [name for name, _ in err.value.problems]
    assert names == ["a", "c", "d"]
    assert "not inside" in err.value.problems[0][1]
    assert "overlaps subnet 'b'" in err.value.problems[1][1]


def test_subnet_request_needs_exactly_one_of_size_or_cidr() -> None:
    with pytest.raises(ValueError):
        SubnetRequest("x")
    with pytest.raises(ValueError):
        SubnetRequest("x", prefix_length=24, cidr="10.0.0.0/24")


# ---------- names ----------

@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z][a-z0-9]{1,5}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9]{0,5}(-[a-z0-9]{1,2})?", fullmatch=True).filter(lambda s: 2 <= len(s) <= 12),
    st.sampled_from(sorted(DATABRICKS_REGIONS)),
)
def test_planned_names_keep_their_kinds_charset(prefix: str, env: str, region: str) -> None:
    plan = plan_names(prefix, env, region)
    for field, kind, value in plan.items():
        rule = NAME_RULES[kind]
        if kind == "storage_account":
            assert value.isalnum() and value == value.lower(), field
        if len(value) <= rule.max_len:
            assert name_problem(kind, value) is None, (field, value)
    assert plan == plan_names(prefix, env, region)


def test_storage_names_differ_per_environment_and_region() -> None:
    names = {plan_names("bw", env, region).workspace_storage_account
             for env in ("dev", "staging", "prod") for region in ("westeurope", "northeurope")}
    assert len(names) == 6


@pytest.mark.parametrize(("kind", "value", "fragment"), [
    ("storage_account", "st-bad", "lowercase letters and digits"),
    ("storage_account", "s" * 25, "3-24"),
    ("databricks_workspace", "ws.name", "letters, digits, _ -"),
    ("virtual_network", "-vnet", "starts with"),
    ("resource_group", "rg.", "not ending"),
    ("private_endpoint", "p", "2-64"),
])
def test_name_rules_reject_with_the_reason(kind: str, value: str, fragment: str) -> None:
    problem = name_problem(kind, value)
    assert problem is not None and fragment in problem


# ---------- NSG rule tables ----------

@pytest.mark.parametrize("mode", ["AllRules", "NoAzureDatabricksRules"])
@pytest.mark.parametrize("outbound", [True, False])
def test_workspace_rule_table_is_consistent(mode: str, outbound: bool) -> None:
    rules = workspace_subnet_rules(mode, outbound)
    assert rule_table_problems(rules) == []
    injected = {r.name for r in rules if r.owner == "databricks"}
    authored = [r for r in rules if r.created_by_toolkit]
    assert all(name.startswith(DATABRICKS_RULE_PREFIX) for name in injected)
    assert not any(r.name.startswith(DATABRICKS_RULE_PREFIX) for r in authored)
    # The control-plane rule exists only without back-end private link.
    assert any("AzureDatabricks" in r.destinations for r in rules) == (mode == "AllRules")
    # Secure cluster connectivity: no inbound allow from outside the VNet, explicit inbound Internet deny.
    for rule in rules:
        if rule.direction == "Inbound" and rule.access == "Allow":
            assert rule.sources == ("VirtualNetwork",)
    assert any(r.direction == "Inbound" and r.access == "Deny" and r.sources == ("Internet",) for r in authored)
    denies_out = any(r.direction == "Outbound" and r.access == "Deny" and "Internet" in r.destinations for r in authored)
    assert denies_out == (not outbound)
    if not outbound:
        tags = {d for r in authored if r.access == "Allow" for d in r.destinations}
        assert tags == {"AzureActiveDirectory", "AzureFrontDoor.Frontend"}


def test_endpoint_subnet_rules_admit_each_client_to_its_endpoint_classes_only() -> None:
    workers = ("10.0.0.0/22", "10.0.4.0/22")
    rules = private_endpoint_subnet_rules(workers, ("backend", "lake", "sql", "key-vault"), "10.0.12.0/24")
    assert rule_table_problems(rules) == []
    allow = {r.name: r for r in rules if r.access == "Allow"}
    assert set(allow) == {"allow-workspace-to-backend", "allow-workspace-to-lake", "allow-workspace-to-sql",
                          "allow-ingress-tier-to-backend"}
    # Every allow names one class's application security group, never an address range of the subnet.
    assert all(r.destinations == () and len(r.destination_asgs) == 1 for r in allow.values())
    assert allow["allow-workspace-to-sql"].destination_ports == ("1433-65535",)
    assert allow["allow-workspace-to-sql"].sources == workers and allow["allow-workspace-to-sql"].destination_asgs == ("sql",)
    assert set(allow["allow-workspace-to-backend"].destination_ports) == {"443", "3306", "6666", "8443-8451"}
    assert (allow["allow-ingress-tier-to-backend"].sources, allow["allow-ingress-tier-to-backend"].destination_ports) == (
        ("10.0.12.0/24",), ("443",))
    # No class present, no rule for it; the priorities of the others do not move.
    fewer = {r.name: r.priority for r in private_endpoint_subnet_rules(workers, ("backend", "sql"))}
    assert "allow-workspace-to-lake" not in fewer and fewer["allow-workspace-to-sql"] == allow["allow-workspace-to-sql"].priority
    assert any(r.access == "Deny" and r.sources == ("*",) for r in rules)


def test_rule_table_problems_catch_clashes() -> None:
    rules = workspace_subnet_rules("AllRules", False)
    clash = [*rules, rules[-1]]
    problems = rule_table_problems(clash)
    assert any("share Outbound priority 4096" in p for p in problems)
    assert any("appears twice" in p for p in problems)


# --- the environment's plan (components/planning/environment.py), read from the spec once ---------------------------


@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_the_environment_plan_is_decided_once_and_agrees_with_the_spec(stack: str) -> None:
    spec = stacks.load(stack)
    plan = spec.plan
    assert spec.plan is plan  # cached: one decision per spec
    parts = plan.parts
    assert parts.aks is creates_aks(spec.ingress.enabled, spec.ingress.cluster)
    assert plan.aks_cidr == (str(spec.network.plan[AKS]) if parts.aks else None)
    assert (plan.host_cidr, plan.container_cidr, plan.endpoint_cidr) == tuple(
        str(spec.network.plan[k]) for k in (HOST, CONTAINER, ENDPOINTS))
    assert plan.names is spec.names
    # The transit VNet's endpoint subnet is the first block of its size, as the bastion layout puts it.
    transit = spec.private_link.transit
    if parts.transit and transit is not None and transit.address_space is not None:
        first = next(ipaddress.IPv4Network(transit.address_space).subnets(new_prefix=transit.private_endpoint_prefix_length))
        assert plan.transit_endpoint_cidr == str(first)
    else:
        assert plan.transit_endpoint_cidr is None
    # Peered ranges reach the matrix's inputs and the front end, after the corporate ranges the spec names.
    peered = ("10.250.0.0/16",)
    t = plan.topology(peered)
    assert t.net.peered == t.front_end.corporate == (*plan.corporate, *peered)
    assert plan.network_inputs(peered).peered == peered and plan.network.peered == ()
    assert (t.ingress is not None) is parts.aks and t.net.aks == plan.aks_cidr
    assert plan.endpoint_asg_names == {c: f"{spec.names.endpoint_application_security_group}-{c}"
                                       for c in plan.endpoint_classes}


@pytest.mark.parametrize(("enabled", "cluster", "expected"),
                         [(True, "aks", True), (True, "existing", False), (False, "aks", False), (False, "existing", False)])
def test_creates_aks(enabled: bool, cluster: str, expected: bool) -> None:
    assert creates_aks(enabled, cluster) is expected
