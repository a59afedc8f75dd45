"""The Kubernetes part of `python -m brickwall audit`: does the ingress tier's cluster still match the plan?

Read-only. The expected objects are the plan's own Kubernetes objects (its `kubernetes:*` resources, read as
manifests by brickwall/export.py `kubernetes_manifests`; the tier's objects are built in components/ingress.py from
components/planning/ingress.py). The live side is read with the official `kubernetes` client (37.0.2), each list
once per namespace, paged with `limit`/`continue` (the API's chunked lists,
https://kubernetes.io/docs/reference/using-api/api-concepts/#retrieving-large-results-sets-in-chunks):

    NetworkPolicies  GET /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies
                     NetworkingV1Api.list_namespaced_network_policy
    Traefik objects  GET /apis/traefik.io/v1alpha1/namespaces/{ns}/{ingressroutes,middlewares}
                     CustomObjectsApi.list_namespaced_custom_object (the group and version components/ingress.py
                     TRAEFIK_API gives its objects; Traefik v3 no longer serves the v2 group traefik.containo.us,
                     https://gitlab.com/gitlab-org/charts/gitlab/-/issues/5488 quoting the v3.0.0 release)
    Secrets          GET /api/v1/namespaces/{ns}/secrets, metadata only (see below)

Namespaces: the tier's, i.e. the namespaces the plan creates and those it puts NetworkPolicies or routes in. Secrets
are only looked at in the namespaces the plan creates (`default` holds other people's Secrets).

Secret values are never read into a finding and never printed. The Secret list asks the API server for metadata
only (`Accept: application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1`, the server-side conversion
client-go's metadata-only client asks for, kubernetes/client-go metadata/metadata.go), and keeps only each item's
name and labels from whatever comes back, so
even a server that ignores the header and sends `data` has it dropped at once. RBAC cannot tell the two apart:
`list` on secrets grants the values as well (docs/audit.md "Kubernetes").

Findings (brickwall.audit.Finding, severities brickwall.audit.HIGH/MEDIUM/LOW):
    networkpolicy-missing     HIGH for a default deny (empty podSelector, no rules), MEDIUM for an allow
    networkpolicy-changed     HIGH (an edited policy may let more through than the plan reasoned about)
    networkpolicy-undeclared  MEDIUM (added by hand: NetworkPolicies only add allowed traffic)
    route-missing             MEDIUM (the route does not serve: an outage, not an exposure)
    route-changed             HIGH when a route lost an allowlist or authentication middleware, else MEDIUM
    route-undeclared          HIGH when it carries no allowlist or authentication middleware, else MEDIUM
    middleware-changed / -missing  HIGH for an allowlist or authentication middleware, else MEDIUM
    secret-undeclared         MEDIUM (names only)
    secret-missing            MEDIUM

Errors: a refused or malformed read raises brickwall.audit.Unreadable, one line per list naming the RBAC verb and
resource to grant; a cluster that does not answer raises brickwall.audit.Unreachable.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from brickwall import planfile
from brickwall.audit import HIGH, MEDIUM, SEVERITIES, Finding, Unreachable, Unreadable
from brickwall.export import kubernetes_manifests

if TYPE_CHECKING:  # imported where used: the rest of brickwall runs without the kubernetes package
    from kubernetes.client import ApiClient

TRAEFIK_GROUP, TRAEFIK_VERSION = "traefik.io", "v1alpha1"  # = components/ingress.py TRAEFIK_API (a test holds them equal)
TRAEFIK_API = f"{TRAEFIK_GROUP}/{TRAEFIK_VERSION}"
CERT_MANAGER_API = "cert-manager.io/v1"
PAGE = 250
# Server-side conversion to metadata only (apimachinery meta/v1 PartialObjectMetadataList).
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
# Helm keeps each release revision in a Secret `sh.helm.release.v1.<release>.v<n>` labelled owner=helm,
# name=<release> (helm/helm pkg/storage/driver/secrets.go newSecretsObject).
HELM_OWNER_LABEL, HELM_NAME_LABEL = "owner", "name"
# cert-manager keeps a renewal's new key in a temporary Secret labelled so (cert-manager
# pkg/apis/certmanager/v1/types.go IsNextPrivateKeySecretLabelKey), and its webhook's self-made serving CA in
# `cert-manager-webhook-ca` in its own namespace (chart: --dynamic-serving-ca-secret-name=cert-manager-webhook-ca).
NEXT_PRIVATE_KEY_LABEL = "cert-manager.io/next-private-key"
WEBHOOK_CA_SECRET = "cert-manager-webhook-ca"
# What to grant when a list is refused: resource (API group) per list.
GRANT = {
    "networkpolicies": "list networkpolicies (apiGroup networking.k8s.io)",
    "ingressroutes": f"list ingressroutes (apiGroup {TRAEFIK_GROUP})",
    "middlewares": f"list middlewares (apiGroup {TRAEFIK_GROUP})",
    "secrets": "list secrets (apiGroup \"\", core)",
}


# --- what the plan expects ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Planned:
    namespaces: tuple[str, ...]  # every namespace looked at, sorted
    secret_namespaces: tuple[str, ...]  # the namespaces the plan creates
    network_policies: dict[tuple[str, str], dict[str, Any]]  # (ns, name) -> spec
    routes: dict[tuple[str, str], dict[str, Any]]
    middlewares: dict[tuple[str, str], dict[str, Any]]
    secrets: frozenset[tuple[str, str]]  # Secrets the plan creates itself
    referenced_secrets: frozenset[tuple[str, str]]  # Secrets its objects name (cert-manager, Traefik)
    helm_releases: frozenset[tuple[str, str]]  # (ns, release)
    guards: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # allowlist / auth middlewares


def _key(m: Mapping[str, Any]) -> tuple[str, str]:
    md = m.get("metadata") or {}
    return str(md.get("namespace") or "default"), str(md.get("name"))


def is_guard(spec: Mapping[str, Any]) -> bool:
    """An allowlist or an authentication middleware (Traefik ipAllowList, the deprecated ipWhiteList, forwardAuth,
    basicAuth, digestAuth: https://doc.traefik.io/traefik/middlewares/http/overview/)."""
    return any(k in spec for k in ("ipAllowList", "ipWhiteList", "forwardAuth", "basicAuth", "digestAuth"))


def planned(plan: Mapping[str, Any], cert_manager_namespace: str = "cert-manager") -> Planned:
    manifests = kubernetes_manifests(planfile.to_recording(dict(plan)))
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for m in manifests:
        by_kind.setdefault(f"{m['apiVersion']}/{m['kind']}", []).append(m)

    def of(api_kind: str) -> list[dict[str, Any]]:
        return by_kind.get(api_kind, [])

    created = sorted(str(m["metadata"]["name"]) for m in of("v1/Namespace"))
    netpols = {_key(m): dict(m.get("spec") or {}) for m in of("networking.k8s.io/v1/NetworkPolicy")}
    routes = {_key(m): dict(m.get("spec") or {}) for m in of(f"{TRAEFIK_API}/IngressRoute")}
    middlewares = {_key(m): dict(m.get("spec") or {}) for m in of(f"{TRAEFIK_API}/Middleware")}
    secrets = frozenset(_key(m) for m in of("v1/Secret"))
    refs: set[tuple[str, str]] = set()
    for m in of(f"{CERT_MANAGER_API}/Certificate"):
        ns, _ = _key(m)
        if name := (m.get("spec") or {}).get("secretName"):
            refs.add((ns, name))
    for m in of(f"{CERT_MANAGER_API}/Issuer") + of(f"{CERT_MANAGER_API}/ClusterIssuer"):
        # A ClusterIssuer's Secrets live in cert-manager's "cluster resource namespace" (its own by default).
        ns = _key(m)[0] if m["kind"] == "Issuer" else cert_manager_namespace
        spec = m.get("spec") or {}
        if name := ((spec.get("acme") or {}).get("privateKeySecretRef") or {}).get("name"):
            refs.add((ns, name))
        if name := (spec.get("ca") or {}).get("secretName"):
            refs.add((ns, name))
    for m in of(f"{TRAEFIK_API}/TLSOption"):
        ns = _key(m)[0]
        refs.update((ns, n) for n in ((m.get("spec") or {}).get("clientAuth") or {}).get("secretNames") or ())
    for m in of(f"{TRAEFIK_API}/ServersTransport"):
        ns, spec = _key(m)[0], m.get("spec") or {}
        refs.update((ns, r["secret"]) for r in spec.get("rootCAs") or () if isinstance(r, dict) and r.get("secret"))
        refs.update((ns, n) for n in spec.get("certificatesSecrets") or ())
    for key, spec in routes.items():
        if name := (spec.get("tls") or {}).get("secretName"):
            refs.add((key[0], name))
    helm = set()
    for r in plan.get("resources", []):
        if r.get("type", "").startswith("kubernetes:helm.sh/") and r.get("custom", True):
            i = r.get("inputs") or {}
            helm.add((str(i.get("namespace") or "default"), str(i.get("name") or r.get("name"))))
    if cert_manager_namespace in created:
        refs.add((cert_manager_namespace, WEBHOOK_CA_SECRET))
    namespaces = sorted(set(created) | {k[0] for k in netpols} | {k[0] for k in routes} | {k[0] for k in middlewares})
    return Planned(namespaces=tuple(namespaces), secret_namespaces=tuple(created), network_policies=netpols,
                   routes=routes, middlewares=middlewares, secrets=secrets, referenced_secrets=frozenset(refs),
                   helm_releases=frozenset(helm),
                   guards=frozenset(k for k, spec in middlewares.items() if is_guard(spec)))


# --- what the cluster holds -----------------------------------------------------------------------------------------

@dataclass
class LiveCluster:
    network_policies: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    routes: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    middlewares: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    secrets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)  # (ns, name) -> labels, nothing else


