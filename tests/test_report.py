"""`report`: the Markdown review document and its topology diagram (Mermaid; DOT for an SVG when Graphviz exists)."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import stacks
from brickwall import check, cli, exits, planfile, project, report
from brickwall.engine import Recording
from components.planning.reachability import parse_ports
from components.spec.rules import advisories
from tests.node_tools import NODE_TIMEOUT, node_with_packages, tail

MERMAID_DIR = Path(__file__).resolve().parent / "mermaid"

ID = r"[A-Za-z0-9_]+"
NODE_RE = re.compile(rf'^\s*({ID})(\[\(|\{{\{{|\[|\()"(?:[^"]*)"(\)\]|\}}\}}|\]|\))$')
SUBGRAPH_RE = re.compile(rf'^\s*subgraph ({ID})\["[^"]*"\]$')
EDGE_RE = re.compile(rf'^\s*({ID}) (-->|-\.->)(?:\|"[^"]*"\|)? ({ID})$')


def validate_mermaid(text: str) -> dict[str, Any]:
    """Offline structural check of the flowchart (mermaid-cli needs a browser, and `@mermaid-js/parser` has no
    flowchart grammar): one header, every line a node, subgraph, `end` or edge; balanced subgraphs; ids only
    [A-Za-z0-9_] and declared once; every edge endpoint declared; labels quoted with no raw quote inside."""
    lines = text.rstrip("\n").split("\n")
    assert lines[0] == "flowchart LR"
    nodes: set[str] = set()
    groups: set[str] = set()
    edges: list[tuple[str, str, str]] = []
    depth = 0
    for line in lines[1:]:
        if m := SUBGRAPH_RE.match(line):
            assert m[1] not in nodes | groups, f"duplicate id {m[1]}"
            groups.add(m[1])
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0, "unbalanced end"
        elif m := EDGE_RE.match(line):
            edges.append((m[1], m[3], line))
        elif m := NODE_RE.match(line):
            assert m[1] not in nodes | groups, f"duplicate id {m[1]}"
            assert m[1].lower() != "end"
            nodes.add(m[1])
        else:
            raise AssertionError(f"not a valid flowchart line: {line!r}")
    assert depth == 0, "unbalanced subgraph/end"
    for src, dst, line in edges:
        assert src in nodes and dst in nodes, f"undeclared edge endpoint: {line}"
    return {"nodes": nodes, "groups": groups, "edges": edges}


def _report(rec: Recording, **kwargs: Any) -> tuple[str, str, str]:
    spec = stacks.load(rec.stack)
    return report.build_report(planfile.to_plan(rec), tier=spec.tier.value, region=spec.region,
                               advisories=advisories(spec), dot_available=False, **kwargs)


@pytest.fixture(scope="module")
def prod_report(prod: Recording) -> tuple[str, str, str]:
    return _report(prod)


@pytest.fixture(scope="module")
def dev_report(dev: Recording) -> tuple[str, str, str]:
    return _report(dev)


def _label_of(mermaid: str, text: str) -> str:
    """The id of the one node whose label contains `text`."""
    ids = [m[1] for line in mermaid.splitlines() if (m := NODE_RE.match(line)) and text in line]
    assert len(ids) == 1, (text, ids)
    return ids[0]


def _edge(mermaid: str, src: str, dst: str, label: str | None = None) -> bool:
    for line in mermaid.splitlines():
        m = EDGE_RE.match(line)
        if m and m[1] == src and m[3] == dst and (label is None or f'|"{label}"|' in line):
            return True
    return False


def _subgraph_of(mermaid: str, node_id: str) -> str | None:
    stack: list[str] = []
    for line in mermaid.splitlines():
        if m := SUBGRAPH_RE.match(line):
            stack.append(m[1])
        elif line.strip() == "end":
            stack.pop()
        elif (m := NODE_RE.match(line)) and m[1] == node_id:
            return stack[-1] if stack else None
    raise AssertionError(f"{node_id} not declared")


def test_prod_header_summary_and_components(prod_report: tuple[str, str, str], prod: Recording) -> None:
    text, _, _ = prod_report
    assert "- stack: `prod`" in text and "- tier: `prod`" in text and "- region: `westeurope`" in text
    assert "offline: mock runtime" in text
    from brickwall import render

    assert render.summary(planfile.to_plan(prod)) in text
    assert "| prod-network | DatabricksNetwork |" in text and "Subnet x4" in text
    assert "| prod-private-link | PrivateLink |" in text and "PrivateEndpoint x5" in text
    assert "Reachability" not in text  # no stub: the section only appears with real content


def test_prod_topology(prod_report: tuple[str, str, str]) -> None:
    text, mermaid, _ = prod_report
    assert f"```mermaid\n{mermaid}```" in text
    parsed = validate_mermaid(mermaid)
    assert len(parsed["edges"]) > 20
    workspace_vnet = _label_of(mermaid, '"vnet-bw-prod-weu<br/>10.30.0.0/19"')
    transit_vnet = _label_of(mermaid, '"vnet-bw-prod-weu-transit<br/>10.130.0.0/24"')
    assert 'subgraph sg_vnet_rg_bw_prod_weu_vnet_bw_prod_weu["workspace VNet: vnet-bw-prod-weu"]' in mermaid
    assert '["transit VNet: vnet-bw-prod-weu-transit"]' in mermaid
    ws_group, transit_group = _subgraph_of(mermaid, workspace_vnet), _subgraph_of(mermaid, transit_vnet)
    subnets = {}
    for name, cidr, group in [("snet-dbw-host", "10.30.0.0/21", ws_group), ("snet-dbw-container", "10.30.8.0/21", ws_group),
                              ("snet-aks", "10.30.16.0/23", ws_group), ("snet-private-endpoints", "10.30.18.0/27", ws_group),
                              ("snet-private-endpoints", "10.130.0.0/27", transit_group)]:
        subnets[cidr] = _label_of(mermaid, f'"{name}<br/>{cidr}')
        assert _subgraph_of(mermaid, subnets[cidr]) == group
    dbw_nsg, pe_nsg = _label_of(mermaid, "NSG nsg-bw-prod-weu-dbw"), _label_of(mermaid, "NSG nsg-bw-prod-weu-pe")
    assert _edge(mermaid, dbw_nsg, subnets["10.30.0.0/21"], "attached") and _edge(mermaid, dbw_nsg, subnets["10.30.8.0/21"])
    assert _edge(mermaid, pe_nsg, subnets["10.30.18.0/27"], "attached")
    assert not any(_edge(mermaid, n, subnets["10.130.0.0/27"]) for n in (dbw_nsg, pe_nsg))

    workspace = _label_of(mermaid, "Databricks workspace dbw-bw-prod-weu")
    assert "publicNetworkAccess=Disabled<br/>NPIP (no public IP)=True" in mermaid
    webauth = _label_of(mermaid, "web-auth workspace WEBAUTH_DO_NOT_DELETE_WESTEUROPE")
    storage = _label_of(mermaid, "workspace storage stbwprodweup7k2")
    for pe, subnet, target, group in [("backend", "10.30.18.0/27", workspace, "databricks_ui_api"),
                                      ("blob", "10.30.18.0/27", storage, "blob"), ("dfs", "10.30.18.0/27", storage, "dfs"),
                                      ("frontend", "10.130.0.0/27", workspace, "databricks_ui_api"),
                                      ("webauth", "10.130.0.0/27", webauth, "browser_authentication")]:
        node = _label_of(mermaid, f"private endpoint pe-bw-prod-weu-{pe}\"")
        assert _subgraph_of(mermaid, node) == _subgraph_of(mermaid, subnets[subnet])
        assert _edge(mermaid, subnets[subnet], node, "in subnet")
        assert _edge(mermaid, node, target, group), pe

    db_zone = _label_of(mermaid, "privatelink.azuredatabricks.net<br/>(rg-bw-prod-weu)")
    db_transit_zone = _label_of(mermaid, "privatelink.azuredatabricks.net<br/>(rg-bw-prod-weu-transit)")
    assert _edge(mermaid, db_zone, workspace_vnet, "linked") and not _edge(mermaid, db_zone, transit_vnet)
    assert _edge(mermaid, db_transit_zone, transit_vnet, "linked") and not _edge(mermaid, db_transit_zone, workspace_vnet)
    for zone in ("privatelink.blob.core.windows.net", "privatelink.dfs.core.windows.net"):
        assert _edge(mermaid, _label_of(mermaid, zone), workspace_vnet, "linked")

    aks = _label_of(mermaid, "AKS aks-bw-prod-weu")
    assert _edge(mermaid, subnets["10.30.16.0/23"], aks)
    traefik = _label_of(mermaid, "Helm traefik")
    assert _edge(mermaid, aks, traefik, "runs")
    for ns in ("ingress", "databricks-apps", "cert-manager"):
        assert f'["namespace {ns}"]' in mermaid
    jobs_host, sql_host = _label_of(mermaid, '"jobs.data.contoso.com"'), _label_of(mermaid, '"sql.data.contoso.com"')
    assert _edge(mermaid, traefik, jobs_host, "routes")
    assert _edge(mermaid, jobs_host, _label_of(mermaid, "connector databricks-apps/jobs-api:8443"), "/api/2.1/jobs")
    assert _edge(mermaid, sql_host, _label_of(mermaid, "connector databricks-apps/sql-gateway:8443"), "/")

    rt, fw = _label_of(mermaid, "route table rt-bw-prod-weu-egress"), _label_of(mermaid, "firewall / NVA<br/>10.0.1.4")
    assert _edge(mermaid, rt, fw, "0.0.0.0/0 default-via-firewall")
    for cidr in ("10.30.0.0/21", "10.30.8.0/21", "10.30.16.0/23"):
        assert _edge(mermaid, subnets[cidr], rt, "egress")
    assert "NAT gateway" not in mermaid
    # Firewall egress: the existing hub peered both ways, and the rule collection group behind the firewall.
    hub = _label_of(mermaid, "hub VNet vnet-hub-weu<br/>(existing, resource group rg-connectivity-hub-weu)")
    assert _edge(mermaid, workspace_vnet, hub, "peering peer-to-hub (forwarded traffic allowed)")
    assert _edge(mermaid, hub, workspace_vnet, "peering peer-to-vnet-bw-prod-weu (forwarded traffic allowed)")
    rcg = _label_of(mermaid, "rule collection group rcg-databricks-prod<br/>in policy afwp-hub-weu")
    assert _edge(mermaid, rcg, fw, "allow rules")

    # Data sources and keys: each endpoint reaches its own labelled node, and every audited resource feeds Log Analytics.
    lake = _label_of(mermaid, "data lake (ADLS Gen2) dlbwprodweup7k2<br/>publicNetworkAccess=Disabled")
    vault = _label_of(mermaid, "Key Vault kvbwprodweup7k2<br/>publicNetworkAccess=Disabled<br/>purge protection=True")
    sql = _label_of(mermaid, "SQL server sql-bw-prod-weu-p7k2<br/>publicNetworkAccess=Disabled")
    for pe, target, group in [("lake-dfs", lake, "dfs"), ("lake-blob", lake, "blob"), ("kv", vault, "vault"), ("sql", sql, "sqlServer")]:
        node = _label_of(mermaid, f"private endpoint pe-bw-prod-weu-{pe}\"")
        assert _edge(mermaid, subnets["10.30.18.0/27"], node, "in subnet") and _edge(mermaid, node, target, group), pe
    log = _label_of(mermaid, "Log Analytics log-bw-prod-weu<br/>retention 365 days")
    for audited in (workspace, aks, vault, lake, sql):
        assert _edge(mermaid, audited, log, "audit logs"), audited
    assert not _edge(mermaid, webauth, log)
    # The audit stores' private ways in: the SIEM hub's endpoint, and the Azure Monitor Private Link Scope in front of
    # a workspace that refuses public networks.
    assert "Log Analytics log-bw-prod-weu<br/>retention 365 days<br/>public ingestion=Disabled, query=Disabled" in mermaid
    hub = _label_of(mermaid, "Event Hub namespace evhns-bw-prod-weu-p7k2<br/>publicNetworkAccess=Disabled")
    scope = _label_of(mermaid, "Azure Monitor Private Link Scope ampls-bw-prod-weu<br/>ingestion=PrivateOnly, query=PrivateOnly")
    for pe, target, group in [("evhns", hub, "namespace"), ("ampls", scope, "azuremonitor")]:
        node = _label_of(mermaid, f"private endpoint pe-bw-prod-weu-{pe}\"")
        assert _edge(mermaid, subnets["10.30.18.0/27"], node, "in subnet") and _edge(mermaid, node, target, group), pe
    assert _edge(mermaid, scope, log, "scoped")


def test_dev_topology(dev_report: tuple[str, str, str]) -> None:
    text, mermaid, _ = dev_report
    assert "- stack: `dev`" in text and "- tier: `dev`" in text
    validate_mermaid(mermaid)
    assert "transit" not in mermaid.lower() and "AKS" not in mermaid and "ingress tier" not in mermaid
    assert "publicNetworkAccess=Enabled" in mermaid
    nat = _label_of(mermaid, "NAT gateway ng-bw-dev-weu<br/>public IP pip-bw-dev-weu-nat")
    assert _edge(mermaid, _label_of(mermaid, '"snet-dbw-host<br/>10.10.0.0/22'), nat, "egress")
    assert _edge(mermaid, nat, _label_of(mermaid, '"Internet"'), "SNAT")
    assert _edge(mermaid, _label_of(mermaid, "privatelink.azuredatabricks.net"), _label_of(mermaid, '"vnet-bw-dev-weu<br/>'), "linked")


def test_policy_section(prod_report: tuple[str, str, str], prod: Recording) -> None:
    text, _, _ = prod_report
    n = len(check.load_policies())
    assert f"All {n} rules pass" in text and "| Level | Rule |" not in text
    assert "### Advisories" in text and "IP access lists only see public traffic" in text

    plan = copy.deepcopy(planfile.to_plan(prod))
    ws = next(r for r in plan["resources"] if r["name"] == "prod-workspace-workspace")
    ws["inputs"]["publicNetworkAccess"] = "Enabled"
    ws["inputs"]["parameters"]["enableNoPublicIp"]["value"] = False
    result = check.check_plan(plan)
    assert result.violations
    mutated, mermaid, _ = report.build_report(plan, check_result=result, dot_available=False)
    assert "| Level | Rule | Resource | Message | Remediation |" in mutated
    for v in result.violations:
        assert f"| {v.level} | {v.policy} | `{v.urn or '(stack)'}` |" in mutated
    assert "publicNetworkAccess=Enabled<br/>NPIP (no public IP)=False" in mermaid


def test_dot_graph(prod_report: tuple[str, str, str]) -> None:
    text, mermaid, dot = prod_report
    assert dot.startswith("digraph topology {") and dot.rstrip().endswith("}")
    assert dot.count("{") == dot.count("}")
    assert dot.count("subgraph cluster_") == mermaid.count("subgraph ")
    mermaid_edges = validate_mermaid(mermaid)["edges"]
    dot_edges = re.findall(rf"^\s*({ID}) -> ({ID})", dot, re.M)
    assert dot_edges == [(s, d) for s, d, _ in mermaid_edges]
    declared = set(re.findall(rf"^\s*({ID}) \[label=", dot, re.M))
    assert {n for e in dot_edges for n in e} <= declared
    assert 'label="firewall / NVA\\n10.0.1.4"' in dot
    assert "(`topology.svg`) skipped: Graphviz (`dot`) is not installed" in text


def test_sanitize() -> None:
    assert report.sanitize("rg-bw/vnet.x y") == "rg_bw_vnet_x_y"
    assert report.sanitize("10.0.1.4") == "n_10_0_1_4" and report.sanitize("end") == "n_end"
    g = report.Graph()
    g.node("a", 'say "hi"')
    assert validate_mermaid(report.to_mermaid(g))["nodes"] == {"a"}
    assert "#quot;hi#quot;" in report.to_mermaid(g) and '\\"hi\\"' in report.to_dot(g)


@pytest.mark.usefixtures("shared_renders")
def test_cli_report_dev_without_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str], prod_report: tuple[str, str, str]) -> None:
    assert cli.main(["report", "--stack", "dev", "--out", str(tmp_path)]) == 0
    assert "report.md" in capsys.readouterr().out
    text = (tmp_path / "report.md").read_text()
    # The NSG reachability matrix, evaluated from the rule tables: nothing from the Internet reaches cluster nodes.
    assert "## Reachability" in text
    assert ("| subnets | Tcp 22, 443, 3306, 3389, 5557, 6666, 8443-8451 | Internet -> host (10.10.0.0/22): denied by "
            "workspace inbound: deny-internet-inbound |") in text
    # The CLI renders the combined matrix: the workspace front end through public access and the IP access lists.
    assert "| workspace | Tcp 443 | 52.174.20.0/28 (ALLOW break-glass) -> workspace UI/API: allowed by " in text
    assert text.startswith("# brickwall report: stack dev") and "```mermaid\nflowchart LR" in text
    assert "## Trust boundaries" in text and "### Inbound: who reaches" in text
    for body in (text, prod_report[0]):
        assert project.SECRET_CONFIG_PLACEHOLDER not in body and "s3cr3t-value-from-config" not in body
    assert cli.main(["report", "--stack", "nope", "--out", str(tmp_path)]) == exits.USAGE


def test_combined_reachability_section(prod: Recording, dev: Recording) -> None:
    prod_text, _, _ = _report(prod, spec=stacks.load("prod"))
    assert "## Reachability\n" in prod_text and "Planes:" in prod_text
    section = prod_text.split("## Reachability\n", 1)[1].split("## Topology", 1)[0]
    for line in (
        "| workspace | Tcp 443 | Internet -> workspace UI/API: denied by public network access: Disabled, and this source "
        "has no private path |",
        "| ingress | Tcp 443 | Internet -> ingress LB (internal) to traefik:8443: denied by internal load balancer: a private "
        "frontend only: nothing on the Internet reaches it |",
        "| aks subnet | Tcp 22, 443, 10250 | Internet -> aks (10.30.16.0/23): denied by route: AKS nodes and pods have private "
        "addresses only (private cluster, no public IP) |",
        "| subnets | Tcp 22, 443, 3306, 3389, 5557, 6666, 8443-8451 | Internet -> host (10.30.0.0/21): denied by workspace "
        "inbound: deny-internet-inbound |",
    ):
        assert line in section, line
    # Connectors reach Entra ID (workload identity) over public HTTPS; the firewall is what narrows it to its rules.
    assert ("| kubernetes | Tcp 443 | databricks-apps/jobs-api -> Internet: allowed by NetworkPolicy: databricks-apps/jobs-api "
            "allows egress;" in section) and "egress: firewall 10.0.1.4 in the peered hub, allowing only what rule collection group" in section
    # Pods and nodes of the AKS subnet never reach the cluster nodes, on any port or protocol.
    for workers in ("host (10.30.0.0/21)", "container (10.30.8.0/21)"):
        assert (f"| subnets | every port, any protocol | aks (10.30.16.0/23) -> {workers}: denied by aks outbound: "
                "deny-databricks-clusters-outbound |") in section
    dev_text, _, _ = _report(dev, spec=stacks.load("dev"))
    assert "| workspace | Tcp 443 | 52.174.20.0/28 (ALLOW break-glass) -> workspace UI/API: allowed by " in dev_text
    assert "| workspace | Tcp 443 | Internet -> workspace UI/API: denied by IP access lists: on no ALLOW list |" in dev_text
    assert "ingress LB" not in dev_text


# --- trust boundaries, the grouped matrix, Mermaid's own parser and the Graphviz SVGs ----------------------------


@pytest.fixture(scope="module")
def prod_full(prod: Recording) -> tuple[str, list[report.View]]:
    spec = stacks.load("prod")
    views = report.boundary_views(spec.plan, planfile.to_plan(prod))
    text, _, _ = _report(prod, spec=spec, views=views)
    return text, views


@pytest.fixture(scope="module")
def dev_full(dev: Recording) -> tuple[str, list[report.View]]:
    spec = stacks.load("dev")
    views = report.boundary_views(spec.plan, planfile.to_plan(dev))
    text, _, _ = _report(dev, spec=spec, views=views)
    return text, views


def _edges(view: report.View) -> dict[tuple[str, str], tuple[str, str]]:
    """(source label, destination label or `zone:<key>`) -> (edge label, kind)."""
    def name(node: str) -> str:
        return node if node.startswith("zone:") else view.nodes[node][0]
    return {(name(s), name(d)): (label, kind) for s, d, label, kind in view.edges}


def _zones_of(views: list[report.View]) -> set[str]:
    return {report.ZONES[z][0] for v in views for z in v.zones()}


def test_prod_trust_boundaries(prod_full: tuple[str, list[report.View]]) -> None:
    text, views = prod_full
    assert [v.key for v in views] == ["inbound", "outbound", "inside"]
    # Every boundary the issue names is drawn: Internet, corporate network, hub, workspace VNet, AKS, control plane.
    assert {"Internet", "corporate network (peered / on-premises ranges)", "hub VNet (egress firewall)", "workspace VNet",
            "AKS (ingress tier: nodes and pods)", "Databricks control plane"} <= _zones_of(views)
    inbound, outbound, inside = (_edges(v) for v in views)
    cluster = "Databricks cluster nodes\nhost 10.30.0.0/21, container 10.30.8.0/21"
    # Nothing from the Internet or the control plane's addresses gets into the VNet or AKS, on any port asked.
    for zone in ("zone:vnet", "zone:aks", "zone:control"):
        assert inbound[("Internet (any public address)", zone)] == ("denied", report.DENY)
    # A peered range reaches the cluster nodes on every port asked (the worker-to-worker rule Databricks injects)
    # but no private endpoint; the corporate client range reaches the internal load balancer and Traefik.
    assert inbound[("peered 10.200.0.0/16", cluster)] == ("Tcp 22, 443, 3306, 3389, 5557, 6666, 8443-8451", report.ALLOW)
    assert inbound[("peered 10.200.0.0/16", "private endpoints (9, in 10.30.18.0/27)")][1] == report.DENY
    assert inbound[("10.200.10.0/24", "ingress LB (internal) to traefik:8443")] == ("Tcp 443", report.ALLOW)
    assert inbound[("10.200.10.0/24", "pod ingress/traefik")] == ("Tcp 8443", report.ALLOW)
    assert inbound[("transit VNet (10.130.0.0/24)", "workspace UI / REST API")] == ("Tcp 443", report.ALLOW)
    # Egress: the NSGs let the service tags out to the hub firewall, whose rule collection group names each rule.
    firewall = "Azure Firewall 10.0.1.4\nrule collection group rcg-databricks-prod"
    assert outbound[(cluster, firewall)] == ("Tcp 443, 3306, 9093", report.LINK)
    assert outbound[(firewall, "Sql.WestEurope (service tag)")] == ("Tcp 3306 (databricks-metastore)", report.ALLOW)
    assert outbound[(firewall, "Internet (any public address)")] == ("Udp 123 (aks-ntp)", report.ALLOW)
    assert outbound[(cluster, "zone:internet")] == ("denied", report.DENY)
    # Inside: the promised data paths, with their ports, and the AKS subnet kept off the cluster nodes.
    assert inside[(cluster, "private endpoints: backend\n(backend)")] == ("Tcp 443, 3306, 6666, 8443-8451", report.ALLOW)
    assert inside[(cluster, "private endpoints: sql\n(sql)")] == ("Tcp 1433-65535", report.ALLOW)
    assert inside[(cluster, "private endpoints: key-vault\n(vault)")] == ("denied", report.DENY)
    aks = next(label for label, zone in views[2].nodes.values() if label.startswith("AKS nodes and pods"))
    assert inside[(aks, cluster)] == ("denied", report.DENY)
    assert inside[(aks, "private endpoints: monitor\n(monitor)")] == ("Tcp 443", report.ALLOW)
    assert inside[("private endpoints: backend\n(backend)", "workspace UI / REST API")] == ("Private Link", report.LINK)
    # In the report: a section per view, each with its legend, before the resource tables.
    assert text.index("## Trust boundaries") < text.index("## Resources by component")
    for view in views:
        block = text.split(f"### {view.title}", 1)[1].split("```", 2)[1]
        assert block.startswith("mermaid\nflowchart LR") and "Legend<br/>" in block
        assert "style z_" in block and "linkStyle" in block


def test_dev_trust_boundaries(dev_full: tuple[str, list[report.View]]) -> None:
    _, views = dev_full
    zones = _zones_of(views)
    assert "hub VNet (egress firewall)" not in zones and "AKS (ingress tier: nodes and pods)" not in zones
    inbound, outbound, _ = (_edges(v) for v in views)
    # The NAT gateway is the plan's; the IP access lists' ALLOW ranges share one verdict, so one node.
    nat = "NAT gateway ng-bw-dev-weu"
    assert outbound[(nat, "Internet (any public address)")] == ("Tcp 443", report.ALLOW)
    allowed = next(k for k in inbound if "52.174.20.0/28 (ALLOW break-glass)" in k[0])
    assert "194.8.240.0/24 (ALLOW office)" in allowed[0] and inbound[allowed] == ("Tcp 443", report.ALLOW)
    assert inbound[("Internet (any public address)", "zone:control")] == ("denied", report.DENY)


def test_grouped_reachability_covers_every_row() -> None:
    from components.planning.combined import combined_rows, labels

    for stack in ("dev", "prod"):
        t = stacks.load(stack).plan.topology()
        rows = combined_rows(t)
        table = [line for line in report.grouped_reachability(t).splitlines() if line.startswith("| ")]
        assert table[0] == "| plane | ports | source -> destination: verdict |"
        body = table[1:]
        assert len(body) < len(rows) / 2  # identical port sets grouped
        assert len(set(body)) == len(body)
        verdicts = {"Allow": "allowed by", "Deny": "denied by", "Partial": "partly allowed:", "Depends": "depends on"}
        names = labels(t)
        for r in rows:  # every flow lands in exactly one row, worded with its verdict and rule, its port in the set
            words = (f" | {names.get(r.source, r.source)} -> {names.get(r.destination, r.destination)}: "
                     f"{verdicts[r.access]} {r.decided_by.replace('|', chr(92) + '|')} |")
            hits = [line for line in body if line.startswith(f"| {r.plane} | ") and line.endswith(words)
                    and _covers(line.split(" | ")[1], r.protocol, r.port)]
            assert len(hits) == 1, (r.plane, r.source, r.destination, r.port, hits)


def _covers(cell: str, protocol: str, port: str) -> bool:
    if cell == "every port, any protocol":
        return protocol == "*" and port == "*"
    proto, _, ports = cell.partition(" ")
    lo, hi = parse_ports(port)
    return proto == protocol and any(parse_ports(p)[0] <= lo and hi <= parse_ports(p)[1] for p in ports.split(", "))


def test_port_set() -> None:
    assert report.port_set("Tcp", ["443", "22", "443"]) == "Tcp 22, 443"
    assert report.port_set("Tcp", ["3306", "1433-65535", "1433"]) == "Tcp 1433-65535"
    assert report.port_set("*", ["*"]) == "every port, any protocol"


def test_every_mermaid_block_parses_with_mermaid(prod_full: tuple[str, list[report.View]],
                                                dev_full: tuple[str, list[report.View]]) -> None:
    """Mermaid's own parser (tests/mermaid, pinned) accepts every diagram the reports carry, and rejects a broken one."""
    node = node_with_packages(MERMAID_DIR, "the Mermaid parse check")
    blocks = [b for text, _ in (prod_full, dev_full) for b in re.findall(r"```mermaid\n(.*?)```", text, re.S)]
    assert len(blocks) == 8  # three views and the resource topology, per stack
    # Every edge kind, a denial of a whole box and a label with quotes and line breaks.
    every = report.View("every", "every kind", "")
    a, b = every.node("a", 'say "hi"\nthere', "internet"), every.node("b", "b", "aks")
    for kind in (report.ALLOW, report.DENY, report.OTHER, report.LINK):
        every.edge(a, b, f"Tcp 443 ({kind})", kind)
    every.edge(a, "zone:vnet", "denied", report.DENY)
    text = report.view_mermaid(every)
    assert "linkStyle 2 stroke:#ef6c00" in text and "n_a -.-x|\"denied\"| z_vnet" in text and "#quot;hi#quot;<br/>there" in text
    blocks.append(text)
    broken = "flowchart TB\n    a -->|\"x\"| ]["
    done = subprocess.run([node, str(MERMAID_DIR / "parse.mjs")], input=json.dumps([*blocks, broken]), cwd=MERMAID_DIR,
                          capture_output=True, text=True, timeout=NODE_TIMEOUT, check=False)
    assert done.returncode == 0, tail(done.stderr)
    results = json.loads(done.stdout)
    assert [r["ok"] for r in results] == [True] * len(blocks) + [False], [r for r in results if not r["ok"]]
    assert {r["type"] for r in results[:-1]} == {"flowchart-v2"}


