"""IngressTier: a hardened Traefik v3 ingress in front of Databricks-facing connectors.

Every security-relevant object (namespaces, NetworkPolicies, TLS options, middlewares, routes,
certificates, Secrets) is a typed resource of its own; only the controller and cert-manager come
from pinned Helm charts, whose values are built here from the spec.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.planning.ingress import (
    CERT_MANAGER_CHART,
    CERT_MANAGER_NAMESPACE,
    HSTS_HEADERS,
    METHOD_NOT_ALLOWED,
    NOOP_SERVICE,
    OAUTH2_PROXY,
    OAUTH2_PROXY_PORT,
    TRAEFIK_CHART,
    Policy,
    RoutePriority,
    app_labels,
    cert_manager_values,
    crd_ref,
    path_rule,
    route_match,
    route_priorities,
    tls_option_spec,
    traefik_values,
)
from components.planning.oauth2_proxy import APPS, BROWSER, PROXY_PREFIX, SECRET_DIR, Instance, proxy_args
from components.planning.workload_identity import CLIENT_ID_ANNOTATION, USE_LABEL
from components.spec.ingress import ConnectorSpec, IngressSpec, RouteSpec

TRAEFIK_API = "traefik.io/v1alpha1"
CERT_MANAGER_API = "cert-manager.io/v1"
PRIVATE_CA_ISSUER = "brickwall-private-ca"  # a ClusterIssuer
# The private CA's self-signed root: its Secret (cert-manager's namespace), name, one-year life renewed 30 days early.
ROOT_CA_SECRET, ROOT_CA_COMMON_NAME = "brickwall-ca", "brickwall private CA"
ROOT_CA_DURATION, ROOT_CA_RENEW_BEFORE = "8760h", "720h"
ACME_ISSUER = "brickwall-acme"
# Short-lived certificates renewed by cert-manager long before they expire: no expiry gap to manage.
CERT_DURATION, CERT_RENEW_BEFORE = "168h", "72h"
SECURE_POD = {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}}
SECURE_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
# Pull on every start: the registry checks the pod's pull credentials each time, so no pod starts from a private
# image that its node merely has cached.
PULL_POLICY = "Always"
# The forwardAuth middleware of each route auth: (oauth2-proxy instance, endpoint).
FORWARD_AUTH = {"oauth2-sign-in": (BROWSER, "/"), "oauth2-bearer": (BROWSER, f"{PROXY_PREFIX}/auth"),
                "oauth2-app": (APPS, f"{PROXY_PREFIX}/auth")}
AUTH_MIDDLEWARE = {"oauth2": "oauth2-sign-in", "jwt": "oauth2-bearer", "app": "oauth2-app"}


@dataclass(frozen=True)
class IngressSecrets:
    """Credentials from stack config, all Pulumi secrets. Connectors have none: they sign in with workload identity."""

    oauth2_client_secret: pulumi.Output[str] | None
    oauth2_cookie_secret: pulumi.Output[str] | None


@dataclass(frozen=True)
class IngressTierArgs:
    spec: IngressSpec
    provider: k8s.Provider
    policies: Sequence[Policy]
    workspace_url: pulumi.Input[str]
    secrets: IngressSecrets
    # Per connector: the client id of its user-assigned managed identity (components/connector_identity.py), which
    # its service account names for AKS workload identity.
    connector_client_ids: Mapping[str, pulumi.Input[str]]
    entra_tenant_id: str | None = None
    # The cluster the tier lives in: destroying it takes every object with it, so none is deleted one by one.
    cluster: pulumi.Resource | None = None
    # The toolkit creates that cluster (EnvironmentPlan.parts.aks), rather than the tier joining an existing one.
    creates_aks: bool = False


class IngressTier(pulumi.ComponentResource):
    def __init__(self, name: str, args: IngressTierArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:kubernetes:IngressTier", name, {}, opts)
        self._name = name
        spec = args.spec
        self._provider = args.provider
        self._cluster = args.cluster
        ns, apps = spec.namespace, spec.apps_namespace
        acme = any(r.certificate_issuer == "acme" for r in spec.routes)

        namespaces = {
            n: k8s.core.v1.Namespace(
                f"{name}-ns-{n}",
                # Pod Security "restricted": no privileged, root or host-level pods in the tier.
                metadata={"name": n, "labels": {"pod-security.kubernetes.io/enforce": "restricted",
                                                "app.kubernetes.io/part-of": "brickwall-ingress"}},
                opts=self._opts(),
            )
            for n in (ns, apps, CERT_MANAGER_NAMESPACE)
        }
        if spec.metrics_namespace and args.creates_aks and spec.metrics_namespace not in namespaces:
            # A cluster the toolkit creates has no metrics namespace yet, and its default deny needs one to live in.
            # No Pod Security level is set here: a monitoring stack's node agents may need host access.
            namespaces[spec.metrics_namespace] = k8s.core.v1.Namespace(
                f"{name}-ns-{spec.metrics_namespace}",
                metadata={"name": spec.metrics_namespace, "labels": {"app.kubernetes.io/part-of": "brickwall-ingress"}},
                opts=self._opts(),
            )
        self.network_policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{p.namespace}-{p.name}",
                metadata={"name": p.name, "namespace": p.namespace},
                spec=p.spec,
                # `default` (and an existing cluster's metrics namespace) exist already.
                opts=self._opts(*([namespaces[p.namespace]] if p.namespace in namespaces else [])),
            )
            for p in args.policies
        ]
        # Policies first: no pod of the tier ever runs without its default deny.
        netpols = self.network_policies

        cert_manager = k8s.helm.v3.Release(
            f"{name}-cert-manager",
            name="cert-manager",
            chart=CERT_MANAGER_CHART[0],
            version=CERT_MANAGER_CHART[1],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CERT_MANAGER_CHART[2]),
            namespace=CERT_MANAGER_NAMESPACE,
            values=cert_manager_values(),
            atomic=True,
            opts=self._opts(*netpols),
        )
        traefik = k8s.helm.v3.Release(
            f"{name}-traefik",
            name="traefik",
            chart=TRAEFIK_CHART[0],
            version=TRAEFIK_CHART[1],
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=TRAEFIK_CHART[2]),
            namespace=ns,
            values=traefik_values(namespace=ns, apps_namespace=apps, replicas=spec.replicas, internal=spec.load_balancer == "internal",
                                  source_ranges=spec.load_balancer_source_ranges, acme_http01=acme),
            atomic=True,
            opts=self._opts(*netpols),
        )
        self.traefik, self.cert_manager = traefik, cert_manager

        self._issuers(spec, ns, cert_manager, acme)
        self._custom("tls-default", TRAEFIK_API, "TLSOption", ns, "default", tls_option_spec(), traefik)
        self._custom("security-headers", TRAEFIK_API, "Middleware", ns, "security-headers", {"headers": HSTS_HEADERS}, traefik)

        if spec.oauth2_proxy is not None:
            self._oauth2_proxy(spec, ns, args.secrets, traefik, namespaces[ns])
        connectors = {c.name: c for c in spec.connectors}
        for connector in spec.connectors:
            self._connector(connector, apps, args, namespaces[apps])
        self._custom("method-not-allowed", TRAEFIK_API, "Middleware", ns, "method-not-allowed", METHOD_NOT_ALLOWED, traefik)
        priorities = route_priorities([(r.name, r.host, r.path, r.match == "Exact") for r in spec.routes])
        for route in spec.routes:
            self._route(route, connectors[route.backend], spec, ns, apps, traefik, priorities[route.name])
        self._sign_in_routes(spec, ns, traefik)

        self.register_outputs({"namespaces": [ns, apps, CERT_MANAGER_NAMESPACE]})

    def _opts(self, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=self._provider, depends_on=list(after) or None,
                                      deleted_with=self._cluster)

    def _custom(self, key: str, api: str, kind: str, namespace: str, name: str, spec: dict[str, object],
                *after: pulumi.Resource) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{key}", api_version=api, kind=kind,
            metadata={"name": name, "namespace": namespace}, spec=spec, opts=self._opts(*after),
        )

    def _issuers(self, spec: IngressSpec, ns: str, cert_manager: pulumi.Resource, acme: bool) -> None:
        # A private CA for internal hosts, connectors' serving certificates and upstream mTLS: a self-signed
        # root kept by cert-manager in its own namespace, issuing cluster-wide.
        self._cluster_custom("selfsigned", "ClusterIssuer", "brickwall-selfsigned", {"selfSigned": {}}, cert_manager)
        # The root's yearly renewal keeps its key (rotationPolicy Never: "a private key will only be generated if one
        # does not already exist in the target spec.secretName"; Always, the default since cert-manager v1.18, makes a
        # new key on every renewal; cert-manager Certificate CRD, spec.privateKey.rotationPolicy). With the same key,
        # certificates signed before and after the renewal verify against the old root and the renewed one alike, so
        # clients that still hold last year's root keep working until it expires (renewBefore: 30 days later) and
        # in-cluster `ca.crt` copies may lag behind; a new key would break every client at once (cert-manager issues
        # #2478 and #5851: the CA issuer does not re-issue or re-bundle on CA rotation). docs/ingress.md "Trusting the private
        # CA" has the client distribution and rollover procedure.
        self._custom("ca-root", CERT_MANAGER_API, "Certificate", CERT_MANAGER_NAMESPACE, ROOT_CA_SECRET, {
            "isCA": True, "commonName": ROOT_CA_COMMON_NAME, "secretName": ROOT_CA_SECRET,
            "duration": ROOT_CA_DURATION, "renewBefore": ROOT_CA_RENEW_BEFORE,
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Never"},
            "issuerRef": {"name": "brickwall-selfsigned", "kind": "ClusterIssuer"},
        }, cert_manager)
        self._cluster_custom("ca-issuer", "ClusterIssuer", PRIVATE_CA_ISSUER, {"ca": {"secretName": ROOT_CA_SECRET}}, cert_manager)
        if acme:
            self._custom("acme-issuer", CERT_MANAGER_API, "Issuer", ns, ACME_ISSUER, {"acme": {
                "server": "https://acme-v02.api.letsencrypt.org/directory", "email": spec.acme_email,
                "privateKeySecretRef": {"name": "brickwall-acme-account"},
                "solvers": [{"http01": {"ingress": {"ingressClassName": "brickwall"}}}],
            }}, cert_manager)

    def _cluster_custom(self, key: str, kind: str, name: str, spec: dict[str, object],
                        *after: pulumi.Resource) -> k8s.apiextensions.CustomResource:
        return k8s.apiextensions.CustomResource(
            f"{self._name}-{key}", api_version=CERT_MANAGER_API, kind=kind, metadata={"name": name}, spec=spec,
            opts=self._opts(*after),
        )

    def _certificate(self, key: str, namespace: str, secret: str, dns_names: list[str], issuer: tuple[str, str],
                     usages: list[str], after: pulumi.Resource) -> None:
        self._custom(f"cert-{key}", CERT_MANAGER_API, "Certificate", namespace, secret, {
            "secretName": secret, "dnsNames": dns_names, "duration": CERT_DURATION, "renewBefore": CERT_RENEW_BEFORE,
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "usages": usages, "issuerRef": {"name": issuer[0], "kind": issuer[1]},
        }, after)

    def _oauth2_proxy(self, spec: IngressSpec, ns: str, secrets: IngressSecrets, traefik: pulumi.Resource,
                      namespace: pulumi.Resource) -> None:
        o = spec.oauth2_proxy
        assert o is not None and secrets.oauth2_client_secret is not None and secrets.oauth2_cookie_secret is not None
        secret = k8s.core.v1.Secret(
            f"{self._name}-oauth2-proxy-secret",
            metadata={"name": "oauth2-proxy", "namespace": ns},
            type="Opaque",
            string_data={"client-secret": secrets.oauth2_client_secret, "cookie-secret": secrets.oauth2_cookie_secret},
            opts=self._opts(namespace),
        )
        browser_hosts = sorted({r.host for r in spec.routes if r.auth == "oauth2"})
        instances: list[tuple[str, Instance, list[str]]] = [
            (BROWSER, "browser", proxy_args(o, "browser", port=OAUTH2_PROXY_PORT, hosts=browser_hosts))]
        if any(r.auth == "app" for r in spec.routes):
            instances.append((APPS, "apps", proxy_args(o, "apps", port=OAUTH2_PROXY_PORT)))
        for name, instance, args in instances:
            labels = {**OAUTH2_PROXY, "app.kubernetes.io/instance": instance}
            k8s.apps.v1.Deployment(
                f"{self._name}-{name}",
                metadata={"name": name, "namespace": ns, "labels": labels},
                spec={
                    "replicas": spec.replicas,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "automountServiceAccountToken": False,
                            "securityContext": SECURE_POD,
                            "containers": [{
                                "name": "oauth2-proxy", "image": o.image, "imagePullPolicy": PULL_POLICY, "args": args,
                                "ports": [{"name": "http", "containerPort": OAUTH2_PROXY_PORT}],
                                "securityContext": SECURE_CONTAINER,
                                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                                "readinessProbe": {"httpGet": {"path": "/ping", "port": OAUTH2_PROXY_PORT}},
                                "livenessProbe": {"httpGet": {"path": "/ping", "port": OAUTH2_PROXY_PORT}},
                                "volumeMounts": [{"name": "secrets", "mountPath": SECRET_DIR, "readOnly": True}],
                            }],
                            "volumes": [{"name": "secrets", "secret": {"secretName": "oauth2-proxy", "defaultMode": 0o400}}],
                        },
                    },
                },
                opts=self._opts(secret, namespace),
            )
            k8s.core.v1.Service(
                f"{self._name}-{name}-svc",
                metadata={"name": name, "namespace": ns, "labels": labels},
                spec={"selector": labels, "ports": [{"name": "http", "port": OAUTH2_PROXY_PORT, "targetPort": OAUTH2_PROXY_PORT}]},
                opts=self._opts(namespace),
            )
        # Traefik's forwardAuth passes a 2xx on and returns any other answer of the auth server to the client
        # (https://doc.traefik.io/traefik/v3.3/reference/routing-configuration/http/middlewares/forwardauth/).
        # Browser routes ask oauth2-proxy's `/`: signed in, the static upstream answers 202; not signed in, it answers
        # with the redirect to Entra ID (oauth2-proxy docs/docs/configuration/integration.md, "ForwardAuth with static
        # upstreams configuration"; oauthproxy.go Proxy). Bearer routes ask `/oauth2/auth`, which answers 202 or 401 and
        # never redirects an API client (oauthproxy.go AuthOnly). trustForwardHeader stays off: Traefik sets the
        # X-Forwarded-* headers oauth2-proxy reads itself, so a client cannot forge the host it is redirected to.
        for key, (service, path) in FORWARD_AUTH.items():
            if service == APPS and len(instances) == 1:
                continue
            self._custom(f"forward-auth-{key}", TRAEFIK_API, "Middleware", ns, key, {"forwardAuth": {
                "address": f"http://{service}.{ns}.svc.cluster.local:{OAUTH2_PROXY_PORT}{path}",
                "trustForwardHeader": False,
                "authResponseHeaders": ["X-Auth-Request-User", "X-Auth-Request-Email"],
            }}, traefik)

    def _connector(self, c: ConnectorSpec, apps: str, args: IngressTierArgs, namespace: pulumi.Resource) -> None:
        labels = app_labels(c.name)
        # AKS workload identity (https://learn.microsoft.com/azure/aks/workload-identity-overview): the service account
        # names the connector's managed identity, whose federated credential trusts exactly this service account
        # (components/planning/workload_identity.py). No Secret, no client secret, no personal access token.
        account = k8s.core.v1.ServiceAccount(
            f"{self._name}-sa-{c.name}",
            metadata={"name": c.name, "namespace": apps, "labels": labels,
                      "annotations": {CLIENT_ID_ANNOTATION: args.connector_client_ids[c.name]}},
            automount_service_account_token=False,
            opts=self._opts(namespace),
        )
        # The connector serves TLS with a short-lived certificate from the private CA; the ingress verifies it.
        self._certificate(f"serving-{c.name}", apps, f"{c.name}-serving-tls", [f"{c.name}.{apps}.svc"],
                          (PRIVATE_CA_ISSUER, "ClusterIssuer"), ["server auth", "digital signature"], namespace)
        k8s.apps.v1.Deployment(
            f"{self._name}-app-{c.name}",
            metadata={"name": c.name, "namespace": apps, "labels": labels},
            spec={
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    # The webhook projects a token for the service account (audience api://AzureADTokenExchange) and
                    # sets AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE and AZURE_AUTHORITY_HOST in
                    # pods with this label, whatever automountServiceAccountToken says (Azure/azure-workload-identity
                    # pkg/webhook/webhook.go, addProjectedServiceAccountTokenVolume): no API token is mounted.
                    "metadata": {"labels": {**labels, USE_LABEL: "true"}},
                    "spec": {
                        "serviceAccountName": c.name,
                        "automountServiceAccountToken": False,
                        "securityContext": SECURE_POD,
                        "containers": [{
                            "name": c.name, "image": c.image, "imagePullPolicy": PULL_POLICY,
                            "ports": [{"name": "https", "containerPort": c.port}],
                            "securityContext": SECURE_CONTAINER,
                            # The connector's image defines no health path: its TLS listener accepting is the signal.
                            "readinessProbe": {"tcpSocket": {"port": c.port}},
                            "livenessProbe": {"tcpSocket": {"port": c.port}},
                            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}},
                            # Where to call, not a credential: the connector gets an Entra ID token for the Azure
                            # Databricks resource with its workload identity and calls as its own service principal.
                            # (scope AZURE_DATABRICKS_RESOURCE/.default, components/planning/workload_identity.py).
                            "env": [{"name": "DATABRICKS_HOST", "value": pulumi.Output.concat("https://", args.workspace_url)}],
                            "volumeMounts": [{"name": "tls", "mountPath": "/var/run/secrets/tls", "readOnly": True}],
                        }],
                        # The serving certificate's key (cert-manager) is the only Secret a connector mounts.
                        "volumes": [
                            {"name": "tls", "secret": {"secretName": f"{c.name}-serving-tls", "defaultMode": 0o400}},
                        ],
                    },
                },
            },
            opts=self._opts(account, namespace),
        )
        k8s.core.v1.Service(
            f"{self._name}-svc-{c.name}",
            metadata={"name": c.name, "namespace": apps, "labels": labels},
            spec={"selector": labels, "ports": [{"name": "https", "port": c.port, "targetPort": c.port}]},
            opts=self._opts(namespace),
        )

    def _sign_in_routes(self, spec: IngressSpec, ns: str, traefik: pulumi.Resource) -> None:
        """`/oauth2/` on every host with a browser route goes to oauth2-proxy itself: the sign-in start, Entra ID's
        callback (--redirect-url /oauth2/callback on the request's host) and sign-out (oauth2-proxy docs/docs/
        configuration/integration.md routes `Host(...) && PathPrefix(`/oauth2/`)` to oauth2-proxy for each service host).
        It carries the host's allowlist and certificate; its priority puts it above the host's routes."""
        first: dict[str, RouteSpec] = {}
        for r in spec.routes:
            if r.auth == "oauth2":
                first.setdefault(r.host, r)
        for host, route in first.items():
            on_host = [r for r in spec.routes if r.host == host]
            middlewares = [{"name": "security-headers", "namespace": ns}]
            if all(r.allow_cidrs for r in on_host):
                # Whoever may reach a route of this host may sign in on it.
                cidrs = sorted({c for r in on_host for c in r.allow_cidrs})
                self._custom(f"allow-{route.name}-oauth2", TRAEFIK_API, "Middleware", ns, f"{route.name}-oauth2-allowlist",
                             {"ipAllowList": {"sourceRange": cidrs}}, traefik)
                middlewares.insert(0, {"name": f"{route.name}-oauth2-allowlist", "namespace": ns})
            tls: dict[str, object] = {"secretName": f"{route.name}-tls"}
            if route.client_mtls and route.client_ca_secret:
                tls["options"] = {"name": f"{route.name}-mtls", "namespace": ns}
            self._custom(f"route-{route.name}-oauth2", TRAEFIK_API, "IngressRoute", ns, f"{route.name}-oauth2", {
                "entryPoints": ["websecure"],
                "routes": [{
                    # oauth2-proxy's endpoints take GET (start, callback, sign-out) and POST (the sign-in form).
                    "match": f"Host(`{host}`) && PathPrefix(`{PROXY_PREFIX}/`) && (Method(`GET`) || Method(`POST`))",
                    "kind": "Rule", "priority": 100000,
                    "middlewares": middlewares,
                    "services": [{"name": BROWSER, "namespace": ns, "port": OAUTH2_PROXY_PORT, "scheme": "http"}],
                }],
                "tls": tls,
            }, traefik)

    def _route(self, route: RouteSpec, c: ConnectorSpec, spec: IngressSpec, ns: str, apps: str, traefik: pulumi.Resource,
               priority: RoutePriority) -> None:
        key = route.name
        issuer = (ACME_ISSUER, "Issuer") if route.certificate_issuer == "acme" else (PRIVATE_CA_ISSUER, "ClusterIssuer")
        cert_secret = f"{key}-tls"
        self._certificate(key, ns, cert_secret, [route.host], issuer, ["server auth", "digital signature"], traefik)
        middlewares = [{"name": "security-headers", "namespace": ns}]
        if route.allow_cidrs:
            self._custom(f"allow-{key}", TRAEFIK_API, "Middleware", ns, f"{key}-allowlist",
                         {"ipAllowList": {"sourceRange": list(route.allow_cidrs)}}, traefik)
            middlewares.insert(0, {"name": f"{key}-allowlist", "namespace": ns})
        middlewares.append({"name": AUTH_MIDDLEWARE[route.auth], "namespace": ns})
        tls: dict[str, object] = {"secretName": cert_secret}
        if route.client_mtls and route.client_ca_secret:
            self._custom(f"tls-{key}", TRAEFIK_API, "TLSOption", ns, f"{key}-mtls", tls_option_spec(route.client_ca_secret), traefik)
            tls["options"] = {"name": f"{key}-mtls", "namespace": ns}
        # Upstream TLS verified against the private CA (its certificate rides in every secret it issues).
        ca_bundle = f"{key}-upstream-ca"
        self._certificate(f"{key}-upstream-ca", ns, ca_bundle, [f"{key}.upstream.brickwall.internal"],
                          (PRIVATE_CA_ISSUER, "ClusterIssuer"), ["client auth", "digital signature"], traefik)
        transport: dict[str, object] = {"serverName": f"{c.name}.{apps}.svc", "rootCAs": [{"secret": ca_bundle}],
                                        "insecureSkipVerify": False}
        if c.upstream == "mtls":
            # The same private-CA certificate doubles as the ingress's client certificate.
            transport["certificatesSecrets"] = [ca_bundle]
        # RFC 9110 section 15.5.6: a 405 response carries an Allow header listing the target's methods.
        self._custom(f"allow-methods-{key}", TRAEFIK_API, "Middleware", ns, f"{key}-allowed-methods",
                     {"headers": {"customResponseHeaders": {"Allow": ", ".join(route.methods)}}}, traefik)
        self._custom(f"transport-{key}", TRAEFIK_API, "ServersTransport", ns, f"{key}-upstream", transport, traefik)
        match = route_match(route.host, route.path, route.match == "Exact", route.methods, bearer_only=route.auth in ("jwt", "app"))
        self._custom(f"route-{key}", TRAEFIK_API, "IngressRoute", ns, key, {
            "entryPoints": ["websecure"],
            "routes": [{
                "match": match, "kind": "Rule", "priority": priority.methods, "middlewares": middlewares,
                # The Service is in the apps namespace; Traefik resolves its serversTransport there too, so the
                # transport (kept here, in the ingress namespace) goes by its provider-qualified name.
                "services": [{"name": c.name, "namespace": apps, "port": c.port, "scheme": "https",
                              "serversTransport": crd_ref(ns, f"{key}-upstream")}],
            }, {
                # Any other method on this host and path: 405 with the methods it allows, after the same middlewares.
                # Same IngressRoute, so the same TLS option: the host keeps one set of TLS options.
                "match": path_rule(route.host, route.path, route.match == "Exact"), "kind": "Rule",
                "priority": priority.others,
                "middlewares": [*middlewares, {"name": f"{key}-allowed-methods", "namespace": ns},
                                {"name": "method-not-allowed", "namespace": ns}],
                "services": [dict(NOOP_SERVICE)],
            }],
            "tls": tls,
        }, traefik)
