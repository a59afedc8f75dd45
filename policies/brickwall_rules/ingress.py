"""Kubernetes ingress tier rules: default deny, IngressRoute TLS, exact hosts, methods and allowlists, TLS versions, AKS
network policy, Kubernetes Secrets from Pulumi secrets, connectors on workload identity."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pulumi_policy import Policy, PolicyResource, ResourceValidationArgs, StackValidationArgs

import components.planning.azure_types as az
from brickwall_rules.base import TIER_CONFIG, Say, as_list, dig, is_secret, of_type, resource_rule, stack_rule, stack_tier
from components.planning.workload_identity import CLIENT_ID_ANNOTATION, USE_LABEL

NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
MIDDLEWARE = "kubernetes:traefik.io/v1alpha1:Middleware"
INGRESS_TIER = "brickwall:kubernetes:IngressTier"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
CERTIFICATE = "kubernetes:cert-manager.io/v1:Certificate"
INGRESS_PART_OF = "brickwall-ingress"


def _owned_by_ingress(res: PolicyResource) -> bool:
    return INGRESS_TIER in res.urn.split("::")[-2] or dig(res.props, "metadata.labels", {}).get("app.kubernetes.io/part-of") == INGRESS_PART_OF


def _is_default_deny(policy: PolicyResource) -> set[str]:
    """The directions ({"Ingress", "Egress"}) this NetworkPolicy denies by default for every pod of its namespace."""
    spec = dig(policy.props, "spec", {})
    selector = dig(spec, "podSelector", {}) or {}
    if dig(selector, "matchLabels") or dig(selector, "matchExpressions"):
        return set()
    types = {str(t) for t in as_list(dig(spec, "policyTypes"))} or {"Ingress"}
    denied = set()
    if "Ingress" in types and not as_list(dig(spec, "ingress")):
        denied.add("Ingress")
    if "Egress" in types and not as_list(dig(spec, "egress")):
        denied.add("Egress")
    return denied


NAME_LABEL = "kubernetes.io/metadata.name"
# AKS runs its own system pods there; a default deny would cut the cluster's DNS and agents. Not the tier's to close.
PLATFORM_NAMESPACES = frozenset({"kube-system"})


def _named_namespaces(policy: PolicyResource) -> set[str]:
    """The namespaces a NetworkPolicy's peers name by `kubernetes.io/metadata.name` (namespaces the tier uses)."""
    spec = dig(policy.props, "spec", {}) or {}
    names: set[str] = set()
    for key, peers in (("ingress", "from"), ("egress", "to")):
        for rule in as_list(dig(spec, key)):
            for peer in as_list(dig(rule, peers)):
                labels = dig(peer, "namespaceSelector.matchLabels") if isinstance(peer, Mapping) else None
                name = labels.get(NAME_LABEL) if isinstance(labels, Mapping) else None  # the key holds dots: no dig
                if isinstance(name, str):
                    names.add(name)
    return names


def _check_default_deny(args: StackValidationArgs, report: Say) -> None:
    """Every namespace the tier creates or uses needs its default deny: the namespaces it creates, those its
    NetworkPolicies live in or name as peers (the metrics namespace), and `default`; AKS's own kube-system aside."""
    denied: dict[str, set[str]] = {}
    for policy in of_type(args, NETWORK_POLICY):
        denied.setdefault(str(dig(policy.props, "metadata.namespace", "default")), set()).update(_is_default_deny(policy))
    required: dict[str, str] = {}  # namespace -> the URN a finding is reported on
    for ns in of_type(args, NAMESPACE):
        if _owned_by_ingress(ns):
            required.setdefault(str(dig(ns.props, "metadata.name") or ns.name), ns.urn)
    tier_policies = [p for p in of_type(args, NETWORK_POLICY) if _owned_by_ingress(p)]
    for policy in tier_policies:
        required.setdefault(str(dig(policy.props, "metadata.namespace", "default")), policy.urn)
        for name in _named_namespaces(policy):
            required.setdefault(name, policy.urn)
    tier = [r for r in args.resources if _owned_by_ingress(r)]
    if tier:
        required.setdefault("default", tier[0].urn)
    for name, urn in sorted(required.items()):
        if name in PLATFORM_NAMESPACES:
            continue
        missing = {"Ingress", "Egress"} - denied.get(name, set())
        if missing:
            report(f"namespace {name!r} has no default-deny NetworkPolicy for {' and '.join(sorted(missing))}", urn)