def make_api(kubeconfig_path: str | None, context: str | None) -> ApiClient:
    """An ApiClient from a kubeconfig (the file given, else $KUBECONFIG or ~/.kube/config, its `context` or the
    current one), or from the pod's service account when neither is there (kubernetes.config.load_incluster_config).
    The client's own loaders: kubernetes/config/kube_config.py new_client_from_config."""

    from kubernetes import client, config

    default = os.path.expanduser(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0])
    if kubeconfig_path is None and not os.path.exists(default) and os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    return config.new_client_from_config(config_file=kubeconfig_path, context=context)


def _status_message(exc: Any) -> str:
    """The Kubernetes Status message of an ApiException body (never a Secret: error bodies carry none)."""
    try:
        body = json.loads(exc.body or "")
        if isinstance(body, dict) and body.get("message"):
            return " ".join(str(body["message"]).split())[:300]
    except (TypeError, ValueError):
        pass
    return f"{exc.status} {exc.reason or ''}".strip()


def _why(exc: BaseException) -> str:
    """Why the API server did not answer, in a few words (urllib3 wraps the cause in MaxRetryError.reason)."""
    text = f"{exc} {getattr(exc, 'reason', '')}"
    if "CERTIFICATE_VERIFY_FAILED" in text:
        return "its TLS certificate is not trusted (the kubeconfig's certificate-authority names the CA to trust)"
    if found := re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text):
        return found.group(1).strip().rstrip(".")
    return type(getattr(exc, "reason", None) or exc).__name__


