"""Every alert query compiles against the Log Analytics table reference, with Microsoft's own KQL parser.

A scheduled query rule whose query names a table or column that does not exist never fires, and Azure accepts it
anyway. Here each query the program registers (every stack, and the all-features variant), and every query the
planner can produce (components/planning/alerts.alert_rules with every rule switched on), is parsed and bound by
Kusto.Language (npm `@kusto/language-service-next`, pinned in tests/kql/package.json and its lock file; run by
tests/kql/compile.js) against the tables of the Azure Monitor Logs table reference (tests/kql/log-analytics-tables.json,
see tests/kql/README.md). Any diagnostic, error or warning, fails.

The module fixture installs the package itself (`npm ci` from the committed lock file) when tests/kql/node_modules is
missing or older than the lock file, as tests/test_crd_schemas.py does for tests/crd.
"""

from __future__ import annotations

import json
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import stacks
from brickwall.engine import Recording
from components.planning.alerts import SOURCE_IP_TABLES, alert_rules
from components.spec import EnvironmentSpec
from components.spec.audit import AlertsSpec
from tests.conftest import recording_of
from tests.node_tools import NODE_TIMEOUT, node_with_packages, tail

KQL_DIR = Path(__file__).resolve().parent / "kql"
COMPILER = KQL_DIR / "compile.js"
REFERENCE = KQL_DIR / "log-analytics-tables.json"
RULE = "azure-native:monitor:ScheduledQueryRule"


