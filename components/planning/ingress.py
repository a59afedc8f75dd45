"""Ingress-tier planning: labels, ports, Helm values and the NetworkPolicy table. Pure, no Pulumi.

The component creates exactly these objects and the flow tests read the same table, so what the
cluster enforces and what the tests prove are one fact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.facts import POD_NON_PUBLIC_CIDRS

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
NON_PUBLIC = list(POD_NON_PUBLIC_CIDRS)


def creates_aks(enabled: bool, cluster: str) -> bool:
    """Whether the toolkit creates the AKS cluster (and its subnet): an enabled ingress tier on `cluster: aks`. The one
    place this is decided; the environment's plan (`EnvironmentPlan.parts.aks`) and the spec's rules ask it."""
    return enabled and cluster == "aks"


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


DEFAULT_NAMESPACE = "default"


def guarded_namespaces(t: TierLayout) -> list[str]:
    """Every namespace the tier creates or uses: its own three, the metrics namespace its controller admits scrapes
    from, and `default` (where anything deployed without a namespace lands). Each gets a default deny."""
    return list(dict.fromkeys([t.ingress_namespace, t.apps_namespace, CERT_MANAGER_NAMESPACE,
                               *([t.metrics_namespace] if t.metrics_namespace else []), DEFAULT_NAMESPACE]))


def network_policies(t: TierLayout) -> list[Policy]:
    """Default deny in every namespace the tier creates or uses, then exactly the flows the tier needs.

    On AKS with Azure CNI, pods take addresses of the AKS subnet, and Calico applies an `ipBlock` to any address,
    pod addresses included (k8s_flows.py): the API server's block (the AKS subnet, where its private endpoint lives)
    therefore also covers every pod. Each pod's own ingress policy, present in every namespace here, is what keeps
    such a block from opening a pod to its neighbours."""
    out: list[Policy] = []
    for ns in guarded_namespaces(t):
        out.append(Policy(ns, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
        if ns != DEFAULT_NAMESPACE:  # nothing of the tier runs in default: it stays closed both ways
            out.append(Policy(ns, "allow-dns", {
                "podSelector": {}, "policyTypes": ["Egress"],
                "egress": [{"to": [KUBE_DNS], "ports": [*_ports(53, protocol="UDP"), *_ports(53)]}],
            }))
    api = {"to": [{"ipBlock": {"cidr": t.api_server_cidr}}], "ports": _ports(443)}
    if t.metrics_namespace:
        # Prometheus there scrapes the controller's metrics port and discovers its pods through the API server.
        out.append(Policy(t.metrics_namespace, "scrape-ingress-controller", {
            "podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{**_ns(t.ingress_namespace), "podSelector": {"matchLabels": CONTROLLER}}],
                        "ports": _ports(TRAEFIK_METRICS_PORT)}, api],
        }))
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


# How the tier's Traefik objects reach across namespaces (traefik/traefik v3.5.2, pkg/provider/kubernetes/crd):
# - The CRD provider starts informers (IngressRoutes, Middlewares, TLSOptions, ServersTransports, Services,
#   EndpointSlices, Secrets) only in the namespaces it watches, and GetService fails with "namespace is not within
#   watched namespaces" for any other (client.go, WatchAll and GetService). The connectors' Services live in the apps
#   namespace, so the controller watches exactly the ingress and the apps namespaces, nothing else.
# - The routes, their middlewares, TLS options, ServersTransports and certificates stay in the ingress namespace (the
#   TLS keys and client CAs beside the controller, not beside the apps); only the backend Service is in the apps
#   namespace. A reference to another namespace is refused unless allowCrossNamespace is set (isNamespaceAllowed in
#   kubernetes.go; docs: reference/install-configuration/providers/kubernetes/kubernetes-crd.md "Allows the
#   IngressRoutes to reference resources in namespaces other than theirs", default false). It is one global switch;
#   its reach is bounded by the two watched namespaces.
# - A service's ServersTransport is looked up in the *service's* namespace (buildServersLB -> makeServersTransportKey
#   with the service namespace, kubernetes_http.go), so a transport kept in the ingress namespace is named
#   `<ns>-<name>@kubernetescrd`, the form only allowed with allowCrossNamespace.
CRD_PROVIDER = "kubernetescrd"


def crd_ref(namespace: str, name: str) -> str:
    """Traefik's provider-qualified name of a CRD object: `<namespace>-<name>@kubernetescrd` (makeID + Normalize)."""
    return f"{namespace}-{name}@{CRD_PROVIDER}"


def watched_namespaces(namespace: str, apps_namespace: str) -> list[str]:
    return [namespace, apps_namespace]


