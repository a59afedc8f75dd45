"""Offline proof for prod's ingress tier: strict schema validation of every exported manifest, and the
connections the NetworkPolicies allow (network-config-analyzer) equal the intended ones, no more, no fewer."""

from __future__ import annotations

import ipaddress
from pathlib import Path

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


def intended_flows() -> set[Flow]:
    """What the tier is meant to allow, written from the spec's intent (not from the policies)."""
    spec = stacks.load("prod")
    api = str(spec.network.plan["aks"])  # the private API server answers in the AKS subnet
    endpoints = str(spec.network.plan["private_endpoints"])
    traefik, proxy, cert_manager = "ingress/traefik", "ingress/oauth2-proxy", "cert-manager/cert-manager"
    connectors = [f"{spec.ingress.apps_namespace}/{c.name}" for c in spec.ingress.connectors]
    flows = {
        # Corporate clients (the routes' allowlists; 10.200.10.0/24 lies inside 10.200.0.0/16) reach TLS only.
        Flow("10.200.0.0/16", traefik, "TCP/8443"),
        Flow(traefik, api, "TCP/443"), Flow(traefik, proxy, "TCP/4180"),
        Flow(cert_manager, api, "TCP/443"), Flow(api, cert_manager, "TCP/10250"),
    }
    flows |= {Flow(traefik, c, "TCP/8443") for c in connectors}
    flows |= {Flow(c, endpoints, "TCP/443") for c in connectors}
    # oauth2-proxy reaches its issuer, connectors Entra ID's token endpoint (workload identity): public HTTPS only.
    flows |= {Flow(src, dst, "TCP/443") for src in (proxy, *connectors) for dst in public_internet()}
    flows |= {Flow(pod, DNS, port) for pod in (traefik, proxy, cert_manager, *connectors) for port in ("TCP/53", "UDP/53")}
    return flows


def test_allowed_flows_equal_the_intended_flows(exported: Path) -> None:
    stand_ins = [stand_in_pod("ingress", "traefik", CONTROLLER),
                 stand_in_pod("cert-manager", "cert-manager", {"app.kubernetes.io/name": "cert-manager"})]
    allowed = allowed_flows(exported, stand_ins)
    # kube-dns lives outside the tier (kube-system) and is not ours to restrict: leave out what nca's simulated
    # kube-dns sends or receives from address ranges, keep our pods' DNS queries.
    ours = {f for f in allowed if f.src != DNS and not (f.dst == DNS and f.src[0].isdigit())}
    assert ours == intended_flows()