def _pages(fetch: Callable[[str | None], tuple[list[Any], str | None]]) -> list[Any]:
    items: list[Any] = []
    token: str | None = None
    while True:
        page, token = fetch(token)
        items += page
        if not token:
            return items


def read_cluster(api: ApiClient, plan: Planned, progress: Callable[[str], None] = lambda _: None) -> LiveCluster:
    """Every list once per namespace. Raises Unreachable, or Unreadable with one line per refused list."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    net = client.NetworkingV1Api(api)
    custom = client.CustomObjectsApi(api)
    live = LiveCluster()
    problems: list[str] = []

    def policies(ns: str) -> None:
        def fetch(token: str | None) -> tuple[list[Any], str | None]:
            resp = net.list_namespaced_network_policy(ns, limit=PAGE, _continue=token)
            # The generated deserializer of kubernetes 33.x lets a wrong-shaped `items` through: check it here.
            # (a string of items comes back as one empty model per character): every item must name itself.
            if not isinstance(resp.items, list) or not all(isinstance(i, client.V1NetworkPolicy) and i.metadata
                                                           and i.metadata.name for i in resp.items):
                raise ValueError("not a list of networkpolicies")
            # The list's continue token: `_continue` in the client's generated models (kubernetes 33.x), `var_continue`
            # in later ones.
            meta = resp.metadata
            token = (getattr(meta, "var_continue", None) or getattr(meta, "_continue", None)) if meta else None
            return list(resp.items or []), token
        for item in _pages(fetch):
            d = api.sanitize_for_serialization(item)
            live.network_policies[_key(d)] = d.get("spec") or {}

    def customs(ns: str, plural: str, into: dict[tuple[str, str], dict[str, Any]]) -> None:
        def fetch(token: str | None) -> tuple[list[Any], str | None]:
            body = custom.list_namespaced_custom_object(TRAEFIK_GROUP, TRAEFIK_VERSION, ns, plural, limit=PAGE,
                                                        _continue=token)
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise ValueError(f"not a list of {plural}")
            return body["items"], (body.get("metadata") or {}).get("continue")
        for item in _pages(fetch):
            if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
                raise ValueError(f"an item of {plural} without metadata")
            into[_key(item)] = item.get("spec") or {}

    def secrets(ns: str) -> None:
        def fetch(token: str | None) -> tuple[list[Any], str | None]:
            # Unparsed (_preload_content=False: the urllib3 response), so no V1Secret model is ever built.
            # The client's generic call_api (kubernetes 33.x's generated list methods take no custom headers): the
            # same GET /api/v1/namespaces/{ns}/secrets with the metadata-only Accept header, bearer auth as configured.
            query: list[tuple[str, Any]] = [("limit", PAGE)] + ([("continue", token)] if token else [])
            resp: Any = api.call_api(f"/api/v1/namespaces/{ns}/secrets", "GET", query_params=query,
                                     header_params={"Accept": METADATA_ONLY}, auth_settings=["BearerToken"],
                                     _preload_content=False, _return_http_data_only=True)
            body = json.loads(resp.data)
            if not isinstance(body, dict) or not isinstance(body.get("items"), list):
                raise ValueError("not a list of secrets")
            # Names and labels only, whatever else came back: `data` and `stringData` go with `body` here.
            items = [{"name": str(i["metadata"]["name"]), "labels": dict(i["metadata"].get("labels") or {})}
                     for i in body["items"]]
            return items, (body.get("metadata") or {}).get("continue")
        for item in _pages(fetch):
            live.secrets[(ns, item["name"])] = {str(k): str(v) for k, v in item["labels"].items()}

    reads: list[tuple[str, str, Callable[[], None]]] = []
    for ns in plan.namespaces:
        reads.append(("networkpolicies", ns, partial(policies, ns)))
        reads.append(("ingressroutes", ns, partial(customs, ns, "ingressroutes", live.routes)))
        reads.append(("middlewares", ns, partial(customs, ns, "middlewares", live.middlewares)))
    for ns in plan.secret_namespaces:
        reads.append(("secrets", ns, partial(secrets, ns)))
    def attempt(resource: str, ns: str, do: Callable[[], None]) -> str | None:
        """None when read; else the one line saying why not. Unreachable propagates."""
        progress(f"kubernetes: {resource} in {ns}")
        try:
            do()
        except ApiException as e:
            if e.status in (401, 403):
                return (f"kubernetes {resource} in namespace {ns}: {e.status} {_status_message(e)}; grant "
                        f"{GRANT[resource]} in namespace {ns} (docs/audit.md \"Kubernetes\")")
            if e.status == 404 and resource in ("ingressroutes", "middlewares"):
                return (f"kubernetes {resource} in namespace {ns}: the API server does not serve {TRAEFIK_API} "
                        f"{resource} (are Traefik's CRDs installed?)")
            return f"kubernetes {resource} in namespace {ns}: {_status_message(e)}"
        except HTTPError as e:
            raise Unreachable(f"the Kubernetes API server does not answer: {_why(e)}") from None
        except (ValueError, KeyError, TypeError) as e:  # pydantic's ValidationError is a ValueError
            return f"kubernetes {resource} in namespace {ns}: the answer is not the API's shape ({type(e).__name__})"
        return None

    # In parallel: the client's urllib3 PoolManager is thread-safe, and each read fills its own keys.
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(reads) or 1)) as pool:
        answers = list(pool.map(lambda r: attempt(*r), reads))
    problems += [a for a in answers if a]
    if problems:
        raise Unreadable(problems)
    return live


# --- comparing -----------------------------------------------------------------------------------------------------

def _clean(value: Any) -> Any:
    """Empty and null fields dropped from maps (an absent list and an empty one mean the same to the API); list
    items kept as they are, empty ones too (an `ingress: [{}]` rule admits everything)."""
    if isinstance(value, dict):
        out = {k: _clean(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def netpol_canonical(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A NetworkPolicy spec with the API server's defaults applied, as the stored object has them: a port's protocol
    TCP, policyTypes Ingress plus Egress when there are egress rules (k8s.io/api networking/v1 types.go
    NetworkPolicyPort.Protocol "If not specified, this field defaults to TCP", NetworkPolicySpec.PolicyTypes)."""
    s = _clean(dict(spec))
    for direction in ("ingress", "egress"):
        for rule in s.get(direction, []):
            for port in rule.get("ports", []) if isinstance(rule, dict) else []:
                port.setdefault("protocol", "TCP")
    if "policyTypes" not in s:
        s["policyTypes"] = ["Ingress", *(["Egress"] if "egress" in s else [])]
    s["policyTypes"] = sorted(s["policyTypes"])
    return s


