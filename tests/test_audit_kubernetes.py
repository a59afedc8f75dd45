"""The Kubernetes part of the audit: the real `kubernetes` ApiClient (made by `make_api` from a kubeconfig) against a
local HTTPS API server.

The server (127.0.0.1, TLS with a throwaway CA named in the kubeconfig's certificate-authority, bearer token) serves
list responses shaped as the API server's (kind `<Kind>List`, apiVersion, metadata.resourceVersion/continue, items;
custom objects as the API server serves CRDs; Secrets as `PartialObjectMetadataList` when asked for metadata only),
pages every list two items at a time, and answers 401 without the token and a Kubernetes `Status` for 403. Its
objects are the session's rendering of prod (conftest `prod_plan`) as the API server stores them (uid,
resourceVersion, creationTimestamp added), plus what controllers add (Helm's release Secrets, cert-manager's issued
certificates and webhook CA), so the clean cluster follows the planners. Nothing patches the client.
"""

from __future__ import annotations

import copy
import http.server
import json
import uuid
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from kubernetes import client

from brickwall import audit, planfile
from brickwall import audit_kubernetes as ak
from brickwall.export import kubernetes_manifests
from tests.tls import certificates, serving

TOKEN = "k8s-audit-fixture-bearer-token-0123456789"
PLANTED = "fixture-k8s-secret-value-DO-NOT-PRINT"
PAGE = 2
NS_PATH = {  # list path (after /namespaces/{ns}/) -> (API prefix, list kind, list apiVersion)
    "networkpolicies": ("/apis/networking.k8s.io/v1", "NetworkPolicyList", "networking.k8s.io/v1"),
    "ingressroutes": ("/apis/traefik.io/v1alpha1", "IngressRouteList", "traefik.io/v1alpha1"),
    "middlewares": ("/apis/traefik.io/v1alpha1", "MiddlewareList", "traefik.io/v1alpha1"),
    "secrets": ("/api/v1", "SecretList", "v1"),
}
KIND_PLURAL = {"NetworkPolicy": "networkpolicies", "IngressRoute": "ingressroutes", "Middleware": "middlewares",
               "Secret": "secrets"}


def _stored(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as the API server returns it: server-set metadata added, a Secret's stringData folded into data."""
    o = copy.deepcopy(obj)
    o["metadata"] = {**o["metadata"], "uid": str(uuid.uuid4()), "resourceVersion": "4711", "generation": 1,
                     "creationTimestamp": "2026-11-30T10:00:00Z"}
    if o["kind"] == "Secret":
        o["data"] = {k: "W3NlY3JldF0=" for k in o.pop("stringData", {})}  # base64 of "[secret]"
    return o


def _secret(ns: str, name: str, labels: dict[str, str] | None = None, type_: str = "Opaque",
            value: str = "c2VjcmV0") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, **({"labels": labels} if labels else {})}
    return _stored({"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": type_, "data": {"key": value}})