def route_match(host: str, path: str, exact: bool, methods: tuple[str, ...], bearer_only: bool = False) -> str:
    """The IngressRoute rule (Traefik v3 syntax): the host, the path, and only the route's methods.

    v3 matchers take one value each (`Method` compares one upper-case method: pkg/muxer/http/matcher.go), so several
    methods are OR-ed in parentheses (docs/content/reference/routing-configuration/http/router/rules-and-priority.md).
    A request with another host or path matches no router and gets Traefik's default handler: 404
    (pkg/server/router/router.go, http.NotFoundHandler); another method on the route's host and path gets the route's
    405 rule (below). Bearer-only (jwt) routes also require an `Authorization:
    Bearer` header, so a browser session cookie alone never matches them."""
    rule = path_rule(host, path, exact)
    rule += " && " + (f"Method(`{methods[0]}`)" if len(methods) == 1 else "(" + " || ".join(f"Method(`{m}`)" for m in methods) + ")")
    if bearer_only:
        rule += " && HeaderRegexp(`Authorization`, `(?i)^bearer [^ ]+$`)"
    return rule


# A request whose method a route does not allow would match no router and get 404. Each route therefore has a second,
# lower-priority rule on the same host and path without the methods, answering 405 Method Not Allowed with an `Allow`
# header, through the route's own middlewares (allowlist: 403; forward auth: 401 first). Traefik has no static
# responder: `noop@internal` is an internal service that always answers 418 (pkg/server/service/internalhandler.go),
# and an `errors` middleware catching 418 rewrites the status with `statusRewrites` (pkg/middlewares/customerrors/
# custom_errors.go; `statusRewrites` in traefik-helm-chart v37.1.1 traefik/crds/traefik.io_middlewares.yaml), its
# page served by noop@internal again. A `TraefikService` reference `noop@internal` is cross-provider, not a
# Kubernetes object (fullServiceName in pkg/provider/kubernetes/crd/kubernetes_http.go).
NOOP_SERVICE: dict[str, str] = {"name": "noop@internal", "kind": "TraefikService"}
METHOD_NOT_ALLOWED: dict[str, object] = {"errors": {"status": ["418"], "statusRewrites": {"418": 405}, "service": NOOP_SERVICE}}


def path_rule(host: str, path: str, exact: bool) -> str:
    return f"Host(`{host}`) && {'Path' if exact else 'PathPrefix'}(`{path}`)"


# At most this many routes per host (a spec rule), so every priority below stays under 31: the length of the shortest
# rule that names a host and a path, Host(`a.bc`) && PathPrefix(`/`).
MAX_ROUTES_PER_HOST = 15


@dataclass(frozen=True)
class RoutePriority:
    methods: int  # the rule that forwards the route's methods to its connector
    others: int  # the rule that answers every other method with 405


def route_priorities(routes: list[tuple[str, str, str, bool]]) -> dict[str, RoutePriority]:
    """Explicit router priorities from (name, host, path, exact): on each host the routes ranked 1..n by how specific
    their path is (longer first, Exact over Prefix); rank r's method rule takes 2r, its 405 rule 2r - 1.

    A router's default priority is the length of its rule ("the longest length has the highest priority"); an explicit
    priority replaces it (docs/content/reference/routing-configuration/http/router/rules-and-priority.md, "Priority
    Calculation"). Left to rule length, a route on `/` listing many methods would outrank a route on a longer path, and
    a rule listing the methods would outrank a sign-in callback on the host. With these, the most specific path on a
    host owns its requests: its methods reach its connector, any other method gets its 405, even when a broader route
    on the host allows that method (a read-only route stays read-only). All stay below any default-priority rule on the
    host (such as the `/oauth2/` callback): at most 2 x MAX_ROUTES_PER_HOST = 30."""
    out: dict[str, RoutePriority] = {}
    for host in {h for _, h, _, _ in routes}:
        on_host = sorted((r for r in routes if r[1] == host), key=lambda r: (len(r[2]), r[3]))
        out.update({name: RoutePriority(methods=2 * rank, others=2 * rank - 1) for rank, (name, _, _, _) in enumerate(on_host, start=1)})
    return out


def traefik_values(*, namespace: str, apps_namespace: str, replicas: int, internal: bool, source_ranges: tuple[str, ...],
                   acme_http01: bool = False) -> dict[str, Any]:
    """Helm values: hardened pods, real client addresses, JSON access logs, no dashboard, metrics inside only."""
    annotations = {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"} if internal else {}
    return {
        "deployment": {"replicas": replicas},
        "podDisruptionBudget": {"enabled": True, "minAvailable": 1},
        "ingressClass": {"enabled": True, "isDefaultClass": False, "name": "brickwall"},
        "providers": {
            # The chart (traefik-helm-chart v37.1.1 traefik/templates/_podtemplate.tpl) turns these into
            # --providers.kubernetescrd.namespaces=<ns>,<apps> and --providers.kubernetescrd.allowCrossNamespace=true.
            "kubernetesCRD": {"enabled": True, "allowCrossNamespace": True, "allowExternalNameServices": False,
                              "namespaces": watched_namespaces(namespace, apps_namespace)},
            # cert-manager answers HTTP-01 challenges through a temporary Ingress of this class, created in the
            # Challenge's namespace, i.e. the ingress namespace of the ACME Issuer and its Certificates
            # (cert-manager/cert-manager pkg/issuer/acme/http/ingress.go, createIngress: Ingresses(ch.Namespace)).
            # Without `namespaces` the chart passes none and the provider would watch every namespace.
            "kubernetesIngress": {"enabled": acme_http01, "ingressClass": "brickwall", "namespaces": [namespace]},
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
