"""`brickwall.export`: Kubernetes manifests, Helm values and the ARM template, checked by the tools that read them.

Small real programs (real SDK classes) are recorded with `brickwall.engine.record`, exported, and the export is
validated strictly with kubernetes-validate (Kubernetes 1.33) and analysed with network-config-analyzer.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pulumi_azure_native as azure_native
import pulumi_kubernetes as k8s
import pytest
import yaml
from pulumi.runtime.mocks import MockResourceArgs
from pulumi_kubernetes.apiextensions import CustomResource

from brickwall import cli, engine, exits, export, planfile, project
from brickwall.engine import Recording, record
from components.planning import azure_types
from tests.k8s_checks import Flow, allowed_flows, documents, parse_connectivity, stand_in_pod, validate_manifests

ROOT = Path(__file__).resolve().parent.parent
SECRET_VALUE = "tok-7f1c-do-not-leak-92ab"
HELM_SECRET = "helm-admin-pw-5d2e"
ARM_SECRET = "arm-tag-secret-c0ffee"
LEAKS = (SECRET_VALUE, HELM_SECRET, ARM_SECRET, base64.b64encode(SECRET_VALUE.encode()).decode())

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}
DNS_PEER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}


def hardened_pod(app: str, image: str, port: int) -> dict[str, Any]:
    """A pod template that meets the `restricted` Pod Security Standard."""
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {
            "automount_service_account_token": False,
            "security_context": {"run_as_non_root": True, "run_as_user": 65532, "run_as_group": 65532, "fs_group": 65532,
                                 "seccomp_profile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": app, "image": image, "ports": [{"container_port": port, "name": "http"}],
                "security_context": {"allow_privilege_escalation": False, "read_only_root_filesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
            }],
        },
    }


def deny_all(name: str, namespace: str, opts: pulumi.ResourceOptions) -> None:
    k8s.networking.v1.NetworkPolicy(
        f"{namespace}-{name}", metadata={"name": name, "namespace": namespace},
        spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]}, opts=opts,
    )


def k8s_program() -> None:
    """Two namespaces: edge/proxy takes 10.0.0.0/8 on 8443 and reaches apps/web on 8080; everything else denied."""
    provider = k8s.Provider("cluster", kubeconfig="{}", namespace="apps")
    opts = pulumi.ResourceOptions(provider=provider)
    for name in ("apps", "edge"):
        k8s.core.v1.Namespace(name, metadata={"name": name, "labels": RESTRICTED}, opts=opts)
        deny_all("default-deny", name, opts)
    k8s.networking.v1.NetworkPolicy(
        "allow-web-from-proxy", metadata={"name": "allow-web-from-proxy", "namespace": "apps"},
        spec={"pod_selector": {"match_labels": {"app": "web"}}, "policy_types": ["Ingress"],
              "ingress": [{"from": [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "edge"}},
                                     "pod_selector": {"match_labels": {"app": "proxy"}}}],
                           "ports": [{"port": 8080, "protocol": "TCP"}]}]},
        opts=opts,
    )
    k8s.networking.v1.NetworkPolicy(
        "allow-proxy", metadata={"name": "allow-proxy", "namespace": "edge"},
        spec={"pod_selector": {"match_labels": {"app": "proxy"}}, "policy_types": ["Ingress", "Egress"],
              "ingress": [{"from": [{"ip_block": {"cidr": "10.0.0.0/8"}}], "ports": [{"port": 8443, "protocol": "TCP"}]}],
              "egress": [
                  {"to": [{"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "apps"}},
                           "pod_selector": {"match_labels": {"app": "web"}}}],
                   "ports": [{"port": 8080, "protocol": "TCP"}]},
                  {"to": [DNS_PEER], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
              ]},
        opts=opts,
    )
    k8s.apps.v1.Deployment(
        "web", metadata={"name": "web", "namespace": "apps"},
        spec={"replicas": 2, "selector": {"match_labels": {"app": "web"}}, "template": hardened_pod("web", "nginx:1.27", 8080)},
        opts=opts,
    )
    k8s.apps.v1.Deployment(
        "proxy", metadata={"name": "proxy", "namespace": "edge"},
        spec={"replicas": 1, "selector": {"match_labels": {"app": "proxy"}},
              "template": hardened_pod("proxy", "traefik:v3.3", 8443)},
        opts=opts,
    )
    k8s.core.v1.Service(
        "web-svc", metadata={"name": "web", "namespace": "apps"},
        spec={"selector": {"app": "web"}, "ports": [{"port": 80, "target_port": 8080, "protocol": "TCP"}]}, opts=opts,
    )
    k8s.core.v1.Secret(
        "api-token", metadata={"name": "api-token", "namespace": "apps"}, type="Opaque",
        string_data={"token": pulumi.Output.secret(SECRET_VALUE)}, opts=opts,
    )
    # No name and no namespace: the provider would auto-name it and put it in its own namespace ("apps").
    k8s.core.v1.ConfigMap("settings", data={"LOG_LEVEL": "info"}, opts=opts)
    CustomResource(
        "web-route", api_version="traefik.io/v1alpha1", kind="IngressRoute", metadata={"name": "web", "namespace": "edge"},
        spec={"entryPoints": ["websecure"], "routes": [{"match": "Host(`web.example.com`)", "kind": "Rule",
                                                         "services": [{"name": "web", "namespace": "apps", "port": 80}]}],
              "tls": {"secretName": "web-tls"}},
        opts=opts,
    )
    CustomResource(
        "issuer", api_version="cert-manager.io/v1", kind="ClusterIssuer", metadata={"name": "internal-ca"},
        spec={"ca": {"secretName": "internal-ca"}}, opts=opts,
    )
    CustomResource(
        "web-cert", api_version="cert-manager.io/v1", kind="Certificate", metadata={"name": "web-tls", "namespace": "edge"},
        spec={"secretName": "web-tls", "dnsNames": ["web.example.com"], "duration": "2160h",
              "issuerRef": {"name": "internal-ca", "kind": "ClusterIssuer"}},
        opts=opts,
    )
    k8s.helm.v4.Chart(
        "traefik", chart="traefik", version="34.4.1", namespace="edge",
        repository_opts={"repo": "https://traefik.github.io/charts"},
        values={"deployment": {"replicas": 2}, "ports": {"websecure": {"port": 8443}},
                "dashboard": {"password": pulumi.Output.secret(HELM_SECRET)}},
        opts=opts,
    )
    k8s.helm.v3.Release(
        "cert-manager", chart="cert-manager", version="v1.17.1", namespace="cert-manager",
        repository_opts={"repo": "https://charts.jetstack.io"}, values={"crds": {"enabled": True}}, opts=opts,
    )


def azure_program() -> None:
    rg = azure_native.resources.ResourceGroup("rg", resource_group_name="rg-x", location="westeurope", tags={"owner": "team"})
    nsg = azure_native.network.NetworkSecurityGroup("nsg", resource_group_name=rg.name, location="westeurope")
    azure_native.network.SecurityRule(
        "deny-inbound", resource_group_name=rg.name, network_security_group_name=nsg.name,
        security_rule_name="deny-internet-inbound", priority=4096, access="Deny", direction="Inbound", protocol="*",
        source_address_prefix="Internet", source_port_range="*", destination_address_prefix="*", destination_port_range="*",
    )
    vnet = azure_native.network.VirtualNetwork(
        "vnet", resource_group_name=rg.name, virtual_network_name="vnet-x", location="westeurope",
        address_space={"address_prefixes": ["10.1.0.0/16"]}, tags={"owner": "team", "pager": pulumi.Output.secret(ARM_SECRET)},
    )
    azure_native.network.Subnet(
        "snet", resource_group_name=rg.name, virtual_network_name=vnet.name, subnet_name="snet-a",
        address_prefix="10.1.0.0/24", network_security_group={"id": nsg.id},
    )
    azure_native.databricks.Workspace(
        "ws", resource_group_name=rg.name, workspace_name="dbw-x", location="westeurope", sku={"name": "premium"},
        managed_resource_group_id="/subscriptions/0/resourceGroups/rg-x-managed",
        parameters={"enableNoPublicIp": {"value": True}},
    )


@pytest.fixture(scope="module")
def k8s_rec() -> Recording:
    return record(k8s_program, project="exp", stack="test")


@pytest.fixture(scope="module")
def azure_rec() -> Recording:
    return record(azure_program, project="exp", stack="test")


@pytest.fixture(scope="module")
def exported(k8s_rec: Recording, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    out = tmp_path_factory.mktemp("export")
    return out, export.write_export(k8s_rec, out)


def by_kind_name(manifests: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(m["kind"], m["metadata"]["name"]): m for m in manifests}


# --- manifests -----------------------------------------------------------------------------------------------


def test_every_kubernetes_object_becomes_a_manifest_and_charts_do_not(k8s_rec: Recording) -> None:
    manifests = export.kubernetes_manifests(k8s_rec)
    kinds = sorted((m["kind"], m["metadata"]["name"], m["metadata"].get("namespace")) for m in manifests)
    assert kinds == sorted([
        ("Namespace", "apps", None), ("Namespace", "edge", None),
        ("NetworkPolicy", "default-deny", "apps"), ("NetworkPolicy", "default-deny", "edge"),
        ("NetworkPolicy", "allow-web-from-proxy", "apps"), ("NetworkPolicy", "allow-proxy", "edge"),
        ("Deployment", "web", "apps"), ("Deployment", "proxy", "edge"), ("Service", "web", "apps"),
        ("Secret", "api-token", "apps"), ("ConfigMap", "settings", "apps"), ("IngressRoute", "web", "edge"),
        ("ClusterIssuer", "internal-ca", None), ("Certificate", "web-tls", "edge"),
    ])
    for m in manifests:
        assert list(m)[:3] == ["apiVersion", "kind", "metadata"], m
        assert "chart" not in m and "values" not in m


def test_typed_objects_have_their_wire_shape_with_ints(k8s_rec: Recording) -> None:
    found = by_kind_name(export.kubernetes_manifests(k8s_rec))
    assert found["Namespace", "apps"] == {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"labels": RESTRICTED, "name": "apps"},
    }
    deny = [m for m in export.kubernetes_manifests(k8s_rec) if m["metadata"] == {"name": "default-deny", "namespace": "apps"}]
    assert deny == [{
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "default-deny", "namespace": "apps"},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }]
    web = found["Deployment", "web"]
    assert web["apiVersion"] == "apps/v1"
    assert web["spec"]["replicas"] == 2 and type(web["spec"]["replicas"]) is int
    pod = web["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"fsGroup": 65532, "runAsGroup": 65532, "runAsNonRoot": True, "runAsUser": 65532,
                                      "seccompProfile": {"type": "RuntimeDefault"}}
    assert all(type(v) is int for k, v in pod["securityContext"].items() if k != "runAsNonRoot" and k != "seccompProfile")
    container = pod["containers"][0]
    assert container["securityContext"] == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                                             "readOnlyRootFilesystem": True}
    assert container["ports"] == [{"containerPort": 8080, "name": "http"}]
    assert found["Service", "web"]["spec"] == {"ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080}],
                                                "selector": {"app": "web"}}


def test_custom_resources_keep_api_version_kind_and_spec(k8s_rec: Recording) -> None:
    # The SDK registers a CustomResource under "kubernetes:<apiVersion>:<Kind>", like a typed resource.
    assert k8s_rec.one("kubernetes:traefik.io/v1alpha1:IngressRoute").name == "web-route"
    found = by_kind_name(export.kubernetes_manifests(k8s_rec))
    assert found["IngressRoute", "web"] == {
        "apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "web", "namespace": "edge"},
        "spec": {"entryPoints": ["websecure"],
                 "routes": [{"kind": "Rule", "match": "Host(`web.example.com`)",
                             "services": [{"name": "web", "namespace": "apps", "port": 80}]}],
                 "tls": {"secretName": "web-tls"}},
    }
    assert found["ClusterIssuer", "internal-ca"]["metadata"] == {"name": "internal-ca"}  # cluster-scoped: no namespace
    assert found["Certificate", "web-tls"]["spec"]["issuerRef"] == {"kind": "ClusterIssuer", "name": "internal-ca"}


def test_unnamed_object_gets_its_logical_name_and_the_providers_namespace(k8s_rec: Recording) -> None:
    found = by_kind_name(export.kubernetes_manifests(k8s_rec))
    assert found["ConfigMap", "settings"] == {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "apps"},
        "data": {"LOG_LEVEL": "info"},
    }


def test_secret_data_is_redacted_key_by_key(k8s_rec: Recording) -> None:
    secret = by_kind_name(export.kubernetes_manifests(k8s_rec))["Secret", "api-token"]
    assert secret == {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "api-token", "namespace": "apps"},
        "stringData": {"token": "[secret]"}, "type": "Opaque",
    }
    # The wire really carried the value, as a secret: redaction is the export's doing.
    assert isinstance(k8s_rec.one("kubernetes:core/v1:Secret").inputs["stringData"], engine.Secret)


def test_helm_charts_export_chart_and_values(k8s_rec: Recording) -> None:
    assert export.helm_releases(k8s_rec) == {
        "traefik": {
            "source": "kubernetes:helm.sh/v4:Chart", "release": "traefik", "chart": "traefik", "version": "34.4.1",
            "repo": "https://traefik.github.io/charts", "namespace": "edge",
            "values": {"dashboard": {"password": "[secret]"}, "deployment": {"replicas": 2},
                       "ports": {"websecure": {"port": 8443}}},
        },
        "cert-manager": {
            "source": "kubernetes:helm.sh/v3:Release", "release": "cert-manager", "chart": "cert-manager",
            "version": "v1.17.1", "repo": "https://charts.jetstack.io", "namespace": "cert-manager",
            "values": {"crds": {"enabled": True}},
        },
    }


# --- files ---------------------------------------------------------------------------------------------------


def test_write_export_layout(exported: tuple[Path, list[Path]], k8s_rec: Recording) -> None:
    out, written = exported
    assert written == sorted(written)
    assert sorted(str(p.relative_to(out)) for p in written) == sorted([
        "kubernetes/_cluster/namespace-apps.yaml", "kubernetes/_cluster/namespace-edge.yaml",
        "kubernetes/_cluster/clusterissuer-internal-ca.yaml",
        "kubernetes/apps/networkpolicy-default-deny.yaml", "kubernetes/apps/networkpolicy-allow-web-from-proxy.yaml",
        "kubernetes/apps/deployment-web.yaml", "kubernetes/apps/service-web.yaml", "kubernetes/apps/secret-api-token.yaml",
        "kubernetes/apps/configmap-settings.yaml",
        "kubernetes/edge/networkpolicy-default-deny.yaml", "kubernetes/edge/networkpolicy-allow-proxy.yaml",
        "kubernetes/edge/deployment-proxy.yaml", "kubernetes/edge/ingressroute-web.yaml",
        "kubernetes/edge/certificate-web-tls.yaml",
        "helm-values/traefik.yaml", "helm-values/cert-manager.yaml",
        "azure/template.json",
    ])
    # Each file holds exactly one object, equal to the in-memory manifest, with a header naming its URN.
    manifests = {json.dumps(m, sort_keys=True) for m in export.kubernetes_manifests(k8s_rec)}
    for path in written:
        if path.suffix == ".yaml" and "kubernetes" in path.parts:
            docs = documents(path)
            assert len(docs) == 1, path
            assert json.dumps(docs[0], sort_keys=True) in manifests, path
            assert path.read_text().startswith("# brickwall export of urn:pulumi:test::exp::"), path
    assert yaml.safe_load((out / "helm-values" / "traefik.yaml").read_text()) == export.helm_releases(k8s_rec)["traefik"]
    assert json.loads((out / "azure" / "template.json").read_text())["resources"] == []  # no azure-native resources


def test_no_secret_value_is_written_anywhere(exported: tuple[Path, list[Path]]) -> None:
    out, written = exported
    files = [p for p in out.rglob("*") if p.is_file()]
    assert sorted(files) == written
    for path in files:
        text = path.read_text()
        for leak in LEAKS:
            assert leak not in text, f"{path} leaks a secret"
    assert "[secret]" in (out / "kubernetes" / "apps" / "secret-api-token.yaml").read_text()
    assert "[secret]" in (out / "helm-values" / "traefik.yaml").read_text()


def test_export_is_byte_identical_across_runs_and_prunes_stale_files(exported: tuple[Path, list[Path]], tmp_path: Path) -> None:
    out, written = exported
    again = record(k8s_program, project="exp", stack="test")
    stale = tmp_path / "kubernetes" / "old-ns" / "deployment-gone.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("kind: Deployment\n")
    kept = tmp_path / "notes.txt"  # outside the export's own directories: left alone
    kept.write_text("mine")
    second = export.write_export(again, tmp_path)
    assert [p.relative_to(tmp_path) for p in second] == [p.relative_to(out) for p in written]
    for first_file, second_file in zip(written, second, strict=True):
        assert first_file.read_bytes() == second_file.read_bytes(), first_file.name
    assert not stale.exists() and not stale.parent.exists()
    assert kept.read_text() == "mine"


def test_two_objects_on_one_path_is_an_error(tmp_path: Path) -> None:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=k8s.Provider("k", kubeconfig="{}"))
        for logical in ("a", "b"):
            k8s.core.v1.ConfigMap(logical, metadata={"name": "same", "namespace": "x"}, data={"k": logical}, opts=opts)

    with pytest.raises(export.ExportError, match=r"configmap-same\.yaml"):
        export.write_export(record(program, project="exp", stack="test"), tmp_path)


# --- kubernetes-validate -------------------------------------------------------------------------------------


def test_every_typed_manifest_validates_strictly_against_kubernetes_1_33(exported: tuple[Path, list[Path]]) -> None:
    out, _ = exported
    paths = sorted((out / "kubernetes").rglob("*.yaml"))
    assert len(paths) == 14
    assert validate_manifests(paths) == []


def test_validation_finds_unknown_fields_wrong_types_and_unknown_kinds(tmp_path: Path) -> None:
    def program() -> None:
        opts = pulumi.ResourceOptions(provider=k8s.Provider("k", kubeconfig="{}"))
        # Built through CustomResource so the SDK's types cannot refuse what the API server would.
        CustomResource("typo", api_version="apps/v1", kind="Deployment", metadata={"name": "typo", "namespace": "x"},
                       spec={"replica": 2, "selector": {"matchLabels": {"a": "b"}},
                             "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}},
                       opts=opts)
        CustomResource("port", api_version="v1", kind="Service", metadata={"name": "port", "namespace": "x"},
                       spec={"ports": [{"port": "eighty"}]}, opts=opts)
        CustomResource("nokind", api_version="networking.k8s.io/v1", kind="NetworkPolicyy",
                       metadata={"name": "nokind", "namespace": "x"}, spec={}, opts=opts)
        CustomResource("crd-object", api_version="example.com/v1", kind="Widget", metadata={"name": "w", "namespace": "x"},
                       spec={"anything": "goes"}, opts=opts)

    written = export.write_export(record(program, project="exp", stack="test"), tmp_path)
    problems = validate_manifests(p for p in written if p.suffix == ".yaml")
    assert len(problems) == 3, problems
    typo, nokind, port = sorted(problems)
    assert "deployment-typo.yaml: Deployment/typo: spec: Additional properties are not allowed ('replica'" in typo
    assert "networkpolicyy-nokind.yaml: NetworkPolicyy/nokind: Couldn't find schema for kind NetworkPolicyy" in nokind
    assert "service-port.yaml: Service/port: spec.ports.0.port: 'eighty' is not of type 'integer'" in port


# --- network-config-analyzer ---------------------------------------------------------------------------------

DNS = "kube-system/kube-dns-livesim"  # nca adds this pod: the policies select kube-dns, which is not exported
EXPECTED_FLOWS = {
    Flow("10.0.0.0/8", "edge/proxy", "TCP/8443"),
    Flow("edge/proxy", "apps/web", "TCP/8080"),
    Flow("edge/proxy", DNS, "UDP/53"),
    Flow("edge/proxy", DNS, "TCP/53"),
    # kube-system has no policies, so its (simulated) DNS pod is open; nca splits 0.0.0.0/0 around 10.0.0.0/8.
    Flow(DNS, "0.0.0.0/0", "*"),
    Flow("0.0.0.0-9.255.255.255", DNS, "*"),
    Flow("10.0.0.0/8", DNS, "*"),
    Flow("11.0.0.0-255.255.255.255", DNS, "*"),
}


def test_network_policies_allow_exactly_the_intended_flows(exported: tuple[Path, list[Path]]) -> None:
    out, _ = exported
    assert allowed_flows(out / "kubernetes") == EXPECTED_FLOWS


def test_dropping_an_allow_policy_changes_the_flows(exported: tuple[Path, list[Path]], tmp_path: Path) -> None:
    """The analysis really reads the exported policies: without the web allow rule, proxy cannot reach web."""
    out, _ = exported
    copy = tmp_path / "kubernetes"
    for path in (out / "kubernetes").rglob("*.yaml"):
        if path.name != "networkpolicy-allow-web-from-proxy.yaml":
            target = copy / path.relative_to(out / "kubernetes")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
    assert allowed_flows(copy) == EXPECTED_FLOWS - {Flow("edge/proxy", "apps/web", "TCP/8080")}


def test_stand_in_pods_take_part_in_the_analysis(exported: tuple[Path, list[Path]]) -> None:
    """A chart's pods are not exported; a stand-in with their labels shows what the policies allow them."""
    out, _ = exported
    canary = stand_in_pod("apps", "web-canary", {"app": "web"})
    assert allowed_flows(out / "kubernetes", [canary]) == EXPECTED_FLOWS | {Flow("edge/proxy", "apps/web-canary", "TCP/8080")}
    assert not (out / "kubernetes" / "_stand-ins.yaml").exists()  # the export itself is left as it was


