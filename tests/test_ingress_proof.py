"""Offline proof for prod's ingress tier: strict schema validation of every exported manifest, and the
connections the NetworkPolicies allow (network-config-analyzer) equal the intended ones, no more, no fewer."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

import stacks
from brickwall import export
from brickwall.engine import Recording
from components.planning.ingress import CONTROLLER, NON_PUBLIC
from tests.k8s_checks import Flow, allowed_flows, stand_in_pod, validate_manifests

DNS = "kube-system/kube-dns-livesim"  # nca's simulated kube-dns


@pytest.fixture(scope="module")
def exported(prod: Recording, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("prod-export")
    export.write_export(prod, out)
    return out / "kubernetes"


def test_every_manifest_passes_strict_kubernetes_validation(exported: Path) -> None:
    paths = sorted(exported.rglob("*.yaml"))
    assert len(paths) > 40
    assert validate_manifests(paths) == []


def _range(net_first: ipaddress.IPv4Address, net_last: ipaddress.IPv4Address) -> str:
    nets = list(ipaddress.summarize_address_range(net_first, net_last))
    return str(nets[0]) if len(nets) == 1 else f"{net_first}-{net_last}"


def public_internet() -> set[str]:
    """0.0.0.0/0 without the non-public ranges, as the contiguous ranges nca reports."""
    blocked = sorted(ipaddress.IPv4Network(n) for n in NON_PUBLIC)
    out, start = set(), int(ipaddress.IPv4Address("0.0.0.0"))
    for net in blocked:
        if int(net.network_address) > start:
            out.add(_range(ipaddress.IPv4Address(start), net.network_address - 1))
        start = max(start, int(net.broadcast_address) + 1)
    out.add(_range(ipaddress.IPv4Address(start), ipaddress.IPv4Address("255.255.255.255")))
    return out


PROMETHEUS = "monitoring/prometheus"  # stands in for whatever scrapes the controller in the metrics namespace
OTHER = "default/any-pod"  # anything deployed without a namespace


def stand_ins() -> list[dict[str, Any]]:
    """Pods the export cannot show (Helm charts' and other people's), with the labels the policies select on."""
    return [stand_in_pod("ingress", "traefik", CONTROLLER),
            stand_in_pod("cert-manager", "cert-manager", {"app.kubernetes.io/name": "cert-manager"}),
            stand_in_pod("monitoring", "prometheus", {"app.kubernetes.io/name": "prometheus"}),
            stand_in_pod("default", "any-pod", {"app": "other"})]


def intended_flows(azure_cni: bool = False) -> set[Flow]:
    """What the tier is meant to allow, written from the spec's intent (not from the policies).

    `azure_cni`: on AKS with Azure CNI pods take addresses of the AKS subnet, and Calico lets an ipBlock match
    them (components/planning/k8s_flows.py). The API server's block is the AKS subnet (its private endpoint lives
    there), so the pods allowed to call the API server on 443 may also open 443 to any pod there that admits it:
    among the pods here only kube-dns, which is not the tier's and listens on 53 only. Nothing else changes: every
    other pod of the tier admits only the peers it names. network-config-analyzer never matches a pod by an ipBlock,
    so it proves the flows without them."""
    spec = stacks.load("prod")
    api = str(spec.network.plan["aks"])  # the private API server answers in the AKS subnet
    endpoints = str(spec.network.plan["private_endpoints"])
    traefik, cert_manager = "ingress/traefik", "cert-manager/cert-manager"
    # The browser instance, and the app-role instance for prod's `app` route: Traefik asks them, they ask Entra ID.
    proxies = ["ingress/oauth2-proxy", "ingress/oauth2-proxy-apps"]
    connectors = [f"{spec.ingress.apps_namespace}/{c.name}" for c in spec.ingress.connectors]
    flows = {
        # Corporate clients (the routes' allowlists; 10.200.10.0/24 lies inside 10.200.0.0/16) reach TLS only.
        Flow("10.200.0.0/16", traefik, "TCP/8443"),
        Flow(traefik, api, "TCP/443"), *(Flow(traefik, proxy, "TCP/4180") for proxy in proxies),
        Flow(cert_manager, api, "TCP/443"), Flow(api, cert_manager, "TCP/10250"),
    }
    flows |= {Flow(traefik, c, "TCP/8443") for c in connectors}
    flows |= {Flow(c, endpoints, "TCP/443") for c in connectors}
    # oauth2-proxy reaches its issuer, connectors Entra ID's token endpoint (workload identity): public HTTPS only.
    flows |= {Flow(src, dst, "TCP/443") for src in (*proxies, *connectors) for dst in public_internet()}
    flows |= {Flow(pod, DNS, port) for pod in (traefik, *proxies, cert_manager, *connectors) for port in ("TCP/53", "UDP/53")}
    # The metrics namespace: its default deny leaves the scrape of the controller, the API server and DNS.
    flows |= {Flow(PROMETHEUS, traefik, "TCP/9100"), Flow(PROMETHEUS, api, "TCP/443"),
              Flow(PROMETHEUS, DNS, "TCP/53"), Flow(PROMETHEUS, DNS, "UDP/53")}
    # default: nothing in, nothing out (OTHER appears in no flow).
    if azure_cni:
        flows |= {Flow(pod, DNS, "TCP/443") for pod in (traefik, cert_manager, PROMETHEUS)}
    return flows


def test_allowed_flows_equal_the_intended_flows(exported: Path) -> None:
    allowed = allowed_flows(exported, stand_ins())
    # kube-dns lives outside the tier (kube-system) and is not ours to restrict: leave out what nca's simulated
    # kube-dns sends or receives from address ranges, keep our pods' DNS queries.
    ours = {f for f in allowed if f.src != DNS and not (f.dst == DNS and f.src[0].isdigit())}
    assert ours == intended_flows()
