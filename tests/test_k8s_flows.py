"""The NetworkPolicy evaluator (components/planning/k8s_flows.py), against the tier's own policies and the
intended-flow table that network-config-analyzer proves in tests/test_ingress_proof.py."""

from __future__ import annotations

import ipaddress
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import stacks
from components.planning.ingress import (
    CONTROLLER,
    OAUTH2_PROXY,
    Policy,
    app_labels,
    guarded_namespaces,
    network_policies,
)
from components.planning.k8s_flows import Cluster, Pod, selector_matches
from components.planning.reachability import INTERNET, PartialMatchError
from tests.k8s_checks import Flow
from tests.test_ingress_proof import DNS, intended_flows

SPEC = stacks.load("prod")
LAYOUT = SPEC.plan.tier
CLUSTER = Cluster(network_policies(LAYOUT))
TRAEFIK = Pod("ingress", "traefik", CONTROLLER)
PROXY = Pod("ingress", "oauth2-proxy", OAUTH2_PROXY)
CERT_MANAGER = Pod("cert-manager", "cert-manager", {"app.kubernetes.io/name": "cert-manager"})
KUBE_DNS = Pod("kube-system", "kube-dns-livesim", {"k8s-app": "kube-dns"})
CONNECTORS = [Pod(LAYOUT.apps_namespace, c.name, app_labels(c.name)) for c in LAYOUT.connectors]
PROMETHEUS = Pod("monitoring", "prometheus", {"app.kubernetes.io/name": "prometheus"})
OTHER = Pod("default", "any-pod", {"app": "other"})
PODS = [TRAEFIK, PROXY, CERT_MANAGER, KUBE_DNS, *CONNECTORS, PROMETHEUS, OTHER]
AKS = str(SPEC.network.plan["aks"])
# Calico on Azure CNI: pods are addresses of the AKS subnet, and ipBlocks match them.
AZURE_CNI = Cluster(network_policies(LAYOUT), pod_cidr=AKS)
PORTS = [("TCP", p) for p in (53, 443, 4180, 8000, 8443, 9100, 10250)] + [("UDP", 53)]
ENDPOINTS = str(SPEC.network.plan["private_endpoints"])


def _networks(endpoint: str) -> list[ipaddress.IPv4Network]:
    """An nca endpoint ("a.b.c.d/n" or "first-last") as networks."""
    if "-" in endpoint:
        first, last = (ipaddress.IPv4Address(x) for x in endpoint.split("-"))
        return list(ipaddress.summarize_address_range(first, last))
    return [ipaddress.IPv4Network(endpoint)]