INGRESS_DEFAULT_DENY = stack_rule(
    "ingress-namespace-default-deny",
    "Every namespace the ingress tier creates or uses (its own, the metrics namespace its policies name, and default) "
    "has a default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules).",
    "Add a NetworkPolicy 'default-deny' with podSelector {} and policyTypes [Ingress, Egress] to the namespace; allow "
    "traffic with narrower policies.",
    _check_default_deny,
)


HOST_RE = re.compile(r"Host\(([^)]*)\)")


def _route_hosts(match: str) -> list[str]:
    hosts: list[str] = []
    for group in HOST_RE.findall(match):
        hosts += [h.strip().strip("`\"'") for h in group.split(",") if h.strip()]
    return hosts


def _check_route_tls(args: ResourceValidationArgs, report: Say) -> None:
    tls = dig(args.props, "spec.tls")
    if not isinstance(tls, Mapping) or not (dig(tls, "secretName") or dig(tls, "certResolver")):
        report(f"IngressRoute {dig(args.props, 'metadata.name') or args.name!r} terminates no TLS (spec.tls without secretName)")
    entry_points = [str(e) for e in as_list(dig(args.props, "spec.entryPoints"))]
    if entry_points and entry_points != ["websecure"]:
        report(f"IngressRoute {dig(args.props, 'metadata.name') or args.name!r} listens on entry points {entry_points}, not only websecure")


ROUTE_TLS = resource_rule(
    "ingress-route-tls",
    "Traefik IngressRoutes terminate TLS (spec.tls.secretName) on the websecure entry point only.",
    "Set spec.tls.secretName to the route's cert-manager certificate secret and spec.entryPoints to ['websecure'].",
    [INGRESS_ROUTE],
    _check_route_tls,
)


def _check_route_host(args: ResourceValidationArgs, report: Say) -> None:
    for i, route in enumerate(as_list(dig(args.props, "spec.routes"))):
        match = str(dig(route, "match", ""))
        hosts = _route_hosts(match)
        if "HostRegexp" in match or "HostSNIRegexp" in match:
            report(f"route {i} matches hosts by regular expression ({match!r}): name exact hosts")
        elif not hosts:
            report(f"route {i} ({match!r}) matches any host: add Host(`<exact name>`)")
        elif any("*" in h or not h for h in hosts):
            report(f"route {i} matches wildcard host(s) {', '.join(hosts)}: name exact hosts")


ROUTE_EXACT_HOST = resource_rule(
    "ingress-route-exact-host",
    "Every IngressRoute route matches exact host names (no wildcard, no HostRegexp, no missing Host).",
    "Write match as Host(`app.example.com`) && PathPrefix(`/...`) with one exact host per route.",
    [INGRESS_ROUTE],
    _check_route_host,
)


METHODS_ONLY = re.compile(r"\(?\s*Method\(`[A-Z]+`\)(\s*\|\|\s*Method\(`[A-Z]+`\))*\s*\)?")


def _top_level(match: str, op: str) -> list[str]:
    """`match` split at `op` (&& or ||) outside parentheses and backtick strings."""
    parts, depth, quoted, start = [], 0, False, 0
    for i, ch in enumerate(match):
        if ch == "`":
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
        elif not quoted and depth == 0 and match.startswith(op, i):
            parts.append(match[start:i])
            start = i + len(op)
    return [p.strip() for p in [*parts, match[start:]]]


def _check_route_methods(args: ResourceValidationArgs, report: Say) -> None:
    for i, route in enumerate(as_list(dig(args.props, "spec.routes"))):
        services = as_list(dig(route, "services"))
        if all(str(dig(s, "kind") or "Service") == "TraefikService" and str(dig(s, "name", "")).endswith("@internal")
               for s in services) and services:
            continue  # Traefik's own responder (the 405 rule), no backend behind it
        match = str(dig(route, "match", ""))
        if len(_top_level(match, "||")) > 1 or not any(METHODS_ONLY.fullmatch(c) for c in _top_level(match, "&&")):
            report(f"route {i} ({match!r}) reaches its backend with any HTTP method: AND the rule with Method(`GET`) "
                   "(or (Method(`GET`) || Method(`POST`)) ...)")


ROUTE_METHODS = resource_rule(
    "ingress-route-methods",
    "Every IngressRoute route with a backend names the HTTP methods it allows (a top-level && Method(...) term).",
    "List the route's methods in the spec (ingress.routes[].methods); the rule becomes Host(...) && PathPrefix(...) && "
    "(Method(`GET`) || ...).",
    [INGRESS_ROUTE],
    _check_route_methods,
)


