"""A pure evaluator for Kubernetes NetworkPolicies (the dicts `components.planning.ingress.network_policies`
builds). No cluster, no Pulumi.

Semantics, as the Kubernetes API defines them (networking.k8s.io/v1):

* A pod is isolated for a direction when some policy in its namespace selects it (`podSelector`) and lists that
  direction in `policyTypes` (absent: Ingress, plus Egress when the policy has `egress` rules). A pod that no
  policy isolates accepts / sends everything in that direction.
* An isolated pod allows a connection when any rule of any selecting policy matches it; policies only ever add.
* A connection between two pods needs the sender's egress and the receiver's ingress to allow it.
* Peers: `podSelector` alone selects pods in the policy's own namespace; `namespaceSelector` alone every pod of the
  selected namespaces; both together, the selected pods of the selected namespaces; `ipBlock` an address range
  (minus `except`). An empty or missing `from`/`to` matches every peer; missing `ports` every port.
* `ipBlock` and pods: the API leaves it to the implementation whether a block matches pod addresses. Calico, the
  engine the tier runs on AKS, converts a block into a rule's `nets`/`notNets` with no selector, which match any
  address, pods' included (projectcalico/calico libcalico-go/lib/backend/k8s/conversion/conversion.go,
  k8sPeerToCalicoFields), and with Azure CNI every pod takes an address of the AKS subnet ("every pod gets an IP
  address from the subnet": MicrosoftDocs/azure-aks-docs articles/aks/concepts-network-legacy-cni.md). So a
  `Cluster` given `pod_cidr` (the AKS subnet) treats each pod as an address somewhere in it (or at `Pod.ip`): a
  block covering the whole range matches every pod, a disjoint one none, a partial cover raises
  `PartialMatchError`. Without `pod_cidr` a block never matches a pod: what network-config-analyzer assumes
  (tests/test_ingress_proof.py), kept to cross-check the two.
* Ports: `protocol` defaults to TCP; `port` (numbers only: the tier uses no named ports) with optional `endPort`.

Address queries are sets, as in `reachability`: a query CIDR wider than one address matches a block only when the
block covers it entirely; a partial cover raises `PartialMatchError`, so split the query.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any

from components.planning.ingress import Policy
from components.planning.reachability import INTERNET, NON_PUBLIC, PartialMatchError

NAME_LABEL = "kubernetes.io/metadata.name"


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    # The pod's address when known; otherwise somewhere in the cluster's pod range (`Cluster.pod_cidr`).
    ip: str | None = None

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


Endpoint = Pod | str  # a pod, an IPv4 address / CIDR outside the cluster's pods, or the tag Internet


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); {} matches all."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], set(expr.get("values") or ())
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
        if op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise ValueError(f"unknown selector operator {op!r}")
    return True


def _net(value: str) -> IPv4Network:
    return ipaddress.IPv4Network(value, strict=False)


def _covers(query: IPv4Network | str, block: Mapping[str, Any]) -> bool:
    """Whether an ipBlock covers the whole queried range (raises when it covers part of it). The query tag
    `Internet` is an arbitrary public address no block names: only a block holding every public address covers it."""
    cidr = _net(block["cidr"])
    excepts = [_net(e) for e in block.get("except") or ()]
    if query == INTERNET:
        return cidr.prefixlen == 0 and all(any(e.subnet_of(n) for n in NON_PUBLIC) for e in excepts)
    assert isinstance(query, IPv4Network)
    if not query.overlaps(cidr):
        return False
    if not query.subnet_of(cidr):
        raise PartialMatchError(f"{query} is only partly inside ipBlock {cidr}; split the query")
    if any(query.subnet_of(e) for e in excepts):
        return False
    if any(query.overlaps(e) for e in excepts):
        raise PartialMatchError(f"{query} is only partly inside the except ranges of ipBlock {cidr}; split the query")
    return True


class Cluster:
    """The policies of a cluster and its namespaces' labels (each namespace has its automatic name label)."""

    def __init__(self, policies: Iterable[Policy], namespace_labels: Mapping[str, Mapping[str, str]] | None = None,
                 pod_cidr: str | None = None):
        self.policies = list(policies)
        self._ns_labels = {k: dict(v) for k, v in (namespace_labels or {}).items()}
        # Where pods take their addresses (Azure CNI: the AKS subnet); None: ipBlocks never match pods.
        self.pod_cidr = pod_cidr

    def pod_address(self, pod: Pod) -> IPv4Network | None:
        if pod.ip is not None:
            return _net(pod.ip)
        return _net(self.pod_cidr) if self.pod_cidr is not None else None

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return {**self._ns_labels.get(namespace, {}), NAME_LABEL: namespace}

    def _peer_matches(self, peer: Mapping[str, Any], policy_ns: str, other: Endpoint) -> bool:
        if "ipBlock" in peer:
            if isinstance(other, Pod):
                address = self.pod_address(other)
                return address is not None and _covers(address, peer["ipBlock"])
            return _covers(other if other == INTERNET else _net(other), peer["ipBlock"])
        if not isinstance(other, Pod):
            return False
        if "namespaceSelector" in peer:
            if not selector_matches(peer["namespaceSelector"], self.namespace_labels(other.namespace)):
                return False
        elif other.namespace != policy_ns:
            return False
        return "podSelector" not in peer or selector_matches(peer["podSelector"], other.labels)

    @staticmethod
    def _port_matches(ports: Sequence[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
        if not ports:
            return True
        for p in ports:
            if p.get("protocol", "TCP") != protocol:
                continue
            if "port" not in p:
                return True
            lo = p["port"]
            if not isinstance(lo, int):
                raise ValueError(f"named port {lo!r}: the evaluator handles numeric ports only")
            if lo <= port <= p.get("endPort", lo):
                return True
        return False

    @staticmethod
    def _types(spec: Mapping[str, Any]) -> list[str]:
        return list(spec.get("policyTypes") or (["Ingress", "Egress"] if "egress" in spec else ["Ingress"]))

    def selecting(self, pod: Pod, direction: str) -> list[Policy]:
        """The policies that isolate `pod` for `direction` ("Ingress" or "Egress")."""
        return [p for p in self.policies if p.namespace == pod.namespace and direction in self._types(p.spec)
                and selector_matches(p.spec.get("podSelector"), pod.labels)]

    def side(self, pod: Pod, direction: str, other: Endpoint, port: int, protocol: str = "TCP") -> Verdict:
        """One side of a connection: `pod`'s egress to `other` or ingress from `other`."""
        policies = self.selecting(pod, direction)
        if not policies:
            return Verdict(True, f"{pod} is not isolated for {direction.lower()}")
        key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        for policy in policies:
            for rule in policy.spec.get(key) or []:
                peer_list = rule.get(peers)
                if (not peer_list or any(self._peer_matches(peer, policy.namespace, other) for peer in peer_list)) \
                        and self._port_matches(rule.get("ports"), port, protocol):
                    return Verdict(True, f"{policy.namespace}/{policy.name} allows {direction.lower()}")
        names = ", ".join(sorted({p.name for p in policies}))
        return Verdict(False, f"{pod} {direction.lower()}: no rule of {names} admits it")

    def connection(self, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> Verdict:
        """A connection from `src` to `dst`: the sender's egress, then the receiver's ingress. IP ends have no policy."""
        verdicts = []
        if isinstance(src, Pod):
            verdicts.append(self.side(src, "Egress", dst, port, protocol))
        if isinstance(dst, Pod):
            verdicts.append(self.side(dst, "Ingress", src, port, protocol))
        if not verdicts:
            raise ValueError("at least one end of a connection must be a pod")
        denied = [v for v in verdicts if not v.allowed]
        if denied:
            return denied[0]
        return Verdict(True, "; ".join(v.reason for v in verdicts))

    def ip_peers(self, pod: Pod, direction: str, port: int, protocol: str = "TCP") -> list[IPv4Network]:
        """Every address outside the pods that `pod` may reach (Egress) or be reached from (Ingress) on a port,
        as collapsed networks: the exact set, for comparing against an intended-flow table."""
        policies = self.selecting(pod, direction)
        if not policies:
            return [IPv4Network("0.0.0.0/0")]
        key, peers = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        nets: list[IPv4Network] = []
        for policy in policies:
            for rule in policy.spec.get(key) or []:
                if not self._port_matches(rule.get("ports"), port, protocol):
                    continue
                peer_list = rule.get(peers)
                if not peer_list:
                    return [IPv4Network("0.0.0.0/0")]
                for peer in peer_list:
                    if "ipBlock" in peer:
                        nets += _exclude(_net(peer["ipBlock"]["cidr"]), [_net(e) for e in peer["ipBlock"].get("except") or ()])
        return list(ipaddress.collapse_addresses(nets))


def _exclude(net: IPv4Network, excepts: Sequence[IPv4Network]) -> list[IPv4Network]:
    parts = [net]
    for e in excepts:
        nxt: list[IPv4Network] = []
        for p in parts:
            if e.subnet_of(p):
                nxt += list(p.address_exclude(e))
            elif not p.subnet_of(e):
                nxt.append(p)
        parts = nxt
    return parts
