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
    OAUTH2_PROXY,
    OAUTH2_PROXY_PORT,
    TRAEFIK_CHART,
    Policy,
    app_labels,
    cert_manager_values,
    tls_option_spec,
    traefik_values,
)
from components.planning.workload_identity import CLIENT_ID_ANNOTATION, USE_LABEL
from components.spec.ingress import ConnectorSpec, IngressSpec, RouteSpec

TRAEFIK_API = "traefik.io/v1alpha1"
CERT_MANAGER_API = "cert-manager.io/v1"
PRIVATE_CA_ISSUER = "brickwall-private-ca"  # a ClusterIssuer
ACME_ISSUER = "brickwall-acme"
# Short-lived certificates renewed by cert-manager long before they expire: no expiry gap to manage.
CERT_DURATION, CERT_RENEW_BEFORE = "168h", "72h"
SECURE_POD = {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}}
SECURE_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}}
# Pull on every start: the registry checks the pod's pull credentials each time, so no pod starts from a private
# image that its node merely has cached.
PULL_POLICY = "Always"


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
        self.network_policies = [
            k8s.networking.v1.NetworkPolicy(
                f"{name}-netpol-{p.namespace}-{p.name}",
                metadata={"name": p.name, "namespace": p.namespace},
                spec=p.spec,
                opts=self._opts(namespaces[p.namespace]),
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
            values=traefik_values(namespace=ns, replicas=spec.replicas, internal=spec.load_balancer == "internal",
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
        for route in spec.routes:
            self._route(route, connectors[route.backend], spec, ns, apps, traefik)

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
        self._custom("ca-root", CERT_MANAGER_API, "Certificate", CERT_MANAGER_NAMESPACE, "brickwall-ca", {
            "isCA": True, "commonName": "brickwall private CA", "secretName": "brickwall-ca",
            "duration": "8760h", "renewBefore": "720h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            "issuerRef": {"name": "brickwall-selfsigned", "kind": "ClusterIssuer"},
        }, cert_manager)
        self._cluster_custom("ca-issuer", "ClusterIssuer", PRIVATE_CA_ISSUER, {"ca": {"secretName": "brickwall-ca"}}, cert_manager)
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
        args = [
            "--provider=oidc", f"--oidc-issuer-url={o.issuer_url}", f"--client-id={o.client_id}",
            "--client-secret-file=/etc/oauth2-proxy/client-secret", "--cookie-secret-file=/etc/oauth2-proxy/cookie-secret",
            f"--http-address=0.0.0.0:{OAUTH2_PROXY_PORT}", "--reverse-proxy=true", "--set-xauthrequest=true",
            "--cookie-secure=true", "--cookie-httponly=true", "--cookie-samesite=lax", "--upstream=static://202",
            "--skip-provider-button=true", "--silence-ping-logging=true",
            *(f"--allowed-group={g}" for g in o.allowed_groups),
            *(f"--email-domain={d}" for d in o.email_domains),
        ]
        if o.jwt_issuers:
            args += ["--skip-jwt-bearer-tokens=true", *(f"--extra-jwt-issuers={i}={a}" for i, a in o.jwt_issuers)]
        labels = dict(OAUTH2_PROXY)
        k8s.apps.v1.Deployment(
            f"{self._name}-oauth2-proxy",
            metadata={"name": "oauth2-proxy", "namespace": ns, "labels": labels},
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
                            "volumeMounts": [{"name": "secrets", "mountPath": "/etc/oauth2-proxy", "readOnly": True}],
                        }],
                        "volumes": [{"name": "secrets", "secret": {"secretName": "oauth2-proxy", "defaultMode": 0o400}}],
                    },
                },
            },
            opts=self._opts(secret, namespace),
        )
        k8s.core.v1.Service(
            f"{self._name}-oauth2-proxy-svc",
            metadata={"name": "oauth2-proxy", "namespace": ns, "labels": labels},
            spec={"selector": labels, "ports": [{"name": "http", "port": OAUTH2_PROXY_PORT, "targetPort": OAUTH2_PROXY_PORT}]},
            opts=self._opts(namespace),
        )
        self._custom("forward-auth", TRAEFIK_API, "Middleware", ns, "oauth2-forward-auth", {"forwardAuth": {
            "address": f"http://oauth2-proxy.{ns}.svc.cluster.local:{OAUTH2_PROXY_PORT}/oauth2/auth",
            "trustForwardHeader": False,
            "authResponseHeaders": ["X-Auth-Request-User", "X-Auth-Request-Email", "Authorization"],
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

    def _route(self, route: RouteSpec, c: ConnectorSpec, spec: IngressSpec, ns: str, apps: str, traefik: pulumi.Resource) -> None:
        key = route.name
        issuer = (ACME_ISSUER, "Issuer") if route.certificate_issuer == "acme" else (PRIVATE_CA_ISSUER, "ClusterIssuer")
        cert_secret = f"{key}-tls"
        self._certificate(key, ns, cert_secret, [route.host], issuer, ["server auth", "digital signature"], traefik)
        middlewares = [{"name": "security-headers", "namespace": ns}]
        if route.allow_cidrs:
            self._custom(f"allow-{key}", TRAEFIK_API, "Middleware", ns, f"{key}-allowlist",
                         {"ipAllowList": {"sourceRange": list(route.allow_cidrs)}}, traefik)
            middlewares.insert(0, {"name": f"{key}-allowlist", "namespace": ns})
        middlewares.append({"name": "oauth2-forward-auth", "namespace": ns})
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
        self._custom(f"transport-{key}", TRAEFIK_API, "ServersTransport", ns, f"{key}-upstream", transport, traefik)
        match = f"Host(`{route.host}`) && {'Path' if route.match == 'Exact' else 'PathPrefix'}(`{route.path}`)"
        self._custom(f"route-{key}", TRAEFIK_API, "IngressRoute", ns, key, {
            "entryPoints": ["websecure"],
            "routes": [{
                "match": match, "kind": "Rule", "middlewares": middlewares,
                "services": [{"name": c.name, "namespace": apps, "port": c.port, "scheme": "https",
                              "serversTransport": f"{key}-upstream"}],
            }],
            "tls": tls,
        }, traefik)