def _check_tls_options_per_host(args: StackValidationArgs, report: Say) -> None:
    """Traefik maps a route's TLS options to the hosts of its rule; two options on one host conflict and Traefik falls
    back to the default options for that host, dropping a client-certificate requirement (traefik/traefik v3.5.2
    pkg/server/router/tcp/manager.go; docs .../kubernetes/crd/http/ingressroute.md, "Conflicting TLS Options")."""
    seen: dict[str, dict[str, str]] = {}
    urns: dict[str, str] = {}
    for route in of_type(args, INGRESS_ROUTE):
        namespace = str(dig(route.props, "metadata.namespace", "default"))
        ref = dig(route.props, "spec.tls.options")
        option = f"{dig(ref, 'namespace') or namespace}/{dig(ref, 'name')}" if dig(ref, "name") else "default"
        name = str(dig(route.props, "metadata.name") or route.name)
        for r in as_list(dig(route.props, "spec.routes")):
            for host in _route_hosts(str(dig(r, "match", ""))):
                seen.setdefault(host, {})[name] = option
                urns.setdefault(f"{host}/{name}", route.urn)
    for host, by_route in sorted(seen.items()):
        if len(set(by_route.values())) > 1:
            report(f"host {host} has TLS options {', '.join(f'{o} ({n})' for n, o in sorted(by_route.items()))}: Traefik "
                   "falls back to the default TLS options for the host", urns[f"{host}/{min(by_route)}"])


TLS_OPTIONS_PER_HOST = stack_rule(
    "traefik-tls-options-per-host",
    "All IngressRoutes on one host reference the same TLS options (else Traefik uses the default ones, without client mTLS).",
    "Give routes with different TLS options (client CAs) different hosts, or the same TLS option.",
    _check_tls_options_per_host,
)


def _check_route_allowlist(args: StackValidationArgs, report: Say) -> None:
    middlewares = {
        (str(dig(m.props, "metadata.namespace", "default")), str(dig(m.props, "metadata.name") or m.name)): m
        for m in of_type(args, MIDDLEWARE)
    }
    for route in of_type(args, INGRESS_ROUTE):
        if stack_tier(args) != "prod":
            continue
        namespace = str(dig(route.props, "metadata.namespace", "default"))
        for i, r in enumerate(as_list(dig(route.props, "spec.routes"))):
            refs = [(str(dig(m, "namespace") or namespace), str(dig(m, "name", ""))) for m in as_list(dig(r, "middlewares"))]
            allow = [ref for ref in refs if ref in middlewares and (
                dig(middlewares[ref].props, "spec.ipAllowList.sourceRange") or dig(middlewares[ref].props, "spec.ipWhiteList.sourceRange"))]
            if not allow:
                report(f"IngressRoute {dig(route.props, 'metadata.name') or route.name!r} route {i} has no IPAllowList middleware in prod", route.urn)


ROUTE_ALLOWLIST = stack_rule(
    "ingress-route-ip-allowlist-in-prod",
    "In prod every IngressRoute route passes through an IPAllowList middleware with source ranges.",
    "Create a traefik Middleware with spec.ipAllowList.sourceRange for the route's clients and list it first in the "
    "route's middlewares.",
    _check_route_allowlist,
    config_schema=TIER_CONFIG,
)

TLS_VERSIONS = {"VersionTLS10": 10, "VersionTLS11": 11, "VersionTLS12": 12, "VersionTLS13": 13}


def _check_tls_option(args: ResourceValidationArgs, report: Say) -> None:
    name = str(dig(args.props, "metadata.name") or args.name)
    version = dig(args.props, "spec.minVersion")
    if version is None:
        if name == "default":
            report("the default TLSOption sets no minVersion")
        return
    if TLS_VERSIONS.get(str(version), 0) < 12:
        report(f"TLSOption {name!r} allows {version}: the minimum is VersionTLS12")


TLS_MIN_VERSION = resource_rule(
    "traefik-tls-min-version",
    "Traefik TLSOptions (the default one explicitly) require TLS 1.2 or later.",
    "Set spec.minVersion to 'VersionTLS12' (or 'VersionTLS13').",
    ["kubernetes:traefik.io/v1alpha1:TLSOption"],
    _check_tls_option,
)


def _check_aks_network_policy(args: ResourceValidationArgs, report: Say) -> None:
    policy = dig(args.props, "networkProfile.networkPolicy")
    if policy is None or str(policy).lower() in ("none", ""):
        report(f"networkProfile.networkPolicy is {policy!r}: Kubernetes NetworkPolicies (default deny included) are not enforced")