def test_connectivity_parser_reads_every_connection_form() -> None:
    text = "\n".join([
        "0.0.0.0-255.255.255.255 => ns/a[Deployment] : All connections",
        "ns/a[Deployment] => ns/b[StatefulSet] : {protocols:TCP,dst_ports:80,8000-8010},{protocols:UDP,dst_ports:53}",
        "ns/b[StatefulSet] => ns/c[Pod] : {protocols:TCP, UDP,dst_ports:53}",
        "ns/c[Pod] => 10.0.0.0-10.0.1.255 : {protocols:SCTP}",
        "ns/c[Pod] => 10.0.0.0-10.0.2.255 : {dst_ports:443}",
        "",
    ])
    assert parse_connectivity(text) == {
        Flow("0.0.0.0/0", "ns/a", "*"),
        Flow("ns/a", "ns/b", "TCP/80"), Flow("ns/a", "ns/b", "TCP/8000-8010"), Flow("ns/a", "ns/b", "UDP/53"),
        Flow("ns/b", "ns/c", "TCP/53"), Flow("ns/b", "ns/c", "UDP/53"),
        Flow("ns/c", "10.0.0.0/23", "SCTP/*"),
        Flow("ns/c", "10.0.0.0-10.0.2.255", "*/443"),
    }
    for bad in ("a => b : All but {protocols:TCP}", "a => b : {protocols:TCP,src_ports:80}", "garbage"):
        with pytest.raises(ValueError):
            parse_connectivity(bad)