def clean_cluster(plan: dict[str, Any]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """(namespace, plural) -> the stored objects, for a cluster that holds exactly what the plan declared."""
    state: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for m in kubernetes_manifests(planfile.to_recording(plan)):
        if m["kind"] in KIND_PLURAL:
            state.setdefault((m["metadata"]["namespace"], KIND_PLURAL[m["kind"]]), []).append(_stored(m))
    p = ak.planned(plan)
    for ns, name in sorted(p.referenced_secrets):  # issued by cert-manager, or given by the operator (client CA)
        state.setdefault((ns, "secrets"), []).append(_secret(ns, name, type_="kubernetes.io/tls"))
    for ns, release in sorted(p.helm_releases):  # helm/helm pkg/storage/driver/secrets.go
        state.setdefault((ns, "secrets"), []).append(
            _secret(ns, f"sh.helm.release.v1.{release}.v1", {"owner": "helm", "name": release, "status": "deployed",
                                                             "version": "1"}, type_="helm.sh/release.v1"))
    return state


class Cluster:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.clean = clean_cluster(plan)
        self.state = copy.deepcopy(self.clean)
        self.forbidden: set[tuple[str, str]] = set()
        self.malformed: set[tuple[str, str]] = set()
        self.without_traefik = False  # Traefik's CRDs not installed: its paths 404
        self.honour_metadata_only = True
        self.requests: list[tuple[str, str, str]] = []  # path, query, Accept

    def reset(self) -> None:
        self.state, self.forbidden, self.malformed, self.honour_metadata_only = copy.deepcopy(self.clean), set(), set(), True
        self.without_traefik = False
        self.requests.clear()

    def items(self, ns: str, plural: str) -> list[dict[str, Any]]:
        return self.state.setdefault((ns, plural), [])

    def find(self, ns: str, plural: str, name: str) -> dict[str, Any]:
        return next(o for o in self.items(ns, plural) if o["metadata"]["name"] == name)


def _handler(c: Cluster) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _status(self, code: int, reason: str, message: str) -> None:
            # meta/v1 Status, as the API server answers errors.
            self._send(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                              "message": message, "reason": reason, "code": code})

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            c.requests.append((url.path, url.query, self.headers.get("Accept", "")))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._status(401, "Unauthorized", "Unauthorized")
            parts = url.path.split("/namespaces/")
            if len(parts) != 2 or len(parts[1].split("/")) != 2:
                return self._status(404, "NotFound", "the server could not find the requested resource")
            ns, plural = parts[1].split("/")
            prefix, list_kind, api_version = NS_PATH.get(plural, ("", "", ""))
            if parts[0] != prefix or (c.without_traefik and "traefik.io" in prefix):
                return self._status(404, "NotFound", "the server could not find the requested resource")
            if (ns, plural) in c.forbidden:
                group = prefix.split("/")[2] if prefix.startswith("/apis/") else ""
                return self._status(403, "Forbidden", f'{plural}{"." + group if group else ""} is forbidden: User '
                                    f'"system:serviceaccount:audit:auditor" cannot list resource "{plural}" in API '
                                    f'group "{group}" in the namespace "{ns}"')
            if (ns, plural) in c.malformed:
                return self._send(200, {"kind": list_kind, "apiVersion": api_version, "items": "not a list"})
            every = c.items(ns, plural)
            start = int(query.get("continue", "0"))
            limit = min(int(query.get("limit", "500")), PAGE)
            page = every[start:start + limit]
            meta: dict[str, Any] = {"resourceVersion": "4712"}
            if start + limit < len(every):
                meta["continue"] = str(start + limit)
            if plural == "secrets" and c.honour_metadata_only and "as=PartialObjectMetadataList" in self.headers.get("Accept", ""):
                return self._send(200, {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                                        "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                                   "metadata": o["metadata"]} for o in page]})
            return self._send(200, {"kind": list_kind, "apiVersion": api_version, "metadata": meta, "items": page})

    return Handler


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, prod_plan: dict) -> Iterator[tuple[Cluster, Path]]:
    tmp = tmp_path_factory.mktemp("audit-k8s")
    ca, cert, key = certificates(tmp)
    cluster = Cluster(prod_plan)
    with serving(_handler(cluster), cert, key) as url:
        kubeconfig = tmp / "kubeconfig"
        kubeconfig.write_text(json.dumps({  # YAML is a superset of JSON
            "apiVersion": "v1", "kind": "Config", "current-context": "other",
            "clusters": [{"name": "loopback", "cluster": {"server": url,
                                                          "certificate-authority": str(ca)}},
                         {"name": "nowhere", "cluster": {"server": "https://127.0.0.1:1"}}],
            "users": [{"name": "auditor", "user": {"token": TOKEN}}],
            "contexts": [{"name": "prod", "context": {"cluster": "loopback", "user": "auditor"}},
                         {"name": "other", "context": {"cluster": "nowhere", "user": "auditor"}}],
        }))
        yield cluster, kubeconfig


@pytest.fixture
def cluster(server: tuple[Cluster, Path]) -> Cluster:
    server[0].reset()
    return server[0]


@pytest.fixture
def api(server: tuple[Cluster, Path]) -> Any:
    return ak.make_api(str(server[1]), "prod")


def _report(findings: list[audit.Finding]) -> str:
    report = audit.Report(stack="prod", host="cluster", findings=findings, counts={}, notes=[])
    return audit.render_text(report) + audit.render_markdown(report) + json.dumps(report.to_json())


def _by(findings: list[audit.Finding], kind: str) -> dict[str, audit.Finding]:
    return {f.object: f for f in findings if f.kind == kind}


def test_reads_the_group_the_program_writes() -> None:
    from components.ingress import TRAEFIK_API

    assert TRAEFIK_API == ak.TRAEFIK_API


# --- the fixtures are the API's shape ---------------------------------------------------------------------------

def test_fixtures_are_shaped_as_the_client_models(cluster: Cluster) -> None:
    """Every served NetworkPolicy and Secret parses as the client's own models (extra fields forbidden would fail)."""
    class Response:  # what ApiClient.deserialize reads: the body as text
        def __init__(self, body: dict[str, Any]) -> None:
            self.data = json.dumps(body)

    def parse(body: dict[str, Any], model: str) -> Any:
        return client.ApiClient().deserialize(Response(body), model)

    for (ns, plural), items in cluster.state.items():
        if plural == "networkpolicies":
            policies = parse({"kind": "NetworkPolicyList", "apiVersion": "networking.k8s.io/v1", "metadata": {}, "items": items},
                             "V1NetworkPolicyList")
            assert policies is not None
            assert [i.metadata.name for i in policies.items if i.metadata] == [i["metadata"]["name"] for i in items]
        if plural == "secrets":
            secrets = parse({"kind": "SecretList", "apiVersion": "v1", "metadata": {}, "items": items}, "V1SecretList")
            assert secrets is not None
            assert [i.metadata.namespace for i in secrets.items if i.metadata] == [ns] * len(items)


# --- clean ----------------------------------------------------------------------------------------------------------

def test_clean_cluster_has_no_findings(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    assert ak.kubernetes_findings(prod_plan, api) == []
    paths = {p for p, _, _ in cluster.requests}
    p = ak.planned(prod_plan)
    for ns in p.namespaces:
        assert f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies" in paths
        assert f"/apis/traefik.io/v1alpha1/namespaces/{ns}/ingressroutes" in paths
    assert {f"/api/v1/namespaces/{ns}/secrets" for ns in p.secret_namespaces} <= paths
    assert "/api/v1/namespaces/default/secrets" not in paths  # other people's Secrets are not listed
    # Paged: the 15 planned NetworkPolicies come two at a time, each page asked for with the previous continue token.
    assert any("continue=2" in q for p_, q, _ in cluster.requests if p_.endswith("/ingress/networkpolicies"))
    # Secrets asked for as metadata only.
    assert all("as=PartialObjectMetadataList" in accept for p_, _, accept in cluster.requests if p_.endswith("/secrets"))


def test_tier_off_reads_nothing(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    no_k8s = {**prod_plan, "resources": [r for r in prod_plan["resources"] if not r["type"].startswith("kubernetes:")]}
    assert ak.kubernetes_findings(no_k8s, api) == []
    assert cluster.requests == []


# --- drift ----------------------------------------------------------------------------------------------------------

def test_network_policy_drift(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    cluster.state[("ingress", "networkpolicies")] = [o for o in cluster.items("ingress", "networkpolicies")
                                                     if o["metadata"]["name"] != "default-deny"]
    cluster.state[("databricks-apps", "networkpolicies")] = [o for o in cluster.items("databricks-apps", "networkpolicies")
                                                             if o["metadata"]["name"] != "allow-dns"]
    traefik = cluster.find("ingress", "networkpolicies", "traefik")
    traefik["spec"]["egress"].append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]})
    cluster.items("databricks-apps", "networkpolicies").append(_stored({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "allow-all", "namespace": "databricks-apps"},
        "spec": {"podSelector": {}, "ingress": [{}], "policyTypes": ["Ingress"]}}))
    findings = ak.kubernetes_findings(prod_plan, api)
    missing = _by(findings, "networkpolicy-missing")
    assert missing["NetworkPolicy ingress/default-deny"].severity == audit.HIGH
    assert "default deny is gone" in missing["NetworkPolicy ingress/default-deny"].actual
    assert missing["NetworkPolicy databricks-apps/allow-dns"].severity == audit.MEDIUM
    changed = _by(findings, "networkpolicy-changed")
    assert set(changed) == {"NetworkPolicy ingress/traefik"}
    assert changed["NetworkPolicy ingress/traefik"].severity == audit.HIGH
    assert "0.0.0.0/0" in changed["NetworkPolicy ingress/traefik"].actual
    added = _by(findings, "networkpolicy-undeclared")
    assert set(added) == {"NetworkPolicy databricks-apps/allow-all"}
    assert added["NetworkPolicy databricks-apps/allow-all"].severity == audit.MEDIUM
    assert len(findings) == 4