def is_default_deny(spec: Mapping[str, Any]) -> bool:
    s = netpol_canonical(spec)
    return not s.get("podSelector") and "ingress" not in s and "egress" not in s


def _summary(spec: Mapping[str, Any]) -> str:
    s = netpol_canonical(spec)
    if is_default_deny(s):
        return f"default deny of {'+'.join(s['policyTypes'])} for every pod"
    return (f"{'+'.join(s['policyTypes'])} for {json.dumps(s.get('podSelector') or {}, sort_keys=True)}: "
            f"{len(s.get('ingress', []))} ingress rule(s), {len(s.get('egress', []))} egress rule(s)")


def _diff(want: Any, have: Any, path: str = "") -> list[str]:
    """Where two JSON values differ, as `path: want -> have` (values shown: no Secret goes through here)."""
    if isinstance(want, dict) and isinstance(have, dict):
        out: list[str] = []
        for k in sorted(set(want) | set(have)):
            out += _diff(want.get(k), have.get(k), f"{path}.{k}" if path else k)
        return out
    if isinstance(want, list) and isinstance(have, list) and len(want) == len(have):
        return [d for i, (a, b) in enumerate(zip(want, have, strict=True)) for d in _diff(a, b, f"{path}[{i}]")]
    if want == have:
        return []
    return [f"{path}: {json.dumps(want, sort_keys=True)} -> {json.dumps(have, sort_keys=True)}"]