# --- ARM -----------------------------------------------------------------------------------------------------


def test_arm_template_shape(azure_rec: Recording) -> None:
    template = export.arm_resources(azure_rec)
    assert template["$schema"] == "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"
    assert template["contentVersion"] == "1.0.0.0"
    resources = {(r["type"], r["name"]): r for r in template["resources"]}
    assert sorted(resources) == [
        ("Microsoft.Databricks/workspaces", "dbw-x"),
        ("Microsoft.Network/networkSecurityGroups", "nsg"),  # no name given: the logical name, as the mocks use
        ("Microsoft.Network/networkSecurityGroups/securityRules", "nsg/deny-internet-inbound"),
        ("Microsoft.Network/virtualNetworks", "vnet-x"),
        ("Microsoft.Network/virtualNetworks/subnets", "vnet-x/snet-a"),
        ("Microsoft.Resources/resourceGroups", "rg-x"),
    ]
    assert [(r["type"], r["name"]) for r in template["resources"]] == sorted(resources)
    comments = {r["comments"] for r in template["resources"]}
    assert comments == {r.urn for r in azure_rec.registrations if r.type.startswith("azure-native:")}
    rule = resources["Microsoft.Network/networkSecurityGroups/securityRules", "nsg/deny-internet-inbound"]
    assert rule["apiVersion"] == "2024-05-01"
    assert rule["properties"] == {
        "access": "Deny", "destinationAddressPrefix": "*", "destinationPortRange": "*", "direction": "Inbound",
        "priority": 4096, "protocol": "*", "sourceAddressPrefix": "Internet", "sourcePortRange": "*",
    }
    assert type(rule["properties"]["priority"]) is int
    assert set(rule) == {"type", "apiVersion", "name", "properties", "comments"}  # a child: no location or tags
    subnet = resources["Microsoft.Network/virtualNetworks/subnets", "vnet-x/snet-a"]
    nsg_id = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-x/providers/Microsoft.Network/networkSecurityGroups/nsg"
    assert subnet["properties"] == {  # the last two are the SDK's defaults, sent on the wire
        "addressPrefix": "10.1.0.0/24", "networkSecurityGroup": {"id": nsg_id},
        "privateEndpointNetworkPolicies": "Disabled", "privateLinkServiceNetworkPolicies": "Enabled",
    }
    vnet = resources["Microsoft.Network/virtualNetworks", "vnet-x"]
    assert vnet["location"] == "westeurope"
    assert vnet["tags"] == {"owner": "team", "pager": "[secret]"}
    assert vnet["properties"] == {"addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
                                  "enableDdosProtection": False, "enableVmProtection": False}  # SDK defaults
    workspace = resources["Microsoft.Databricks/workspaces", "dbw-x"]
    assert workspace["apiVersion"] == "2026-01-01"
    assert workspace["sku"] == {"name": "premium"}
    assert workspace["properties"] == {"managedResourceGroupId": "/subscriptions/0/resourceGroups/rg-x-managed",
                                       "parameters": {"enableNoPublicIp": {"value": True}}}
    group = resources["Microsoft.Resources/resourceGroups", "rg-x"]
    assert (group["apiVersion"], group["location"], group["tags"], group["properties"]) == (
        "2024-03-01", "westeurope", {"owner": "team"}, {})
    assert ARM_SECRET not in json.dumps(template)