def test_server_defaults_are_not_drift(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    """A policy written without protocol or policyTypes is stored with the server's defaults: no finding."""
    plan = copy.deepcopy(prod_plan)
    for r in plan["resources"]:
        if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy" and r["inputs"]["metadata"]["name"] == "cert-manager":
            spec = r["inputs"]["spec"]
            spec.pop("policyTypes")
            for rule in spec["ingress"] + spec["egress"]:
                for port in rule["ports"]:
                    port.pop("protocol")
    assert ak.kubernetes_findings(plan, api) == []


def test_route_drift(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    sql = cluster.find("ingress", "ingressroutes", "sql")
    for rule in sql["spec"]["routes"]:  # the allowlist taken off the route
        rule["middlewares"] = [m for m in rule["middlewares"] if m["name"] != "sql-allowlist"]
    jobs = cluster.find("ingress", "ingressroutes", "jobs")
    jobs["spec"]["routes"][0]["match"] = jobs["spec"]["routes"][0]["match"].replace("jobs.data.contoso.com", "jobs.evil.example")
    cluster.items("ingress", "ingressroutes").append(_stored({
        "apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "debug", "namespace": "ingress"},
        "spec": {"entryPoints": ["websecure"], "routes": [{"kind": "Rule", "match": "Host(`debug.data.contoso.com`)",
                                                           "services": [{"name": "jobs-api", "namespace": "databricks-apps", "port": 8443}]}]}}))
    cluster.items("databricks-apps", "ingressroutes").append(_stored({
        "apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "guarded", "namespace": "databricks-apps"},
        "spec": {"routes": [{"kind": "Rule", "match": "Host(`x.data.contoso.com`) && PathPrefix(`/x`)",
                             "middlewares": [{"name": "oauth2-sign-in", "namespace": "ingress"}],
                             "services": [{"name": "sql-gateway", "port": 8443}]}]}}))
    allow = cluster.find("ingress", "middlewares", "jobs-allowlist")
    allow["spec"]["ipAllowList"]["sourceRange"] = ["0.0.0.0/0"]
    findings = ak.kubernetes_findings(prod_plan, api)
    changed = _by(findings, "route-changed")
    assert changed["IngressRoute ingress/sql"].severity == audit.HIGH
    assert "lost ingress/sql-allowlist" in changed["IngressRoute ingress/sql"].actual
    assert changed["IngressRoute ingress/jobs"].severity == audit.MEDIUM
    assert "jobs.evil.example" in changed["IngressRoute ingress/jobs"].actual
    assert "jobs.data.contoso.com" in changed["IngressRoute ingress/jobs"].expected
    added = _by(findings, "route-undeclared")
    assert added["IngressRoute ingress/debug"].severity == audit.HIGH
    assert "no allowlist or authentication middleware" in added["IngressRoute ingress/debug"].actual
    assert added["IngressRoute databricks-apps/guarded"].severity == audit.MEDIUM
    mw = _by(findings, "middleware-changed")
    assert set(mw) == {"Middleware ingress/jobs-allowlist"}
    assert mw["Middleware ingress/jobs-allowlist"].severity == audit.HIGH
    assert "0.0.0.0/0" in mw["Middleware ingress/jobs-allowlist"].actual
    assert len(findings) == 5
    cluster.state[("ingress", "ingressroutes")] = [o for o in cluster.items("ingress", "ingressroutes")
                                                   if o["metadata"]["name"] != "jobs"]
    assert _by(ak.kubernetes_findings(prod_plan, api), "route-missing")["IngressRoute ingress/jobs"].severity == audit.MEDIUM


@pytest.mark.parametrize("honour", [True, False], ids=["metadata-only", "server-ignores-accept"])
def test_undeclared_secret_named_never_its_value(cluster: Cluster, api: Any, prod_plan: dict, honour: bool) -> None:
    import base64

    cluster.honour_metadata_only = honour
    encoded = base64.b64encode(PLANTED.encode()).decode()
    cluster.items("ingress", "secrets").append(_secret("ingress", "hand-made-token", value=encoded))
    cluster.items("databricks-apps", "secrets").append(_secret("databricks-apps", "pat", labels={"note": "x"}, value=encoded))
    cluster.items("ingress", "secrets").append(  # cert-manager's temporary next key: a controller's, not drift
        _secret("ingress", "sql-tls-x7k2p", labels={"cert-manager.io/next-private-key": "true"}))
    cluster.items("ingress", "secrets").append(  # a Helm release the plan does not have
        _secret("ingress", "sh.helm.release.v1.other.v1", labels={"owner": "helm", "name": "other"}))
    cluster.state[("ingress", "secrets")] = [o for o in cluster.items("ingress", "secrets")
                                             if o["metadata"]["name"] != "oauth2-proxy"]
    findings = ak.kubernetes_findings(prod_plan, api)
    undeclared = _by(findings, "secret-undeclared")
    assert set(undeclared) == {"Secret ingress/hand-made-token", "Secret databricks-apps/pat",
                               "Secret ingress/sh.helm.release.v1.other.v1"}
    assert all(f.severity == audit.MEDIUM for f in undeclared.values())
    assert set(_by(findings, "secret-missing")) == {"Secret ingress/oauth2-proxy"}
    out = _report(findings) + repr([asdict(f) for f in findings])
    assert PLANTED not in out and encoded not in out and "W3NlY3JldF0=" not in out


# --- errors ---------------------------------------------------------------------------------------------------------

def test_forbidden_names_the_grant(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    cluster.forbidden = {("ingress", "networkpolicies"), ("ingress", "ingressroutes"), ("ingress", "secrets")}
    with pytest.raises(audit.Unreadable) as exc:
        ak.kubernetes_findings(prod_plan, api)
    lines = exc.value.lines
    assert len(lines) == 3
    assert any("networkpolicies in namespace ingress: 403" in line and "grant list networkpolicies (apiGroup networking.k8s.io)" in line
               for line in lines)
    assert any("grant list ingressroutes (apiGroup traefik.io)" in line for line in lines)
    assert any("grant list secrets" in line and 'cannot list resource "secrets"' in line for line in lines)
    assert all("\n" not in line for line in lines)


def test_malformed_answer_is_unreadable(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    cluster.malformed = {("ingress", "networkpolicies"), ("ingress", "middlewares"), ("ingress", "secrets")}
    with pytest.raises(audit.Unreadable) as exc:
        ak.kubernetes_findings(prod_plan, api)
    assert len(exc.value.lines) == 3
    assert all("not the API's shape" in line for line in exc.value.lines)


def test_traefik_crds_missing_is_unreadable(cluster: Cluster, api: Any, prod_plan: dict) -> None:
    cluster.without_traefik = True
    with pytest.raises(audit.Unreadable) as exc:
        ak.kubernetes_findings(prod_plan, api)
    p = ak.planned(prod_plan)
    assert len(exc.value.lines) == 2 * len(p.namespaces)
    assert all("are Traefik's CRDs installed?" in line for line in exc.value.lines)


def test_untrusted_certificate_is_unreachable(server: tuple[Cluster, Path], prod_plan: dict, tmp_path: Path) -> None:
    config = json.loads(server[1].read_text())
    del config["clusters"][0]["cluster"]["certificate-authority"]  # the system CAs do not know the test CA
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    api = ak.make_api(str(path), "prod")
    api.configuration.retries = 0
    with pytest.raises(audit.Unreachable, match="TLS certificate is not trusted"):
        ak.kubernetes_findings(prod_plan, api)


def test_no_token_is_unreadable(server: tuple[Cluster, Path], cluster: Cluster, prod_plan: dict, tmp_path: Path) -> None:
    config = json.loads(server[1].read_text())
    config["users"][0]["user"]["token"] = "wrong"
    path = tmp_path / "kubeconfig"
    path.write_text(json.dumps(config))
    with pytest.raises(audit.Unreadable) as exc:
        ak.kubernetes_findings(prod_plan, ak.make_api(str(path), "prod"))
    assert all(": 401 " in line for line in exc.value.lines)
    assert "wrong" not in " ".join(exc.value.lines)


def test_unreachable_cluster(server: tuple[Cluster, Path], prod_plan: dict) -> None:
    api = ak.make_api(str(server[1]), None)  # the current context: nothing listens on port 1
    api.configuration.retries = 0
    with pytest.raises(audit.Unreachable, match="Connection refused"):
        ak.kubernetes_findings(prod_plan, api)


def test_bearer_configuration_by_hand(server: tuple[Cluster, Path], cluster: Cluster, prod_plan: dict) -> None:
    """The client configured directly (host, CA, bearer token), as a caller without a kubeconfig would."""
    kubeconfig = json.loads(server[1].read_text())
    configuration = client.Configuration()
    configuration.host = kubeconfig["clusters"][0]["cluster"]["server"]
    configuration.ssl_ca_cert = kubeconfig["clusters"][0]["cluster"]["certificate-authority"]
    configuration.api_key = {"authorization": TOKEN}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    assert ak.kubernetes_findings(prod_plan, client.ApiClient(configuration)) == []
