"""Ingress-tier planning: labels, ports, Helm values and the NetworkPolicy table. Pure, no Pulumi.

The component creates exactly these objects and the flow tests read the same table, so what the
cluster enforces and what the tests prove are one fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.spec import EnvironmentSpec

TRAEFIK_CHART = ("traefik", "37.1.1", "https://traefik.github.io/charts")
CERT_MANAGER_CHART = ("cert-manager", "v1.18.2", "https://charts.jetstack.io")
CERT_MANAGER_NAMESPACE = "cert-manager"

CONTROLLER = {"app.kubernetes.io/name": "traefik"}
OAUTH2_PROXY = {"app.kubernetes.io/name": "oauth2-proxy"}
OAUTH2_PROXY_PORT = 4180
TRAEFIK_WEBSECURE_PORT = 8443  # the container port behind the load balancer's 443
TRAEFIK_METRICS_PORT = 9100
TRAEFIK_WEB_PORT = 8000
KUBE_DNS = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
NON_PUBLIC = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"]


def app_labels(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "brickwall-ingress"}


@dataclass(frozen=True)
class Connector:
    name: str
    port: int


@dataclass(frozen=True)
class TierLayout:
    """What the NetworkPolicies need to know about the tier."""

    ingress_namespace: str
    apps_namespace: str
    connectors: tuple[Connector, ...]
    # Where client traffic comes from at the load balancer (ipBlocks); empty means any source.
    client_cidrs: tuple[str, ...]
    # The Databricks private endpoints' subnet and other approved destinations for connectors.
    databricks_endpoint_cidr: str
    approved_egress_cidrs: tuple[str, ...]
    # Where the Kubernetes API server answers (controllers watch it; it calls cert-manager's webhook).
    api_server_cidr: str
    oauth2_proxy: bool
    acme: bool
    # The namespace whose Prometheus scrapes per-route request metrics (never exposed outside the cluster).
    metrics_namespace: str | None = None


@dataclass(frozen=True)
class Policy:
    namespace: str
    name: str
    spec: dict[str, Any]


def _ports(*ports: int, protocol: str = "TCP") -> list[dict[str, Any]]:
    return [{"protocol": protocol, "port": p} for p in ports]


def _ns(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def _public_https() -> dict[str, Any]:
    return {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": NON_PUBLIC}}], "ports": _ports(443)}


def network_policies(t: TierLayout) -> list[Policy]:
    """Default deny in every namespace the tier owns, then exactly the flows the tier needs."""
    owned = [t.ingress_namespace, t.apps_namespace, CERT_MANAGER_NAMESPACE]
    out: list[Policy] = []
    for ns in owned:
        out.append(Policy(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
        out.append(Policy(ns, "allow-dns", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [KUBE_DNS], "ports": [*_ports(53, protocol="UDP"), *_ports(53)]}],
        }))
    api = {"to": [{"ipBlock": {"cidr": t.api_server_cidr}}], "ports": _ports(443)}
    clients = [{"ipBlock": {"cidr": c}} for c in t.client_cidrs] or [{"ipBlock": {"cidr": "0.0.0.0/0"}}]
    controller_egress: list[dict[str, Any]] = [
        api,
        *({"to": [{**_ns(t.apps_namespace), "podSelector": {"matchLabels": app_labels(c.name)}}], "ports": _ports(c.port)}
          for c in t.connectors),
    ]
    if t.oauth2_proxy:
        controller_egress.append({"to": [{"podSelector": {"matchLabels": OAUTH2_PROXY}}], "ports": _ports(OAUTH2_PROXY_PORT)})
    out.append(Policy(t.ingress_namespace, "traefik", {
        "podSelector": {"matchLabels": CONTROLLER}, "policyTypes": ["Ingress", "Egress"],
        "ingress": [
            {"from": clients, "ports": _ports(TRAEFIK_WEBSECURE_PORT, *([TRAEFIK_WEB_PORT] if t.acme else []))},
            *([{"from": [_ns(t.metrics_namespace)], "ports": _ports(TRAEFIK_METRICS_PORT)}] if t.metrics_namespace else []),
        ],
        "egress": controller_egress,
    }))
    if t.oauth2_proxy:
        out.append(Policy(t.ingress_namespace, "oauth2-proxy", {
            "podSelector": {"matchLabels": OAUTH2_PROXY}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": CONTROLLER}}], "ports": _ports(OAUTH2_PROXY_PORT)}],
            # The OIDC issuer (Entra ID) has no fixed addresses: public HTTPS only, never the private ranges.
            "egress": [_public_https()],
        }))
    for c in t.connectors:
        out.append(Policy(t.apps_namespace, c.name, {
            "podSelector": {"matchLabels": app_labels(c.name)}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{**_ns(t.ingress_namespace), "podSelector": {"matchLabels": CONTROLLER}}],
                         "ports": _ports(c.port)}],
            "egress": [{"to": [{"ipBlock": {"cidr": cidr}} for cidr in (t.databricks_endpoint_cidr, *t.approved_egress_cidrs)],
                        "ports": _ports(443)},
                       # Workload identity: the connector exchanges its projected token at Entra ID
                       # (login.microsoftonline.com, HTTPS), which has no private endpoint and no fixed addresses, and a
                       # NetworkPolicy cannot name a host: public HTTPS only, never the private ranges. The egress path
                       # narrows it: behind the firewall (network.egress.mode firewall) the AKS subnet reaches only the
                       # AzureKubernetesService FQDN tag (login.microsoftonline.com among it) and its other rules.
                       _public_https()],
        }))
    cert_manager_egress = [api, *([_public_https()] if t.acme else [])]
    out.append(Policy(CERT_MANAGER_NAMESPACE, "cert-manager", {
        "podSelector": {}, "policyTypes": ["Ingress", "Egress"],
        # The API server calls the webhook; its source is the API server's range.
        "ingress": [{"from": [{"ipBlock": {"cidr": t.api_server_cidr}}], "ports": _ports(10250)}],
        "egress": cert_manager_egress,
    }))
    return out


def traefik_values(*, namespace: str, replicas: int, internal: bool, source_ranges: tuple[str, ...],
                   acme_http01: bool = False) -> dict[str, Any]:
    """Helm values: hardened pods, real client addresses, JSON access logs, no dashboard, metrics inside only."""
    annotations = {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"} if internal else {}
    return {
        "deployment": {"replicas": replicas},
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "ingressClass": {"enabled": True, "isDefaultClass": False, "name": "brickwall"},
        "providers": {
            "kubernetesCRD": {"enabled": True, "allowCrossNamespace": True, "allowExternalNameServices": False,
                              "namespaces": [namespace]},
            # cert-manager answers HTTP-01 challenges through a temporary Ingress of this class.
            "kubernetesIngress": {"enabled": acme_http01, "ingressClass": "brickwall"},
        },
        "ports": {
            # Plain HTTP is exposed only for ACME HTTP-01 challenges, and then only on the challenge path.
            "web": {"port": TRAEFIK_WEB_PORT, "expose": {"default": acme_http01}},
            "websecure": {"port": TRAEFIK_WEBSECURE_PORT, "exposedPort": 443, "http3": {"enabled": False},
                          "tls": {"enabled": True}},
            "metrics": {"port": TRAEFIK_METRICS_PORT, "expose": {"default": False}},
        },
        "service": {
            "type": "LoadBalancer",
            "annotations": annotations,
            # Local keeps the client's source address, so allowlists see who really connects.
            "spec": {"externalTrafficPolicy": "Local", "loadBalancerSourceRanges": list(source_ranges)},
        },
        "ingressRoute": {"dashboard": {"enabled": False}},
        "api": {"dashboard": False, "insecure": False},
        "logs": {
            "general": {"level": "INFO", "format": "json"},
            "access": {"enabled": True, "format": "json",
                       "fields": {"headers": {"defaultmode": "drop", "names": {"User-Agent": "keep", "X-Forwarded-For": "keep"}}}},
        },
        "metrics": {"prometheus": {"entryPoint": "metrics", "addRoutersLabels": True, "addServicesLabels": True}},
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True},
        "podSecurityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                               "seccompProfile": {"type": "RuntimeDefault"}},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
        "globalArguments": ["--global.checknewversion=false", "--global.sendanonymoususage=false"],
    }


def cert_manager_values() -> dict[str, Any]:
    return {
        "crds": {"enabled": True},
        "replicaCount": 2,
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containerSecurityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
        "prometheus": {"enabled": True},
    }


# TLS 1.2 minimum; TLS 1.2 only with forward-secret AEAD suites (Mozilla "intermediate").
TLS_CIPHERS = (
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
)


def tls_option_spec(client_ca_secret: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"minVersion": "VersionTLS12", "cipherSuites": list(TLS_CIPHERS), "sniStrict": True,
                            "curvePreferences": ["X25519", "CurveP256"]}
    if client_ca_secret:
        spec["clientAuth"] = {"secretNames": [client_ca_secret], "clientAuthType": "RequireAndVerifyClientCert"}
    return spec


HSTS_HEADERS = {"stsSeconds": 31536000, "stsIncludeSubdomains": True, "forceSTSHeader": True,
                "contentTypeNosniff": True, "frameDeny": True, "referrerPolicy": "no-referrer"}


def tier_layout(spec: EnvironmentSpec) -> TierLayout:
    """What the ingress tier's NetworkPolicies are built from (also read by the flow tests)."""
    from components.spec.models import AKS, ENDPOINTS

    ingress, plan = spec.ingress, spec.network.plan
    routes_open = any(not r.allow_cidrs for r in ingress.routes)
    clients = () if routes_open else tuple(sorted({c for r in ingress.routes for c in r.allow_cidrs}))
    api = str(plan[AKS]) if ingress.cluster == "aks" else ingress.api_server_cidr
    assert api is not None
    return TierLayout(
        ingress_namespace=ingress.namespace,
        apps_namespace=ingress.apps_namespace,
        connectors=tuple(Connector(c.name, c.port) for c in ingress.connectors),
        client_cidrs=clients,
        databricks_endpoint_cidr=str(plan[ENDPOINTS]),
        approved_egress_cidrs=ingress.approved_egress_cidrs,
        api_server_cidr=api,
        oauth2_proxy=ingress.oauth2_proxy is not None,
        acme=any(r.certificate_issuer == "acme" for r in ingress.routes),
        metrics_namespace=ingress.metrics_namespace,
    )