def _sdk_api_version(token: str) -> str:
    """The "Uses Azure REST API version ..." of the SDK module that defines `token`'s class."""
    _, module, cls = token.split(":")
    resource_class = getattr(getattr(azure_native, module), cls)
    source = Path(sys.modules[resource_class.__module__].__file__ or "").read_text()
    found = set(re.findall(r"Uses Azure REST API version (\S+?)\.", source))
    assert len(found) == 1, (token, found)
    return found.pop()


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", camel).lower()


@pytest.mark.parametrize("token", sorted(azure_types.CATALOG))
def test_catalog_entry_matches_the_sdk_and_the_mocks(token: str) -> None:
    """Each catalog entry against the pinned SDK (API version, the inputs it names) and the id the mocks give."""
    entry = azure_types.CATALOG[token]
    assert entry.api_version == _sdk_api_version(token)
    _, module, cls = token.split(":")
    sdk_inputs = set(inspect.signature(getattr(getattr(azure_native, module), cls)._internal_init).parameters)
    named = [n for n in entry.name_inputs if isinstance(n, str)]
    force_new_tops = {p.split(".")[0] for p in entry.force_new}
    assert {_snake(n) for n in [*named, *filter(None, [entry.scope_input]), *force_new_tops]} <= sdk_inputs
    # The ARM id the mocks give: the resource group's (or, for an extension resource, the id of the resource it
    # applies to), then [provider namespace], type, name, child type, name, ...: one name per level of the type, an
    # input's value or a name Azure fixes ("default" blob service).
    scope = f"/subscriptions/{engine.SUBSCRIPTION_ID}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/st"
    inputs = {"resourceGroupName": "rg", **{n: f"n-{n}" for n in named if n != "resourceGroupName"}}
    if entry.scope_input:
        inputs[entry.scope_input] = scope
    arm_id, state = engine.BrickwallMocks().new_resource(MockResourceArgs(typ=token, name="logical", inputs=inputs))
    names = [f"n-{n}" if isinstance(n, str) else n.segment for n in entry.name_inputs]
    if token == azure_types.RESOURCE_GROUP.token:
        assert arm_id == f"/subscriptions/{engine.SUBSCRIPTION_ID}/resourceGroups/rg"
        return
    base = scope if entry.scope_input else f"/subscriptions/{engine.SUBSCRIPTION_ID}/resourceGroups/rg"
    assert arm_id.startswith(f"{base}/providers/"), arm_id
    segments = arm_id.removeprefix(f"{base}/providers/").split("/")
    assert "/".join([segments[0], *segments[1::2]]) == entry.arm_type
    assert segments[2::2] == names
    assert state["name"] == (names[-1] if entry.own_name_input else "logical")