def _write(tmp_path: Path, rec: Recording) -> tuple[list[Path], str]:
    spec = stacks.load(rec.stack)
    written = report.write_report(planfile.to_plan(rec), tmp_path, tier=spec.tier.value, region=spec.region, spec=spec)
    return written, (tmp_path / "report.md").read_text()


SVGS = ("topology.svg", "boundaries-inbound.svg", "boundaries-outbound.svg", "boundaries-inside.svg")


def test_svgs_rendered_by_graphviz(tmp_path: Path, prod: Recording) -> None:
    """With `dot` on PATH, each view is an SVG holding its boundaries and legend; without, the report says so."""
    written, text = _write(tmp_path, prod)
    if shutil.which("dot") is None:
        assert [p.name for p in written] == ["report.md"]
        assert "skipped: Graphviz (`dot`) is not installed" in text
        return
    assert [p.name for p in written] == ["report.md", *SVGS]
    assert "SVG renderings (Graphviz, offline) beside this report: `topology.svg`, `boundaries-inbound.svg`" in text
    for name, zones in (("boundaries-inbound.svg", ("Internet", "corporate network", "workspace VNet", "AKS (ingress tier",
                                                    "Databricks control plane")),
                        ("boundaries-outbound.svg", ("hub VNet (egress firewall)", "Azure services")),
                        ("boundaries-inside.svg", ("workspace VNet", "AKS (ingress tier"))):
        svg = (tmp_path / name).read_text()
        assert svg.lstrip().startswith("<?xml") and "<svg" in svg
        titles = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
        for zone in zones:
            assert any(t.startswith(zone) for t in titles), (name, zone)
        assert "Legend" in titles and any(t.startswith("red dashed arrow") for t in titles)
    assert "Tcp 3306 (databricks&#45;metastore)" in (tmp_path / "boundaries-outbound.svg").read_text()


def test_svgs_skipped_without_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dev: Recording) -> None:
    monkeypatch.setattr(report.shutil, "which", lambda name: None)
    written, text = _write(tmp_path, dev)
    assert [p.name for p in written] == ["report.md"] and not list(tmp_path.glob("*.svg"))
    assert ("SVG renderings (`topology.svg`, `boundaries-inbound.svg`, `boundaries-outbound.svg`, `boundaries-inside.svg`) "
            "skipped: Graphviz (`dot`) is not installed on this machine") in text


def test_svgs_skipped_when_graphviz_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dev: Recording) -> None:
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'syntax error in line 1' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setattr(report.shutil, "which", lambda name: str(fake))
    written, text = _write(tmp_path / "out", dev)
    assert [p.name for p in written] == ["report.md"]
    assert "SVG renderings skipped: Graphviz (`dot`) failed: topology.svg: exit 1: syntax error in line 1" in text
