"""The Azure part of `python -m brickwall audit`, cluster NICs: the security rules in effect on the network interfaces
of the Databricks cluster nodes, against the reachability matrix (brickwall/audit_azure.py hooks it in).

Where the NICs are. A VNet-injected workspace's cluster VMs live in the workspace's managed resource group (the
workspace's `managedResourceGroupId` in the plan) with their NICs in the host and container subnets (the workspace's
`parameters.customPublicSubnetName` / `customPrivateSubnetName` in `customVirtualNetworkId`:
https://learn.microsoft.com/azure/databricks/security/network/classic/vnet-inject, "Virtual network requirements": a
container subnet, sometimes called the private subnet, and a host subnet, sometimes called the public subnet). A
cluster NIC of a VNet-injected workspace, `<id>-privateNIC`, in the managed resource group and under Databricks' system
deny assignment there, is what MicrosoftDocs/azure-docs issue #51173 shows (it names that deny assignment "System deny
assignment created by Azure Databricks"); deny assignments block the actions they list even where a role grants them
(https://learn.microsoft.com/azure/role-based-access-control/deny-assignments). The audit only reads, and a refusal
names what to grant.

What is read, bounded (prod can run hundreds of nodes):

    1 list    GET /subscriptions/{s}/resourceGroups/{managed rg}/providers/Microsoft.Network/networkInterfaces
              NetworkManagementClient.network_interfaces.list (azure-mgmt-network 33.1.0; `nextLink` pages followed)
    <= 8 LROs POST .../networkInterfaces/{nic}/effectiveNetworkSecurityGroups
              network_interfaces.begin_list_effective_network_security_groups: 200 with the result, or 202 with a
              Location to GET until it answers 200 (azure-rest-api-specs specification/network/resource-manager/
              Microsoft.Network/stable/2025-03-01/examples/NetworkInterfaceEffectiveNSGList.json; ARM's asynchronous
              pattern: https://learn.microsoft.com/azure/azure-resource-manager/management/async-operations), 4 at once.

NICs whose subnet is the same and that have the same NSG of their own (none, usually) have the same effective rules, so
one NIC per (subnet, NIC-level NSG) is read, at most MAX_EFFECTIVE_READS per audit: one list call (plus pages), then
at most 8 POSTs with their polls, however many nodes run. No cluster running: nothing to compare (the count says so).

The comparison. The effective rules (one set per NSG applied: the subnet's and the NIC's; Azure lets a flow through only
when each allows it) are evaluated with the planner's own `evaluate` (components/planning/reachability.py) for every
row of the reachability matrix (`subnet_matrix`, the rows `python -m brickwall report` shows) that crosses the
workspace NSG at a cluster subnet: inbound to it, outbound from it. A flow the matrix's workspace-NSG leg denies but
the live rules allow is a `nic-port-open` finding: HIGH when the other end is public (Internet, a public service tag
or address), MEDIUM when it is private. The matrix probes the ports the design cares about; a live rule may open
others (an NSG associated by hand), so each live Allow rule's own flows (its prefixes and ports) are asked of the
planned workspace rules the same way, and flagged when the plan denies them. Effective rules name "*" 0.0.0.0/0, every port 0-65535 and every protocol
"All" (the example above): read as "*". Azure's default rules are evaluated once (the planner adds them).

Databricks' deny assignment. On a cluster NIC the POST may be refused whatever role the auditor holds: Databricks' system
deny assignment on the managed resource group denied `.../networkInterfaces/effectiveRouteTable/action` there
(MicrosoftDocs/azure-docs issue #51173: DenyAssignmentAuthorizationFailed, "System deny assignment created by Azure
Databricks"), and the effective-NSG action is of the same kind. A refusal with that code is not a missing grant: the
audit then composes the same rules from plain reads. The refusals by that deny assignment on record are actions
(#51173's effectiveRouteTable/action; Azure/migAz issue #266: storageAccounts/listKeys/action), not reads: reads of the
managed group are taken to pass (not verified against a live deny assignment; a refused read is a 403 line naming
Reader, like any other). Only the NIC list reads the managed group; the NIC's subnet
(GET .../virtualNetworks/{vnet}/subnets/{subnet}, `subnets.get`, in the workspace's resource group) names the subnet's
NSG, the NIC list names the NIC's own NSG, and each is read with `network_security_groups.get`: at most 2 more GETs
per sampled NIC. The finding says which way the rules were read.

Least permissions on the managed resource group: Microsoft.Network/networkInterfaces/read (in Reader) to list, and
Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action for the POST, which Reader's `*/read` does
not hold (MicrosoftDocs/azure-docs articles/virtual-network/diagnose-network-traffic-filter-problem.md: the account
"must be assigned the Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action operation";
https://learn.microsoft.com/azure/role-based-access-control/permissions/networking): a custom role with both, or
Network Contributor, which writes too.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from brickwall.audit import HIGH, MEDIUM, Finding, arm_error
from components.planning import azure_types as az
from components.planning.nsg_rules import NsgRule
from components.planning.reachability import (
    ANY,
    DEFAULT_RULE_NAMES,
    INTERNET,
    INTERNET_HOSTED_TAGS,
    WORKSPACE_NSG,
    NetworkInputs,
    PartialMatchError,
    Target,
    evaluate,
    is_cidr,
    label,
    subnet_matrix,
)

if TYPE_CHECKING:
    from components.spec import EnvironmentSpec

T_WORKSPACE = az.DATABRICKS_WORKSPACE.token
T_SUBNET = az.SUBNET.token
MAX_EFFECTIVE_READS = 8
PARALLEL = 4
POLL_SECONDS = 5  # between polls of a 202's Location when ARM sends no Retry-After (azure-mgmt-network's default: 30)
LIST_GRANT = "Microsoft.Network/networkInterfaces/read"
EFFECTIVE_GRANT = "Microsoft.Network/networkInterfaces/effectiveNetworkSecurityGroups/action"
DENY_ASSIGNMENT = "DenyAssignmentAuthorizationFailed"  # ARM's error code (MicrosoftDocs/azure-docs issue #51173)
ROLE_HINT = "a custom role with it and networkInterfaces/read; Reader's */read does not include it"


class ReadProblem(Exception):
    """A read that failed in a way the caller reports as is (one line, already naming what to grant)."""


@dataclass(frozen=True)
class ClusterSubnet:
    role: str  # "host" or "container"
    path: str  # "{rg}/providers/microsoft.network/virtualnetworks/{vnet}/subnets/{name}", lower case
    cidr: str


@dataclass(frozen=True)
class NicExpected:
    workspace: str
    managed_rg: str
    subnets: tuple[ClusterSubnet, ...]
    inputs: NetworkInputs  # the reachability matrix's inputs


def _subnet_path(text: str) -> str:
    """An ARM id from its resource group on, lower case (ARM ids are case-insensitive: some spell `resourcegroups`)."""
    return re.split(r"/resourceGroups/", text, maxsplit=1, flags=re.IGNORECASE)[-1].lower()


def expected_nics(plan: Mapping[str, Any], spec: EnvironmentSpec | None) -> list[NicExpected]:
    """Each VNet-injected workspace of the plan: its managed resource group and cluster subnets, and the matrix of
    `spec`. Empty without a spec, or when the spec's subnets are not the plan's (then the matrix is not this plan's)."""
    if spec is None:
        return []
    inputs = spec.plan.topology().net
    resources = plan.get("resources", [])
    cidrs = {}
    for r in resources:
        if r.get("type") == T_SUBNET:
            i = r["inputs"]
            key = f"{i['resourceGroupName']}/providers/microsoft.network/virtualnetworks/{i['virtualNetworkName']}/" \
                  f"subnets/{i['subnetName']}".lower()
            cidrs[key] = str(i.get("addressPrefix"))
    out = []
    for r in resources:
        if r.get("type") != T_WORKSPACE:
            continue
        i = r["inputs"]
        params = i.get("parameters") or {}
        vnet = (params.get("customVirtualNetworkId") or {}).get("value")
        managed = str(i.get("managedResourceGroupId") or "").rstrip("/").rsplit("/", 1)[-1]
        if not vnet or not managed:
            continue  # not VNet-injected: Databricks' own VNet, no NSG of ours
        subnets = []
        for role, param in (("host", "customPublicSubnetName"), ("container", "customPrivateSubnetName")):
            name = (params.get(param) or {}).get("value")
            path = f"{_subnet_path(str(vnet))}/subnets/{name}".lower()
            if name and path in cidrs:
                subnets.append(ClusterSubnet(role, path, cidrs[path]))
        if {s.cidr for s in subnets} != {inputs.host, inputs.container}:
            continue  # the spec is not the one this plan was rendered from
        out.append(NicExpected(i["workspaceName"], managed, tuple(subnets), inputs))
    return out


# --- what Azure holds -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AppliedNsg:
    nsg: str  # the NSG's name
    rules: tuple[NsgRule, ...]


@dataclass(frozen=True)
class CheckedNic:
    name: str
    subnet: ClusterSubnet
    nsgs: tuple[AppliedNsg, ...]
    also: int = 0  # NICs of the same subnet and NIC-level NSG, not read
    composed: bool = False  # the effective-rules POST was denied: composed from the subnet's and the NIC's NSG


@dataclass
class NicLive:
    listed: int = 0  # NICs in the cluster subnets
    checked: list[CheckedNic] = field(default_factory=list)


def _v(x: Any) -> Any:
    return getattr(x, "value", x)


def _prefix(p: str) -> str:
    return ANY if p in ("0.0.0.0/0", "*") else p


def _port(p: str) -> str:
    return ANY if p in ("0-65535", "*") else (p.split("-")[0] if "-" in p and len(set(p.split("-"))) == 1 else p)


def live_rule(r: Any) -> NsgRule | None:
    """One effective rule (azure-mgmt-network EffectiveNetworkSecurityRule) as the planner's NsgRule; None for an
    Azure default rule (the planner's `evaluate` adds those itself)."""
    name = str(r.name or "")
    if name.startswith("defaultSecurityRules/") and name.split("/", 1)[1] in DEFAULT_RULE_NAMES:
        return None
    protocol = str(_v(r.protocol))
    return NsgRule(
        name=name.split("/", 1)[-1], priority=int(r.priority), direction=_v(r.direction), access=_v(r.access),
        protocol="*" if protocol.lower() == "all" else protocol,  # type: ignore[arg-type]
        sources=tuple(_prefix(p) for p in (r.source_address_prefixes or [r.source_address_prefix]) if p),
        destinations=tuple(_prefix(p) for p in (r.destination_address_prefixes or [r.destination_address_prefix]) if p),
        destination_ports=tuple(_port(p) for p in (r.destination_port_ranges or [r.destination_port_range]) if p),
        source_ports=tuple(_port(p) for p in (r.source_port_ranges or [r.source_port_range]) if p) or (ANY,),
        owner="toolkit", description="effective rule")


def nsg_rule(rule: Any) -> NsgRule:
    """A security rule of an NSG read with `network_security_groups.get` (SecurityRule.properties) as an NsgRule:
    application security groups by name (no cluster NIC is in one)."""
    p = rule.properties
    asgs = tuple(str(a.id or "").rsplit("/", 1)[-1] for a in p.destination_application_security_groups or [])
    return NsgRule(
        name=str(rule.name), priority=int(p.priority), direction=_v(p.direction), access=_v(p.access),
        protocol=_v(p.protocol), sources=tuple(p.source_address_prefixes or [p.source_address_prefix or ANY]),
        destinations=tuple(p.destination_address_prefixes or [p.destination_address_prefix or ANY]),
        destination_ports=tuple(p.destination_port_ranges or [p.destination_port_range or ANY]),
        source_ports=tuple(p.source_port_ranges or [p.source_port_range or ANY]), owner="toolkit",
        description="live rule", destination_asgs=asgs)


def read_nics(clients: Any, e: NicExpected, timeout: float) -> NicLive:
    """The NICs of the managed resource group in the cluster subnets, and the effective rules of one per (subnet,
    NIC-level NSG), at most MAX_EFFECTIVE_READS. Raises the SDK's errors, or ReadProblem."""
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

    ops = clients.network.network_interfaces
    by_path = {s.path: s for s in e.subnets}
    groups: dict[tuple[str, str], list[str]] = {}
    live = NicLive()
    for nic in ops.list(e.managed_rg):
        p = nic.properties
        if p is None:
            continue
        subnets = {by_path[path] for c in p.ip_configurations or []
                   if c.properties and c.properties.subnet and (path := _subnet_path(str(c.properties.subnet.id or "")))
                   in by_path}
        for s in subnets:
            live.listed += 1
            own = str(p.network_security_group.id if p.network_security_group else "")
            groups.setdefault((s.path, own), []).append(str(nic.name))
    roles = [s.path for s in e.subnets]  # host first, then container
    picked = sorted(groups.items(), key=lambda kv: (roles.index(kv[0][0]), kv[0][1].lower()))[:MAX_EFFECTIVE_READS]

    def nsg(nsg_id: str) -> AppliedNsg:
        rg, name = _subnet_path(nsg_id).split("/")[0], nsg_id.rstrip("/").rsplit("/", 1)[-1]
        found = clients.network.network_security_groups.get(rg, name)
        return AppliedNsg(name, tuple(nsg_rule(r) for r in (found.properties.security_rules if found.properties else None)
                                      or []))

    def composed(path: str, own: str) -> tuple[AppliedNsg, ...]:
        parts = path.split("/")  # {rg}/providers/microsoft.network/virtualnetworks/{vnet}/subnets/{subnet}
        rg, vnet, subnet = parts[0], parts[-3], parts[-1]
        found = clients.network.subnets.get(rg, vnet, subnet).properties
        ids = [found.network_security_group.id] if found and found.network_security_group else []
        return tuple(nsg(str(i)) for i in [*ids, *([own] if own else [])])

    def effective(nic: str, path: str, own: str) -> tuple[tuple[AppliedNsg, ...], bool] | None:
        try:
            poller = ops.begin_list_effective_network_security_groups(e.managed_rg, nic, polling_interval=POLL_SECONDS)
            poller.wait(timeout)  # azure-core LROPoller: returns after `timeout` s even when still running
            result = poller.result() if poller.done() else None
        except ResourceNotFoundError:
            return None  # the node went away between the list and the read (a cluster scaled down)
        except HttpResponseError as exc:
            if exc.status_code == 403 and getattr(exc.error, "code", None) == DENY_ASSIGNMENT:
                return composed(path, own), True
            if exc.status_code == 403:
                raise ReadProblem(f"permission denied ({arm_error(exc)}): grant {EFFECTIVE_GRANT} on resource group "
                                  f"{e.managed_rg} ({ROLE_HINT})") from None
            raise
        if result is None:
            raise ReadProblem(f"the effective rules of {nic} were not ready after {timeout:g} s (--timeout)")
        return tuple(AppliedNsg(str(g.network_security_group.id if g.network_security_group else "").rsplit("/", 1)[-1],
                                tuple(x for r in g.effective_security_rules or [] if (x := live_rule(r)) is not None))
                     for g in result.value or []), False

    with concurrent.futures.ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        futures = [(path, names, pool.submit(effective, sorted(names)[0], path, own)) for (path, own), names in picked]
        for path, names, future in futures:
            if (read := future.result()) is None:
                continue
            nsgs, was_composed = read
            live.checked.append(CheckedNic(sorted(names)[0], by_path[path], nsgs, len(names) - 1, was_composed))
    return live


# --- the comparison ---------------------------------------------------------------------------------------------

def _public(endpoint: Target) -> bool:
    if not isinstance(endpoint, str):
        return False
    if endpoint == INTERNET or endpoint in INTERNET_HOSTED_TAGS:
        return True
    return is_cidr(endpoint) and ipaddress.IPv4Network(endpoint, strict=False).is_global


def live_decision(nsgs: Sequence[AppliedNsg], direction: str, source: Target, destination: Target, port: str,
                  protocol: str, inputs: NetworkInputs) -> tuple[str, str]:
    """("Allow" | "Deny" | "Partial", what decided) for one flow through every NSG applied to the NIC."""
    if not nsgs:
        return "Allow", "no NSG applies to the NIC"
    allowed = []
    for applied in nsgs:
        try:
            d = evaluate(applied.rules, direction, source, destination, port, protocol, inputs.context)  # type: ignore[arg-type]
        except PartialMatchError as exc:
            return "Partial", f"{applied.nsg}: {exc}"
        if d.access == "Deny":
            return "Deny", f"{applied.nsg} rule {d.rule_name}"
        allowed.append(f"{applied.nsg} rule {d.rule_name}")
    return "Allow", "; ".join(allowed)


def compare_nics(e: NicExpected, live: NicLive) -> list[Finding]:
    """`nic-port-open`: a matrix row whose workspace-NSG leg at a cluster subnet is Deny, allowed on a live NIC; one
    finding per flow (direction, the other end, port, protocol), naming the subnets and NICs where it is open."""
    rows = subnet_matrix(e.inputs)
    open_: dict[tuple[str, str, str, str], list[tuple[CheckedNic, str, str, str, Target]]] = {}
    for nic in live.checked:
        cidr = nic.subnet.cidr
        for row in rows:
            for leg in row.legs:
                if leg.nsg != WORKSPACE_NSG or leg.decision.access != "Deny":
                    continue
                if (leg.direction == "Inbound" and row.destination != cidr) or \
                        (leg.direction == "Outbound" and row.source != cidr):
                    continue
                access, by = live_decision(nic.nsgs, leg.direction, row.source, row.destination, row.port,
                                           row.protocol, e.inputs)
                if access == "Deny":
                    continue
                other = row.source if leg.direction == "Inbound" else row.destination
                key: tuple[str, str, str, str] = (leg.direction, label(other, e.inputs), row.port, row.protocol)
                open_.setdefault(key, []).append((nic, access, by, leg.decision.rule_name, other))
    for nic in live.checked:  # flows the matrix does not probe: each live allow rule's own sources and ports
        for extra, hit in _beyond_the_matrix(e, nic).items():
            if extra not in open_:
                open_[extra] = [hit]
    out = []
    for (direction, other, port, protocol), hits in open_.items():
        nic, access, by, planned_rule, raw = hits[0]
        subnets = ", ".join(dict.fromkeys(h[0].subnet.role for h in hits))
        nics = ", ".join(dict.fromkeys(h[0].name + (f" (+{h[0].also} alike)" if h[0].also else "") for h in hits))
        how = " (composed from the NSGs: the effective-rules read is denied)" if nic.composed else ""
        out.append(Finding(
            "nic-port-open", HIGH if _public(raw) else MEDIUM,
            f"cluster NICs ({subnets} subnet): {direction.lower()} {'from' if direction == 'Inbound' else 'to'} {other} "
            f"port {port}/{protocol}",
            f"Deny (matrix: workspace NSG {direction.lower()}: {planned_rule})",
            f"{'partly allowed' if access == 'Partial' else 'allowed'} ({by}) on {nics}{how}"))
    return out


def _beyond_the_matrix(e: NicExpected, nic: CheckedNic
                       ) -> dict[tuple[str, str, str, str], tuple[CheckedNic, str, str, str, Target]]:
    """The matrix asks about the ports and sources the design cares about (INBOUND_PORTS, OUTBOUND_TAG_FLOWS); a live
    rule may open others (an NSG associated by hand, say). Each live Allow rule's own flows (its prefixes, "*" asked
    as Internet, and ports) are asked of the planned workspace rules the same way; partly covered ones are not judged."""
    out: dict[tuple[str, str, str, str], tuple[CheckedNic, str, str, str, Target]] = {}
    cidr, planned, ctx = nic.subnet.cidr, e.inputs.workspace_rules(), e.inputs.context
    for applied in nic.nsgs:
        for rule in applied.rules:
            if rule.access != "Allow":
                continue
            ends = rule.sources if rule.direction == "Inbound" else rule.destinations
            for end in ends:
                other: Target = INTERNET if end == ANY else end
                source, destination = (other, cidr) if rule.direction == "Inbound" else (cidr, other)
                for port in rule.destination_ports:
                    try:
                        want = evaluate(planned, rule.direction, source, destination, port, rule.protocol, ctx)
                    except PartialMatchError:
                        continue
                    if want.access != "Deny":
                        continue
                    access, by = live_decision(nic.nsgs, rule.direction, source, destination, port, rule.protocol,
                                               e.inputs)
                    if access == "Allow":
                        key = (rule.direction, label(other, e.inputs), port, rule.protocol)
                        out.setdefault(key, (nic, access, by, want.rule_name, other))
    return out


def reads(clients: Any, exp: Sequence[NicExpected], timeout: float
          ) -> dict[str, tuple[str, Callable[[], NicLive], NicExpected]]:
    """name -> (managed resource group, the read, what it is compared with)."""
    return {f"NICs of {e.workspace}": (e.managed_rg, lambda e=e: read_nics(clients, e, timeout), e) for e in exp}  # type: ignore[misc]