def test_an_azure_type_outside_the_catalog_gets_no_arm_id() -> None:
    """The mocks derive ARM ids from the catalog only: another azure-native type keeps a stable mock id."""
    arm_id, _ = engine.BrickwallMocks().new_resource(MockResourceArgs(
        typ="azure-native:web:AppServicePlan", name="plan", inputs={"resourceGroupName": "rg", "name": "plan"}))
    assert arm_id == "mock-plan"


def test_unmapped_azure_type_is_an_error() -> None:
    def program() -> None:
        azure_native.web.AppServicePlan("plan", resource_group_name="rg", sku={"name": "B1"})

    with pytest.raises(export.ExportError, match=r"azure-native:web:AppServicePlan .*components/planning/azure_types.py"):
        export.arm_resources(record(program, project="exp", stack="test"))


# --- the real stacks -----------------------------------------------------------------------------------------


def test_every_stack_exports(rec: Recording, stack: str, tmp_path: Path) -> None:
    written = export.write_export(rec, tmp_path)
    template = json.loads((tmp_path / "azure" / "template.json").read_text())
    azure = [r for r in rec.registrations if r.custom and r.type.startswith("azure-native:")]
    assert azure and len(template["resources"]) == len(azure)
    assert {r["type"] for r in template["resources"]} >= {"Microsoft.Databricks/workspaces", "Microsoft.Network/virtualNetworks"}
    objects = [r for r in rec.registrations if export.is_kubernetes_object(r)]
    manifests = sorted((tmp_path / "kubernetes").rglob("*.yaml"))
    assert len(manifests) == len(objects)  # none in today's stacks; the ingress tier's once it lands
    assert validate_manifests(manifests) == []
    assert set(written) == {p for p in tmp_path.rglob("*") if p.is_file()}