def test_selectors() -> None:
    labels = {"app": "a", "tier": "web"}
    assert selector_matches({}, labels) and selector_matches(None, {})
    assert selector_matches({"matchLabels": {"app": "a"}}, labels)
    assert not selector_matches({"matchLabels": {"app": "b"}}, labels)
    assert selector_matches({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "db"]}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}, labels)
    assert selector_matches({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, labels)
    assert not selector_matches({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, labels)


def test_isolation_and_peers() -> None:
    web, db, other = Pod("a", "web", {"app": "web"}), Pod("a", "db", {"app": "db"}), Pod("b", "x", {"app": "web"})
    cluster = Cluster([Policy("a", "db", {"podSelector": {"matchLabels": {"app": "db"}},
                                          "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}],
                                                       "ports": [{"port": 5432}]}]})])
    assert cluster.connection(web, db, 5432).allowed  # web is not isolated for egress; db admits it
    assert not cluster.connection(web, db, 5433).allowed
    assert not cluster.connection(other, db, 5432).allowed  # podSelector alone: the policy's own namespace only
    assert cluster.connection(db, web, 80).allowed  # ingress-only policy: db's egress is open, web not isolated
    assert not cluster.connection(web, db, 5432, "UDP").allowed
    blocks = Cluster([Policy("a", "out", {"podSelector": {}, "policyTypes": ["Egress"],
                                          "egress": [{"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]})])
    assert blocks.connection(web, "10.2.0.0/16", 1).allowed and not blocks.connection(web, "10.1.2.3", 1).allowed
    assert not blocks.connection(web, other, 1).allowed  # an ipBlock never matches a pod
    assert not blocks.connection(web, INTERNET, 443).allowed
    with pytest.raises(PartialMatchError):
        blocks.connection(web, "10.0.0.0/7", 1)
    with pytest.raises(PartialMatchError):
        blocks.connection(web, "10.1.0.0/15", 1)


def test_ip_blocks_match_pods_on_azure_cni() -> None:
    """Calico turns an ipBlock into address matches that hold for pods too; under Azure CNI a pod is an address of
    the AKS subnet. A block covering the subnet matches every pod; a disjoint one none; a partial one has no single
    answer (split by giving the pod its address)."""
    web, db = Pod("a", "web", {"app": "web"}), Pod("a", "db", {"app": "db"})
    db_policy = Policy("a", "db", {"podSelector": {"matchLabels": {"app": "db"}}, "policyTypes": ["Ingress"],
                                   "ingress": [{"from": [{"ipBlock": {"cidr": "10.30.16.0/23"}}]}]})
    assert not Cluster([db_policy]).connection(web, db, 5432).allowed  # the API's reading: a pod is no address
    assert Cluster([db_policy], pod_cidr="10.30.16.0/23").connection(web, db, 5432).allowed
    assert not Cluster([db_policy], pod_cidr="10.40.0.0/16").connection(web, db, 5432).allowed
    with pytest.raises(PartialMatchError):
        Cluster([db_policy], pod_cidr="10.30.16.0/22").connection(web, db, 5432)
    split = Cluster([db_policy], pod_cidr="10.30.16.0/22")
    assert split.connection(Pod("a", "web", {"app": "web"}, ip="10.30.17.9"), db, 5432).allowed
    assert not split.connection(Pod("a", "web", {"app": "web"}, ip="10.30.18.9"), db, 5432).allowed
    # The tier's own blocks: the API server's (the AKS subnet) now covers every pod; the Internet's excludes them.
    assert AZURE_CNI.connection(TRAEFIK, KUBE_DNS, 443).allowed and not CLUSTER.connection(TRAEFIK, KUBE_DNS, 443).allowed
    assert not AZURE_CNI.connection(PROXY, KUBE_DNS, 443).allowed
    # Every pod's own ingress policy still holds: the API server's block opens no pod of the tier.
    for pod in (PROXY, CERT_MANAGER, *CONNECTORS, PROMETHEUS, OTHER):
        assert not AZURE_CNI.connection(TRAEFIK, pod, 443).allowed, pod
    # And cert-manager's webhook, open to the AKS subnet, is open to no pod of the tier.
    for pod in (TRAEFIK, PROXY, *CONNECTORS, PROMETHEUS, OTHER):
        assert not AZURE_CNI.connection(pod, CERT_MANAGER, 10250).allowed, pod


def test_default_deny_covers_every_namespace_the_tier_creates_or_uses() -> None:
    assert guarded_namespaces(LAYOUT) == ["ingress", "databricks-apps", "cert-manager", "monitoring", "default"]
    for ns in guarded_namespaces(LAYOUT):
        assert Policy(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}) in CLUSTER.policies
    for cluster in (CLUSTER, AZURE_CNI):  # a pod in default talks to nothing and nothing talks to it
        for pod in PODS:
            if pod != OTHER:
                assert not cluster.connection(OTHER, pod, 443).allowed and not cluster.connection(pod, OTHER, 443).allowed
        assert not cluster.connection(OTHER, INTERNET, 443).allowed


def test_the_tier_flows() -> None:
    sql, jobs = CONNECTORS
    assert CLUSTER.connection("10.200.0.0/16", TRAEFIK, 8443).allowed
    assert not CLUSTER.connection(INTERNET, TRAEFIK, 8443).allowed
    assert not CLUSTER.connection("10.130.0.0/24", TRAEFIK, 8443).allowed  # the transit VNet is no route client
    assert not CLUSTER.connection("10.200.0.0/16", TRAEFIK, 9100).allowed
    for c in CONNECTORS:
        assert CLUSTER.connection(TRAEFIK, c, 8443).allowed
        assert CLUSTER.connection(c, ENDPOINTS, 443).allowed
        assert not CLUSTER.connection(c, ENDPOINTS, 80).allowed
        # Entra ID's token endpoint for the workload identity exchange (login.microsoftonline.com lies in 20.190.128.0/18:
        # Microsoft 365 URLs and IP address ranges, ID 56): public HTTPS, never another port or a
        # private range beyond the endpoints.
        assert CLUSTER.connection(c, INTERNET, 443).allowed and CLUSTER.connection(c, "20.190.128.0/18", 443).allowed
        assert not CLUSTER.connection(c, INTERNET, 80).allowed and not CLUSTER.connection(c, "10.30.0.0/21", 443).allowed
        assert not CLUSTER.connection(Pod("default", "other", {"app.kubernetes.io/name": "traefik"}), c, 8443).allowed
        assert not CLUSTER.connection(PROXY, c, 8443).allowed
    assert not CLUSTER.connection(sql, jobs, 8443).allowed
    assert CLUSTER.connection(PROXY, INTERNET, 443).allowed and not CLUSTER.connection(PROXY, "10.30.0.0/21", 443).allowed


@pytest.mark.parametrize("azure_cni", [False, True], ids=["nca-semantics", "calico-on-azure-cni"])
def test_the_evaluator_agrees_with_the_intended_flows(azure_cni: bool) -> None:
    """Exactly the flows tests/test_ingress_proof.py proves with network-config-analyzer (ipBlocks never match
    pods), no more, no fewer; and on Azure CNI (pods in the AKS subnet, ipBlocks matching them) exactly those plus
    the ones the intended table names for it."""
    intended = intended_flows(azure_cni)
    cluster = AZURE_CNI if azure_cni else CLUSTER
    for src, dst in itertools.permutations(PODS, 2):
        if str(src) == DNS:
            continue  # kube-dns is not the tier's; the proof leaves out what it sends
        for protocol, port in PORTS:
            name = f"{protocol}/{port}"
            expected = Flow(str(src), str(dst), name) in intended
            assert cluster.connection(src, dst, port, protocol).allowed == expected, (str(src), str(dst), name)
    if not azure_cni:
        return
    for pod in PODS:
        if str(pod) == DNS:
            continue
        for protocol, port in PORTS:
            name = f"{protocol}/{port}"
            for direction in ("Egress", "Ingress"):
                # The intended flows between this pod and address ranges, on this port, in this direction.
                ends = [(f.src, f.dst) if direction == "Egress" else (f.dst, f.src) for f in intended if f.port == name]
                want = [n for mine, far in ends if mine == str(pod) and far[0].isdigit() for n in _networks(far)]
                got = CLUSTER.ip_peers(pod, direction, port, protocol)
                assert got == list(ipaddress.collapse_addresses(want)), (str(pod), direction, name)


addresses = st.integers(0, 2**32 - 1).map(lambda i: str(ipaddress.IPv4Address(i)))


@settings(max_examples=300, deadline=None)
@given(addresses, st.sampled_from(PODS[:3] + CONNECTORS), st.sampled_from(PORTS), st.sampled_from(["Egress", "Ingress"]))
def test_single_queries_agree_with_the_address_sets(address: str, pod: Pod, port: tuple[str, int], direction: str) -> None:
    protocol, number = port
    inside = any(ipaddress.IPv4Address(address) in n for n in CLUSTER.ip_peers(pod, direction, number, protocol))
    assert CLUSTER.side(pod, direction, address, number, protocol).allowed == inside