AKS_NETWORK_POLICY = resource_rule(
    "aks-network-policy-enforced",
    "AKS clusters enforce Kubernetes NetworkPolicies (networkProfile.networkPolicy set, not 'none').",
    "Set networkProfile.networkPolicy to 'calico', 'azure' or 'cilium'.",
    [az.MANAGED_CLUSTER.token],
    _check_aks_network_policy,
)


def _pool_problems(pool: object) -> list[str]:
    pool_name = dig(pool, "agentPoolName") or dig(pool, "name")
    problems = []
    if dig(pool, "enableEncryptionAtHost") is not True:
        problems.append(f"agent pool {pool_name}: enableEncryptionAtHost is not true (temp disks and disk caches unencrypted at the host)")
    if str(dig(pool, "osDiskType") or "") != "Ephemeral":
        problems.append(f"agent pool {pool_name}: osDiskType is {dig(pool, 'osDiskType')!r}, not 'Ephemeral' "
                        "(node state persisted in Azure Storage)")
    return problems


def _check_aks_hardening(args: ResourceValidationArgs, report: Say) -> None:
    props, problems = args.props, []
    if args.resource_type == az.AGENT_POOL.token:  # a pool of its own, beside the cluster's
        for problem in _pool_problems(props):
            report(f"AKS cluster {dig(props, 'resourceName') or '?'}: {problem}")
        return
    channel = dig(props, "autoUpgradeProfile.upgradeChannel")
    if channel is None or str(channel).lower() == "none":
        problems.append(f"autoUpgradeProfile.upgradeChannel is {channel!r}: Kubernetes patch releases are never applied")
    node_channel = dig(props, "autoUpgradeProfile.nodeOSUpgradeChannel")
    if node_channel is None or str(node_channel).lower() in ("none", "unmanaged"):
        problems.append(f"autoUpgradeProfile.nodeOSUpgradeChannel is {node_channel!r}: node OS security updates are not managed")
    for pool in as_list(dig(props, "agentPoolProfiles")):
        problems += _pool_problems(pool)
    addon = dig(props, "addonProfiles.azureKeyvaultSecretsProvider")
    if dig(addon, "enabled") is not True or str(dig(addon, "config.enableSecretRotation")).lower() != "true":
        problems.append("addonProfiles.azureKeyvaultSecretsProvider is not enabled with config.enableSecretRotation 'true': "
                        "mounted Key Vault secrets never follow a rotation")
    for problem in problems:
        report(f"AKS cluster {dig(props, 'resourceName') or args.name}: {problem}")


AKS_HARDENED = resource_rule(
    "aks-upgrades-and-node-hardening",
    "AKS clusters auto-upgrade (a cluster upgrade channel and a managed node OS channel), run every pool on ephemeral OS "
    "disks encrypted at the host, and rotate Secrets Store CSI secrets.",
    "Keep the AksSpec defaults: upgrade_channel 'patch', node_os_upgrade_channel 'NodeImage', os_disk_type 'Ephemeral' on a "
    "size with a local temp disk, encryption_at_host (register Microsoft.Compute/EncryptionAtHost first); the toolkit "
    "enables the azureKeyvaultSecretsProvider addon with enableSecretRotation 'true'.",
    [az.MANAGED_CLUSTER.token, az.AGENT_POOL.token],
    _check_aks_hardening,
)


def _check_secret_values(args: ResourceValidationArgs, report: Say) -> None:
    if not args.get_config().get("secretMarkers"):
        args.not_applicable("pulumi-policy's analyzer strips secret markers; run `python -m brickwall check` for this rule")
    for field in ("data", "stringData"):
        value = dig(args.props, field)
        if value is None or is_secret(value):
            continue
        plain = sorted(str(k) for k, v in value.items() if not is_secret(v)) if isinstance(value, Mapping) else ["<whole field>"]
        if plain:
            report(f"Secret {dig(args.props, 'metadata.name') or args.name!r} has plain-text {field} key(s): {', '.join(plain)}")


K8S_SECRET_IS_PULUMI_SECRET = resource_rule(
    "kubernetes-secret-values-are-pulumi-secrets",
    "Kubernetes Secret data/stringData are Pulumi secrets, so they are encrypted in state and never printed.",
    "Wrap the values with pulumi.Output.secret(...) or read them with config.require_secret(...).",
    ["kubernetes:core/v1:Secret"],
    _check_secret_values,
)