def test_cli_export_end_to_end(dev: Recording, tmp_path: Path) -> None:
    """The command's smoke test, a process of its own exporting a saved plan of dev (the session's render): what it
    writes is what the export of the render itself holds."""
    out, plan = tmp_path / "out", tmp_path / "dev.json"
    plan.write_text(planfile.dumps(planfile.to_plan(dev)))
    result = subprocess.run([sys.executable, "-m", "brickwall", "export", "--plan", str(plan), "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    objects = export.kubernetes_manifests(dev)
    charts = export.helm_releases(dev)
    template = export.arm_resources(dev)
    assert result.stdout.splitlines() == [
        f"brickwall export: stack dev to {out}: {len(objects)} Kubernetes manifest(s), {len(charts)} Helm values file(s), "
        f"ARM template with {len(template['resources'])} resource(s)"
    ]
    assert template["resources"]
    assert json.loads((out / "azure" / "template.json").read_text()) == template
    exported_files = sorted(p.relative_to(out / "kubernetes") for p in (out / "kubernetes").rglob("*") if p.is_file())
    assert exported_files == sorted(export.manifest_path(m) for m in objects)  # empty today: no Kubernetes objects yet
    assert (out / "kubernetes").is_dir() and (out / "helm-values").is_dir()


def test_cli_export_needs_out_and_a_known_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["export", "--stack", "prod"]) == exits.USAGE
    assert "--out" in capsys.readouterr().err
    assert cli.main(["export", "--stack", "qa", "--out", "x"]) == exits.USAGE
    assert "'qa'" in capsys.readouterr().err


def test_cli_export_reports_an_unmapped_type_as_an_internal_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def program() -> None:
        azure_native.web.AppServicePlan("plan", resource_group_name="rg", sku={"name": "B1"})

    unmapped = record(program, project="brickwall", stack="dev")
    monkeypatch.setattr(project, "run", lambda stack, spec_file=None: unmapped)
    assert cli.main(["export", "--stack", "dev", "--out", str(tmp_path)]) == exits.INTERNAL
    err = capsys.readouterr().err
    assert "azure-native:web:AppServicePlan" in err and "Traceback" not in err
