"""`python -m brickwall audit --stack NAME`: read the live workspace and its Azure resources, compare them with the
spec and the plan. What is read and compared: brickwall/audit.py (Databricks), brickwall/audit_azure.py (ARM),
brickwall/audit_kubernetes.py and brickwall/audit_logs.py (opt-in); this module wires them to the command line.

Exit codes (brickwall/exits.py): 0 clean; AUDIT_FINDINGS findings exist; AUDIT_UNREADABLE an API refused or answered
something that is not the API's shape (which permission to grant is said); UNREACHABLE the host does not answer;
USAGE an unknown stack, no host, no credentials; INVALID an invalid spec.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from brickwall import audit, audit_azure, audit_kubernetes, engine, exits, planfile, project, reach
from brickwall.audit import DEFAULT_TIMEOUT, DEPLOYER_CONFIG, SEVERITIES, Finding, Report, Unreadable
from brickwall.cli.loading import load_spec, record, saved_plan
from brickwall.cli.output import emit, output_options, progress
from brickwall.cli.parsing import command
from brickwall.driver import DriverError
from brickwall.errors import Unreachable, UsageError
from brickwall.ledger import default_state_dir
from components.planning.workspace_settings import ALL_KEYS

NAME = "audit"
SKIPPED_AZURE = ("Azure (--skip-azure): NSG rules, cluster NICs' effective rules, the workspace's network "
                 "settings, the storage and Key Vault firewalls and the locks were not compared")


def add_parser(sub: Any) -> None:
    p = command(sub, NAME, "read the live workspace (read-only) and compare it with the spec and the plan: "
                           "clusters, jobs (run as, owners), policies, tokens, admins, IP access lists, workspace "
                           "conf, and in Azure the NSG rules, cluster NICs' effective rules, the workspace's network "
                           "settings, the storage and Key Vault firewalls and the locks; exit 7 when "
                           "findings exist, 8 when something could not be read",
                "python -m brickwall audit --stack prod --format markdown --output audit.md")
    p.add_argument("--stack", help="the stack (python -m brickwall stacks); with --spec, the stack to render it under")
    p.add_argument("--spec", metavar="FILE", help="audit against this JSON or YAML spec file instead of the stack's own")
    p.add_argument("--plan", metavar="FILE", help="a saved plan file (plan --format json) instead of rendering again")
    p.add_argument("--host", metavar="URL", help="the workspace URL (default: the stack's workspaceUrl output)")
    p.add_argument("--deployer", action="append", metavar="APP_ID", default=None,
                   help="application id of a service principal that administers the workspace besides the admin groups "
                        f"(the deploying one; repeat for the auditing one); default: stack config {DEPLOYER_CONFIG}")
    p.add_argument("--backend", metavar="URL", help="the Pulumi state backend to read workspaceUrl from (default "
                                                    "$BRICKWALL_BACKEND, else $PULUMI_BACKEND_URL)")
    p.add_argument("--secrets-provider", metavar="URL", help="the stack secrets provider (default $BRICKWALL_SECRETS_PROVIDER)")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT,
                   help=f"seconds to keep retrying an API that does not answer (default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--subscription", metavar="ID", help="the Azure subscription of the environment (default: stack "
                                                        "config azure-native:subscriptionId, else the plan's ARM ids)")
    p.add_argument("--skip-azure", action="store_true", help="audit the Databricks workspace only (no NSG rules, "
                                                              "cluster NICs, workspace network settings, storage and "
                                                              "Key Vault firewalls or locks)")
    p.add_argument("--arm-endpoint", metavar="URL", help="the Azure Resource Manager endpoint (default: the public "
                                                         "cloud's, https://management.azure.com)")
    # Opt-in parts (they need inputs of their own): the ingress tier's cluster, and the Log Analytics workspace.
    p.add_argument("--kubeconfig", metavar="FILE", help="also audit the ingress tier's cluster (NetworkPolicies, routes, "
                                                        "Secrets) through this kubeconfig (brickwall/audit_kubernetes.py)")
    p.add_argument("--context", metavar="NAME", help="with --kubeconfig: the kubeconfig context (default its current one)")
    p.add_argument("--logs-workspace", metavar="ID", help="also read the logs: the Log Analytics workspace id (its "
                                                          "customer id) to query (brickwall/audit_logs.py)")
    p.add_argument("--days", type=int, default=7, help="with --logs-workspace: the window in days (default 7)")
    p.add_argument("--logs-endpoint", metavar="URL", help="with --logs-workspace: the query endpoint (default the "
                                                          "public cloud's, https://api.loganalytics.io)")
    output_options(p, ("text", "markdown", "json"), "text", legacy_json=False)


def _in_stack(stack: str, exc: audit.Unreachable | Unreadable, unreachable: str) -> Exception:
    """A read that failed, said of the stack: Unreachable (what did not answer) or Unreadable (each refusal)."""
    if isinstance(exc, Unreadable):
        return Unreadable([f"{stack}: cannot read {line}" for line in exc.lines])
    return Unreachable(f"{stack}: {unreachable}")


def _optional_parts(args: argparse.Namespace, stack: str, spec: Any, plan: dict[str, Any], credential: Any,
                    progress: Callable[[str], None]) -> tuple[list[Finding], dict[str, int]]:
    """The opt-in Kubernetes and Logs parts: their findings and read counts. Unreachable/Unreadable as the others."""
    findings: list[Finding] = []
    counts: dict[str, int] = {}
    if args.kubeconfig:
        # Lazy: the kubernetes client is an optional, heavy SDK only --kubeconfig needs (start-up of every command).
        from kubernetes.config import ConfigException

        try:
            api = audit_kubernetes.make_api(args.kubeconfig, args.context)
        except (ConfigException, OSError) as exc:
            raise UsageError(f"cannot load the kubeconfig {args.kubeconfig}: {audit._one_line(exc)}") from None
        try:
            findings += audit_kubernetes.kubernetes_findings(plan, api, progress)
        except (audit.Unreachable, Unreadable) as exc:
            raise _in_stack(stack, exc, str(exc)) from None
    if args.logs_workspace:
        # Lazy: audit_logs imports azure-monitor-query, an optional, heavy SDK only --logs-workspace needs.
        from brickwall import audit_logs

        if args.days < 1:
            raise UsageError("--days must be at least 1")
        credential = credential if credential is not None else audit_azure.default_credential()
        client = audit_logs.make_client(args.logs_endpoint, credential)
        progress(f"brickwall audit: querying the logs of {stack} ({args.days} days)")
        try:
            found = audit_logs.log_findings(plan, spec, client, args.logs_workspace, args.days)
        except audit_logs.LogsUnreachable as exc:
            raise Unreachable(f"{stack}: the Log Analytics query endpoint: {exc}") from None
        except audit_logs.LogsUnreadable as exc:
            raise Unreadable([f"{stack}: cannot read {exc}"]) from None
        findings += found
        counts["log_findings"] = len(found)
    return findings, counts


def _host(args: argparse.Namespace, stack: str, environ: Mapping[str, str],
          outputs: Callable[[str], Mapping[str, Any] | None] | None) -> str:
    if args.host:
        url = args.host
    else:
        try:
            if outputs is None:
                outputs = reach.outputs_reader(args.backend, args.secrets_provider, default_state_dir(), environ)
            found = outputs(stack)
        except DriverError as exc:
            raise UsageError(f"{stack}: cannot read its {reach.OUTPUT} output ({audit._one_line(exc)}); give --host URL") from None
        value = (found or {}).get(reach.OUTPUT)
        if not isinstance(value, str) or not value:
            raise UsageError(f"{stack}: no {reach.OUTPUT} output in the backend (not deployed?); give --host URL")
        url = value
    host = url.strip().rstrip("/")
    return host if "://" in host else f"https://{host}"


def _deployers(args: argparse.Namespace, stack: str) -> list[str]:
    if args.deployer:
        return list(args.deployer)
    try:
        config, _ = project.stack_config(stack)
    except Exception:  # an unknown stack name under --spec: no stack file, no config
        return []
    value = config.get(DEPLOYER_CONFIG)
    return [value] if value else []


def client_for(host: str, timeout: float) -> Any:
    try:
        # Lazy: databricks-sdk is an optional, heavy SDK only the audit needs (start-up of every other command).
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.config import Config
    except ImportError:
        raise UsageError("the audit reads the workspace with databricks-sdk: pip install databricks-sdk==0.162.0 "
                         "(requirements-dev.txt)") from None

    # Credentials come from the environment as the provider's do (DATABRICKS_TOKEN, DATABRICKS_CLIENT_ID/SECRET,
    # ARM_CLIENT_ID/SECRET/TENANT_ID, the Azure CLI): databricks-sdk Config. TLS is verified by requests, which
    # trusts REQUESTS_CA_BUNDLE when set (the SDK has no CA option of its own).
    config = Config(host=host, retry_timeout_seconds=max(1, int(timeout)), http_timeout_seconds=timeout)
    return WorkspaceClient(config=config)


def _azure_setup(args: argparse.Namespace, stack: str, spec: Any, plan: Mapping[str, Any],
                 credential: Any) -> tuple[str, Any, Any]:
    """The subscription, the management clients and what the plan expects; a usage error when there is no
    subscription or no credential (--skip-azure says the Azure part is not wanted)."""
    try:
        config, _ = project.stack_config(stack)
    except Exception:  # an unknown stack name under --spec: no stack file, no config
        config = {}
    subscription = audit_azure.subscription_of(args.subscription, config, plan, engine.SUBSCRIPTION_ID)
    if problems := audit_azure.usage_problems(subscription):
        raise UsageError(problems[0])
    assert subscription is not None
    try:
        absent = [m for m in ("azure.identity", "azure.mgmt.databricks", "azure.mgmt.network", "azure.mgmt.resource.locks",
                                 "azure.mgmt.storage", "azure.mgmt.keyvault")
                  if importlib.util.find_spec(m) is None]
    except ModuleNotFoundError:  # no azure namespace package at all
        absent = ["azure"]
    if absent:
        raise UsageError("the audit reads Azure with Microsoft's SDKs: pip install -r requirements.txt "
                         "(azure-identity, azure-mgmt-network, azure-mgmt-databricks, azure-mgmt-resource-locks, "
                         "azure-mgmt-storage, azure-mgmt-keyvault), "
                         "or --skip-azure") from None
    if credential is None:
        credential = audit_azure.default_credential()
    clients = audit_azure.clients_for(credential, subscription, args.arm_endpoint, args.timeout)
    return subscription, clients, audit_azure.expected_azure(plan, spec)


def run(args: argparse.Namespace, *, environ: Mapping[str, str] | None = None,
        outputs: Callable[[str], Mapping[str, Any] | None] | None = None,
        client_factory: Callable[[str, float], Any] = client_for, azure_credential: Any = None) -> int:
    """`outputs` reads a stack's outputs (default: the Pulumi backend through the Automation API, as `reach`);
    `azure_credential` is any azure.core TokenCredential (default: azure-identity's DefaultAzureCredential).
    Returns OK or AUDIT_FINDINGS; raises what did not answer or could not be read (brickwall/cli/errors.py)."""
    environ = os.environ if environ is None else environ
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    spec = load_spec(args)
    stack = args.stack or spec.name
    if args.plan:
        plan = saved_plan(args.plan)
        if plan.get("stack") and plan["stack"] != stack:
            raise UsageError(f"{args.plan} is the plan of stack {plan['stack']}, not {stack}")
    else:
        progress(f"brickwall audit: rendering {stack} offline")
        plan = planfile.to_plan(record(args)[2])
    exp = audit.expected(spec, plan, _deployers(args, stack))
    azure = None if args.skip_azure else _azure_setup(args, stack, spec, plan, azure_credential)
    host = _host(args, stack, environ, outputs)
    # The SDK logs its own retries and a failed host-metadata probe as warnings: the one-line messages here say it.
    logging.getLogger("databricks.sdk").setLevel(logging.CRITICAL)

    def workspace_failed(exc: audit.Unreachable | Unreadable) -> Exception:
        return _in_stack(stack, exc, f"{host} does not answer ({exc}); run from a network that reaches the "
                                     f"workspace (python -m brickwall reach --stack {stack})")

    try:
        # Before the client, whose configuration already asks the host (with retries): an untrusted certificate is
        # said at once, not after --timeout of retries.
        audit.check_trust(host, args.timeout)
    except audit.Unreachable as exc:
        raise workspace_failed(exc) from None
    try:
        client = client_factory(host, args.timeout)
    except ValueError as exc:
        raise UsageError(f"cannot authenticate to {host}: {audit._one_line(exc)}") from None
    keys = [k.key for k in ALL_KEYS if k.key in exp.conf] or [k.key for k in ALL_KEYS]
    subscription = None
    # The workspace and Azure Resource Manager are read at once (each SDK's own reads are parallel inside): an audit
    # takes as long as the slower of the two, not their sum. A failure of the workspace is said first, as before.
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        workspace_read = pool.submit(audit.read, client, keys, progress)
        azure_read = None
        if azure is not None:
            subscription, clients, azure_exp = azure
            azure_read = pool.submit(audit_azure.read_azure, clients, azure_exp, subscription, engine.SUBSCRIPTION_ID,
                                     progress)
        try:
            live = workspace_read.result()
        except (audit.Unreachable, Unreadable) as exc:
            raise workspace_failed(exc) from None
        except ValueError as exc:  # credentials the SDK could not turn into a header (no usable auth in the environment)
            raise UsageError(f"cannot authenticate to {host}: {audit._one_line(exc)}") from None
        try:
            azure_live = azure_read.result() if azure_read is not None else None
        except (audit.Unreachable, Unreadable) as exc:
            raise _in_stack(stack, exc, f"Azure Resource Manager does not answer ({exc}); run from a network that "
                                        "reaches it, or --skip-azure") from None
    findings = audit.compare(exp, live)
    counts = audit.counts_of(live)
    skipped = [SKIPPED_AZURE]
    if azure is not None and azure_live is not None:
        findings += audit_azure.compare_azure(azure[2], azure_live)
        counts.update(audit_azure.counts_of(azure_live))
        skipped = []
    extra, extra_counts = _optional_parts(args, stack, spec, plan, azure_credential, progress)
    findings = sorted(findings + extra, key=lambda f: (SEVERITIES.index(f.severity), f.kind, f.object))
    counts.update(extra_counts)
    progress("")
    notes = list(live.notes)
    if not any(g.display_name == audit.ADMINS_GROUP for g in live.groups):
        notes.append(f"the groups answer holds no `{audit.ADMINS_GROUP}` group: workspace admins were not compared")
    own = {name for name, p in exp.policies.items() if p.definition is not None}  # not built-in Personal Compute
    if (own or exp.ip_lists) and not ({p.name for p in live.policies} & own
                                      or {x.label for x in live.ip_lists} & set(exp.ip_lists)):
        notes.append("the workspace holds none of the planned cluster policies and IP access lists: is this the "
                     "stack's workspace, and has it been deployed?")
    report = Report(stack, host, findings, counts, notes, subscription, skipped)
    if args.format == "json":
        emit(args, json.dumps(report.to_json(), indent=2) + "\n")
    elif args.format == "markdown":
        emit(args, audit.render_markdown(report))
    else:
        emit(args, audit.render_text(report))
    return exits.AUDIT_FINDINGS if findings else exits.OK