def _secret_uses(pod: Mapping[str, object]) -> list[tuple[str, str]]:
    """(where, Secret name) of every Secret a pod spec reads: volumes, projected sources, env and envFrom."""
    uses = []
    for volume in as_list(dig(pod, "volumes")):
        if dig(volume, "secret") is not None:
            uses.append((f"volume {dig(volume, 'name')!r}", str(dig(volume, "secret.secretName", ""))))
        for source in as_list(dig(volume, "projected.sources")):
            if dig(source, "secret") is not None:
                uses.append((f"projected volume {dig(volume, 'name')!r}", str(dig(source, "secret.name", ""))))
    for container in [*as_list(dig(pod, "containers")), *as_list(dig(pod, "initContainers"))]:
        for env in as_list(dig(container, "env")):
            if dig(env, "valueFrom.secretKeyRef") is not None:
                uses.append((f"env {dig(env, 'name')!r}", str(dig(env, "valueFrom.secretKeyRef.name", ""))))
        for source in as_list(dig(container, "envFrom")):
            if dig(source, "secretRef") is not None:
                uses.append(("envFrom", str(dig(source, "secretRef.name", ""))))
    return uses


def _check_connector_identity(args: StackValidationArgs, report: Say) -> None:
    """Connectors (the tier's Deployments labelled part-of brickwall-ingress) sign in with AKS workload identity: the
    pod carries azure.workload.identity/use "true", runs as a service account naming a client id, and mounts no
    Secret but the serving certificates cert-manager issues (https://learn.microsoft.com/azure/aks/workload-identity-overview)."""
    accounts = {(str(dig(a.props, "metadata.namespace", "default")), str(dig(a.props, "metadata.name") or a.name)): a
                for a in of_type(args, SERVICE_ACCOUNT)}
    certificates = {(str(dig(c.props, "metadata.namespace", "default")), str(dig(c.props, "spec.secretName")))
                    for c in of_type(args, CERTIFICATE)}
    for deployment in of_type(args, DEPLOYMENT):
        if dig(deployment.props, "metadata.labels", {}).get("app.kubernetes.io/part-of") != INGRESS_PART_OF:
            continue
        name = str(dig(deployment.props, "metadata.name") or deployment.name)
        namespace = str(dig(deployment.props, "metadata.namespace", "default"))
        template = dig(deployment.props, "spec.template", {})
        if str(dig(template, "metadata.labels", {}).get(USE_LABEL, "")).lower() != "true":
            report(f"connector {name!r}: pods lack the label {USE_LABEL}: \"true\", so no workload identity token is "
                   "projected", deployment.urn)
        account_name = dig(template, "spec.serviceAccountName")
        account = accounts.get((namespace, str(account_name)))
        if not account_name or account is None:
            report(f"connector {name!r}: runs as no service account of its own (serviceAccountName)", deployment.urn)
        elif not dig(account.props, "metadata.annotations", {}).get(CLIENT_ID_ANNOTATION):
            report(f"connector {name!r}: service account {account_name!r} has no {CLIENT_ID_ANNOTATION} annotation",
                   deployment.urn)
        for where, secret in _secret_uses(dig(template, "spec", {})):
            if (namespace, secret) not in certificates:
                report(f"connector {name!r}: {where} reads Secret {secret!r}; connectors hold no credentials, they sign "
                       "in with workload identity", deployment.urn)


CONNECTOR_WORKLOAD_IDENTITY = stack_rule(
    "ingress-connector-workload-identity",
    "Ingress connectors sign in with AKS workload identity: pods labelled azure.workload.identity/use \"true\", a "
    "service account annotated with its managed identity's client id, and no Secret-held credential (only the serving "
    "certificates cert-manager issues).",
    "Give the connector its own managed identity with a federated credential for its service account, annotate the "
    "service account with azure.workload.identity/client-id, label the pod template, and remove credential Secrets.",
    _check_connector_identity,
)


RULES: list[Policy] = [
    INGRESS_DEFAULT_DENY,
    ROUTE_TLS,
    ROUTE_EXACT_HOST,
    ROUTE_METHODS,
    TLS_OPTIONS_PER_HOST,
    ROUTE_ALLOWLIST,
    TLS_MIN_VERSION,
    AKS_NETWORK_POLICY,
    AKS_HARDENED,
    K8S_SECRET_IS_PULUMI_SECRET,
    CONNECTOR_WORKLOAD_IDENTITY,
]