def _brief(lines: list[str], limit: int = 4) -> str:
    return "; ".join(lines[:limit]) + (f"; and {len(lines) - limit} more" if len(lines) > limit else "")


_HOST = re.compile(r"Host(?:SNI)?\(([^)]*)\)")
_PATH = re.compile(r"Path(?:Prefix|Regexp)?\(([^)]*)\)")


def _ticks(text: str) -> list[str]:
    return re.findall(r"`([^`]*)`", text)


def _route_view(ns: str, spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per rule: hosts, paths, middlewares (namespace-qualified: a reference without one is the route's own,
    https://doc.traefik.io/traefik/routing/providers/kubernetes-crd/#kind-ingressroute), services."""
    view = []
    for r in spec.get("routes") or ():
        match = str(r.get("match", ""))
        view.append({
            "match": match,
            "hosts": sorted({h for m in _HOST.findall(match) for h in _ticks(m)}),
            "paths": sorted({p for m in _PATH.findall(match) for p in _ticks(m)}),
            "middlewares": [(str(m.get("namespace") or ns), str(m.get("name"))) for m in r.get("middlewares") or ()],
            "services": _clean(r.get("services") or []),
        })
    return view


def _route_text(ns: str, spec: Mapping[str, Any]) -> str:
    parts = []
    for v in _route_view(ns, spec):
        mws = ", ".join(f"{m[0]}/{m[1]}" for m in v["middlewares"]) or "none"
        parts.append(f"{' '.join(v['hosts']) or '(any host)'} {' '.join(v['paths']) or '/'} via {mws}")
    return "; ".join(parts) or "no routes"


def compare_cluster(plan: Planned, live: LiveCluster) -> list[Finding]:
    out: list[Finding] = []
    # NetworkPolicies.
    for key, want in sorted(plan.network_policies.items()):
        what = f"NetworkPolicy {key[0]}/{key[1]}"
        have = live.network_policies.get(key)
        deny = is_default_deny(want)
        if have is None:
            out.append(Finding("networkpolicy-missing", HIGH if deny else MEDIUM, what, _summary(want),
                               "no NetworkPolicy of that name" + (": the namespace's default deny is gone" if deny else "")))
        elif netpol_canonical(want) != netpol_canonical(have):
            out.append(Finding("networkpolicy-changed", HIGH, what, _summary(want),
                               _brief(_diff(netpol_canonical(want), netpol_canonical(have)))))
    for key, have in sorted(live.network_policies.items()):
        if key not in plan.network_policies:
            out.append(Finding("networkpolicy-undeclared", MEDIUM, f"NetworkPolicy {key[0]}/{key[1]}",
                               "no such NetworkPolicy (not in the plan)", _summary(have)))
    # Middlewares: only the planned ones are compared (a hand-made one does nothing until a route uses it).
    for key, want in sorted(plan.middlewares.items()):
        what = f"Middleware {key[0]}/{key[1]}"
        have_mw = live.middlewares.get(key)
        severity = HIGH if is_guard(want) else MEDIUM
        if have_mw is None:
            out.append(Finding("middleware-missing", severity, what, json.dumps(want, sort_keys=True), "no Middleware of that name"))
        elif _clean(want) != _clean(have_mw):
            out.append(Finding("middleware-changed", severity, what, json.dumps(_clean(want), sort_keys=True),
                               _brief(_diff(_clean(want), _clean(have_mw)))))
    # IngressRoutes.
    for key, want in sorted(plan.routes.items()):
        what = f"IngressRoute {key[0]}/{key[1]}"
        have = live.routes.get(key)
        if have is None:
            out.append(Finding("route-missing", MEDIUM, what, _route_text(key[0], want), "no IngressRoute of that name"))
            continue
        want_v, have_v = _route_view(key[0], want), _route_view(key[0], have)
        if _clean(want) == _clean(have):
            continue
        lost = sorted({m for r in want_v for m in r["middlewares"] if m in plan.guards}
                      - {m for r in have_v for m in r["middlewares"]})
        # A guard missing from any rule that had it opens that rule, even if another rule still carries it.
        lost_per_rule = [m for i, r in enumerate(want_v) for m in r["middlewares"] if m in plan.guards
                         and (i >= len(have_v) or m not in have_v[i]["middlewares"])]
        severity = HIGH if lost or lost_per_rule else MEDIUM
        actual = _route_text(key[0], have)
        if lost or lost_per_rule:
            actual += "; lost " + ", ".join(f"{n}/{m}" for n, m in sorted(set(lost) | set(lost_per_rule)))
        else:
            actual += "; " + _brief(_diff(_clean(want), _clean(have)), 2)
        out.append(Finding("route-changed", severity, what, _route_text(key[0], want), actual))
    for key, have in sorted(live.routes.items()):
        if key in plan.routes:
            continue
        # Only the plan's guards count: a hand-made allowlist is not compared with anything.
        guarded = all(any(m in plan.guards for m in r["middlewares"]) for r in _route_view(key[0], have))
        out.append(Finding("route-undeclared", MEDIUM if guarded else HIGH, f"IngressRoute {key[0]}/{key[1]}",
                           "no such route (not in the plan)",
                           _route_text(key[0], have) + ("" if guarded else ": no allowlist or authentication middleware")))
    # Secrets: names only.
    declared = plan.secrets | plan.referenced_secrets
    for key in sorted(plan.secrets):
        if key[0] in plan.secret_namespaces and key not in live.secrets:
            out.append(Finding("secret-missing", MEDIUM, f"Secret {key[0]}/{key[1]}", "the planned Secret", "no Secret of that name"))
    for key, labels in sorted(live.secrets.items()):
        if key in declared or _managed_secret(plan, key, labels):
            continue
        out.append(Finding("secret-undeclared", MEDIUM, f"Secret {key[0]}/{key[1]}",
                           "no such Secret (the plan neither creates nor references it)", "present (value not read)"))
    return sorted(out, key=lambda f: (SEVERITIES.index(f.severity), f.kind, f.object))


def _managed_secret(plan: Planned, key: tuple[str, str], labels: Mapping[str, str]) -> bool:
    """A Secret a planned controller keeps for itself: a planned Helm release's revision, cert-manager's next key."""
    if labels.get(HELM_OWNER_LABEL) == "helm" and (key[0], labels.get(HELM_NAME_LABEL, "")) in plan.helm_releases:
        return True
    return labels.get(NEXT_PRIVATE_KEY_LABEL) == "true"


def kubernetes_findings(plan: dict[str, Any], api: ApiClient,
                        progress: Callable[[str], None] = lambda _: None) -> list[Finding]:
    """The entry point: the plan's Kubernetes objects against the cluster `api` (a kubernetes.client.ApiClient)
    talks to. No Kubernetes objects in the plan (the tier is off): no reads, no findings."""
    p = planned(plan)
    if not p.namespaces:
        return []
    return compare_cluster(p, read_cluster(api, p, progress))


def counts(live: LiveCluster) -> dict[str, int]:
    return {"network_policies": len(live.network_policies), "ingress_routes": len(live.routes),
            "middlewares": len(live.middlewares), "secrets": len(live.secrets)}


__all__ = ("compare_cluster", "kubernetes_findings", "make_api", "planned", "read_cluster")