class Compiler:
    """One `node compile.js` for the module, one request per line (loading the language service is the slow part)."""

    def __init__(self, node: str) -> None:
        self.process = subprocess.Popen([node, str(COMPILER)], cwd=KQL_DIR, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def compile(self, tables: dict[str, dict[str, str]], queries: list[str]) -> list[list[dict[str, Any]]]:
        """compile.js's diagnostics per query (severity, code, message, start, length)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"tables": tables, "queries": queries}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], NODE_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            _, err = self.process.communicate()
            pytest.fail(f"compile.js gave no answer (exit {self.process.returncode})\n{tail(err)}", pytrace=False)
        results: list[list[dict[str, Any]]] = json.loads(line)
        assert len(results) == len(queries)
        return results

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=NODE_TIMEOUT)
        assert self.process.returncode == 0, f"compile.js exited {self.process.returncode}"


@pytest.fixture(scope="module")
def node() -> Iterator[Compiler]:
    """compile.js under node, with the pinned KQL parser installed in tests/kql (npm ci when missing or stale)."""
    compiler = Compiler(node_with_packages(KQL_DIR, "the alert-query check"))
    yield compiler
    compiler.close()


@pytest.fixture(scope="module")
def tables() -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = json.loads(REFERENCE.read_text())["tables"]
    return found


def problems(node: Compiler, tables: dict[str, dict[str, str]], queries: dict[str, str]) -> list[str]:
    """Every diagnostic of every query, as "<key>: <severity> <code> at <offset> '<text>': <message>"."""
    keys = list(queries)
    found = []
    for key, diagnostics in zip(keys, node.compile(tables, [queries[k] for k in keys]), strict=True):
        for d in diagnostics:
            text = queries[key][d["start"]:d["start"] + d["length"]]
            found.append(f"{key}: {d['severity']} {d['code']} at {d['start']} {text!r}: {d['message']}")
    return found


def registered_queries(rec: Recording, label: str) -> dict[str, str]:
    queries = {}
    for reg in rec.of_type(RULE):
        conditions = reg.inputs["criteria"]["allOf"]
        for i, condition in enumerate(conditions):
            queries[f"{label}/{reg.name}[{i}]"] = condition["query"]
    return queries


def every_planned_query() -> dict[str, str]:
    """Every rule the planner can produce: a prod tier, allowed countries, flow logs and the ingress cluster."""
    rules = alert_rules(AlertsSpec(allowed_countries=("Netherlands", "Germany")), tier="prod",
                        ingress_namespace="ingress", flow_logs=True)
    return {f"planned/{rule.key}": rule.query for rule in rules}


def test_reference_holds_every_table_the_rules_read(tables: dict[str, dict[str, str]]) -> None:
    # `union isfuzzy=true` only warns about a missing table; the planner's own list of tables must all exist.
    rules = alert_rules(AlertsSpec(allowed_countries=("Netherlands",)), tier="prod", ingress_namespace="ingress",
                        flow_logs=True)
    assert {rule.key for rule in rules} == {"failed_auth", "ip_access_denied", "unexpected_country",
                                            "human_token_creation", "denied_flows", "ingress_errors", "ingress_volume"}
    read = {table for rule in rules for table in rule.tables}
    assert set(SOURCE_IP_TABLES) <= read
    assert read <= set(tables), f"not in the table reference: {sorted(read - set(tables))}"


@pytest.mark.parametrize("stack_name", ["dev", "staging", "prod"])
def test_every_alert_query_of_every_stack_compiles(node: Compiler, tables: dict[str, dict[str, str]], stack_name: str) -> None:
    queries = registered_queries(recording_of(stack_name), stack_name)
    # dev switches alerting off (its tier default): then it registers none, and there is nothing to compile.
    assert bool(queries) == stacks.load(stack_name).monitoring.alerts.enabled
    assert problems(node, tables, queries) == []


def test_every_alert_query_of_the_all_features_variant_compiles(
        node: Compiler, tables: dict[str, dict[str, str]], all_features_env: tuple[Recording, EnvironmentSpec]) -> None:
    rec, _ = all_features_env
    queries = registered_queries(rec, "all-features")
    # The ingress rules read ContainerLogV2: prod runs its own AKS cluster, so they are among them.
    assert any("ContainerLogV2" in q for q in queries.values())
    assert problems(node, tables, queries) == []


def test_every_query_the_planner_can_produce_compiles(node: Compiler, tables: dict[str, dict[str, str]]) -> None:
    queries = every_planned_query()
    assert len(queries) == 7
    assert problems(node, tables, queries) == []


@pytest.mark.parametrize(("mutation", "before", "after", "code"), [
    ("misspelt column", "PodNamespace ==", "PodNamspace ==", "KS142"),
    ("misspelt table", "ContainerLogV2\n", "ContainerLogsV2\n", "KS204"),
    ("unknown function", "toint(LogMessage", "to_int(LogMessage", "KS"),
    ("syntax error", "| where Status in (401, 403)", "| where Status in (401, 403", "KS"),
])
def test_a_broken_query_is_reported(node: Compiler, tables: dict[str, dict[str, str]], mutation: str, before: str,
                                    after: str, code: str) -> None:
    query = every_planned_query()["planned/ingress_errors"]
    assert before in query, mutation
    found = problems(node, tables, {"mutant": query.replace(before, after, 1)})
    assert found, f"{mutation} went unreported"
    assert any(f" {code}" in problem for problem in found), found


def test_a_column_missing_from_the_reference_is_reported(node: Compiler, tables: dict[str, dict[str, str]]) -> None:
    # The check reads the reference, not a built-in schema: drop a column the query uses and it fails.
    query = every_planned_query()["planned/denied_flows"]
    pruned = {**tables, "NTANetAnalytics": {c: t for c, t in tables["NTANetAnalytics"].items() if c != "DeniedOutFlows"}}
    found = problems(node, pruned, {"q": query})
    assert any("KS142" in p and "DeniedOutFlows" in p for p in found), found


def test_the_audit_log_queries_compile(node: Compiler, tables: dict[str, dict[str, str]]) -> None:
    # brickwall/audit_logs.py reads the same tables as the alerts: the flows and the Databricks sign-ins by source.
    from brickwall import audit_logs

    queries = {f"audit/{key}": query for key, query in audit_logs.QUERIES.items()}
    assert {q.split("\n", 1)[0] for q in queries.values()} == {"NTANetAnalytics", "DatabricksAccounts"}
    assert problems(node, tables, queries) == []
    # The binder sees these queries too: a column the audit reads, dropped from the reference, is reported.
    pruned = {**tables, "DatabricksAccounts": {c: t for c, t in tables["DatabricksAccounts"].items() if c != "SourceIPAddress"}}
    found = problems(node, pruned, {"q": audit_logs.ACCOUNTS_QUERY})
    assert any("KS142" in p and "SourceIPAddress" in p for p in found), found
