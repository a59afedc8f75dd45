"""The policy pack run the way the Pulumi CLI runs it: a subprocess serving the Analyzer gRPC service.

How the CLI starts a Python pack (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer):
python and nodejs packs still go through the legacy `pulumi-analyzer-policy-python` plugin, run with the pack
directory as working directory and the arguments `<engine address> .` (plus `-key=value` runtime options), with
PULUMI_CONFIG / PULUMI_PROJECT / PULUMI_STACK / PULUMI_DRY_RUN / PULUMI_ORGANIZATION in its environment
(constructEnv). That script (sdk/python/dist/pulumi-analyzer-policy-python) runs `python -u -m pulumi.policy "$1" "$2"`,
which runs the directory's __main__.py; `PolicyPack(...)` then serves the Analyzer service on 127.0.0.1 and prints its
port on stdout. The engine address is parsed but never dialled by pulumi.policy or pulumi-policy 1.21.0 (no engine
Settings, no logging over gRPC), so no fake Engine service is needed here.

What the engine sends (same file): Analyze and AnalyzeStack marshal properties with
`MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipInternalKeys: true}`, so secrets arrive wrapped in Pulumi's
secret signature ({"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ...}) and unknowns
as the unknown sentinel string. pulumi-policy's `Analyze` then calls `deserialize_properties(...)` without
`proxy_secrets` (pulumi_policy/policy.py; only `Remediate` keeps them), which unwraps every secret to its plain value:
a rule cannot tell a secret from a plain string, which is why the Kubernetes-Secret rule reports itself not applicable
under the real analyzer. Before analysing, the engine calls GetAnalyzerInfo, then Configure with every policy's
enforcement level and the config properties reconciled with each policy's schema (ReconcilePolicyPackConfig).
"""

from __future__ import annotations

import copy
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, Policy, ResourceValidationPolicy, StackValidationPolicy

from brickwall import check, planfile

ROOT = Path(__file__).resolve().parent.parent
POLICIES = check.load_policies()
TIMEOUT = 30.0
SIG_KEY, SECRET_SIG = "4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270"
UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
LEVELS = {
    EnforcementLevel.ADVISORY: analyzer_pb2.ADVISORY,
    EnforcementLevel.MANDATORY: analyzer_pb2.MANDATORY,
    EnforcementLevel.REMEDIATE: analyzer_pb2.REMEDIATE,
    EnforcementLevel.DISABLED: analyzer_pb2.DISABLED,
}
Plan = dict[str, Any]


def _level(policy: Policy) -> EnforcementLevel:
    return policy.enforcement_level or EnforcementLevel.ADVISORY


# --- the engine's side of the wire -------------------------------------------------------------------------------


def wire(value: Any) -> Any:
    """Plan-file value -> what the engine marshals for analyzers: "[secret]" as a secret-signature object (the plan
    file no longer has the value), "[unknown]" as the unknown sentinel."""
    if value == "[secret]":
        return {SIG_KEY: SECRET_SIG, "value": value}
    if value == planfile.UNKNOWN_PLACEHOLDER:
        return UNKNOWN_SENTINEL
    if isinstance(value, dict):
        return {k: wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [wire(v) for v in value]
    return value


def struct(props: Any) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def _options(entry: dict[str, Any]) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=bool(entry.get("protect")), ignoreChanges=list(entry.get("ignoreChanges", [])), parent=entry.get("parent") or "",
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
    )


def _provider(entry: dict[str, Any], plan: Plan) -> analyzer_pb2.AnalyzerProviderResource | None:
    by_urn = {e["urn"]: e for e in plan["resources"]}
    ref = check.provider_ref(entry, by_urn, plan["stack"], plan["project"])
    if ref is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(type=ref.type, urn=ref.urn, name=ref.name, properties=struct(wire(dict(ref.inputs))))


def analyze_request(entry: dict[str, Any], plan: Plan, props: dict[str, Any] | None = None) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(
        type=entry["type"], urn=entry["urn"], name=entry["name"], properties=struct(wire(props if props is not None else entry["inputs"])),
        options=_options(entry), provider=_provider(entry, plan),
    )


def stack_request(plan: Plan) -> analyzer_pb2.AnalyzeStackRequest:
    resources = [
        analyzer_pb2.AnalyzerResource(
            type=e["type"], urn=e["urn"], name=e["name"], properties=struct(wire(e["inputs"])), options=_options(e),
            provider=_provider(e, plan), parent=e.get("parent") or "", dependencies=list(e.get("dependencies", [])),
        )
        for e in plan["resources"]
    ]
    return analyzer_pb2.AnalyzeStackRequest(resources=resources)


def configure_request(properties: dict[str, dict[str, Any]] | None = None) -> analyzer_pb2.ConfigureAnalyzerRequest:
    """Every policy at its own level plus the given per-policy properties, as ReconcilePolicyPackConfig produces."""
    properties = properties or {}
    return analyzer_pb2.ConfigureAnalyzerRequest(policyConfig={
        p.name: analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[_level(p)], properties=struct(properties.get(p.name, {})))
        for p in POLICIES
    })


# --- the pack process --------------------------------------------------------------------------------------------


def _read_port(proc: subprocess.Popen[bytes], log: Path) -> int:
    assert proc.stdout is not None
    deadline = time.monotonic() + TIMEOUT
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or proc.poll() is not None:
            raise AssertionError(f"the pack printed no port (exit code {proc.poll()}):\n{log.read_text()[-4000:]}")
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if ready:
            chunk = os.read(proc.stdout.fileno(), 1)
            if not chunk:
                continue
            line += chunk
    return int(line.strip())


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[analyzer_pb2_grpc.AnalyzerStub, Path]]:
    log = tmp_path_factory.mktemp("pack") / "stderr.log"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PULUMI_CONFIG")}
    # constructEnv; the repository root is deliberately not on PYTHONPATH: __main__.py must add it itself.
    env.update(PULUMI_PROJECT="brickwall", PULUMI_STACK="prod", PULUMI_DRY_RUN="true", PULUMI_ORGANIZATION="organization",
               PULUMI_CONFIG=json.dumps({"brickwall:specFile": ""}))
    with log.open("wb") as stderr:
        # -X importtime lists every module the pack imports on stderr: the test checks the dependency-free chain.
        proc = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
            cwd=ROOT / "policies", env=env, stdout=subprocess.PIPE, stderr=stderr,
        )
    channel = None
    try:
        port = _read_port(proc, log)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=TIMEOUT)
        yield analyzer_pb2_grpc.AnalyzerStub(channel), log
    finally:
        if channel is not None:
            channel.close()
        proc.kill()
        proc.wait(timeout=TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def analyzer(pack: tuple[analyzer_pb2_grpc.AnalyzerStub, Path]) -> analyzer_pb2_grpc.AnalyzerStub:
    """The pack after the engine's start-up calls: Handshake (tolerated as unimplemented), ConfigureStack, Configure."""
    stub, _ = pack
    try:
        stub.Handshake(analyzer_pb2.AnalyzerHandshakeRequest(engine_address="127.0.0.1:1", root_directory=".", program_directory="."),
                       timeout=TIMEOUT)
    except grpc.RpcError as exc:
        assert exc.code() == grpc.StatusCode.UNIMPLEMENTED, exc  # the engine falls back when a pack does not implement it
    stub.ConfigureStack(analyzer_pb2.AnalyzerStackConfigureRequest(stack="prod", project="brickwall", organization="organization"),
                        timeout=TIMEOUT)
    stub.Configure(configure_request(), timeout=TIMEOUT)
    return stub


def _entry(plan: Plan, name: str) -> dict[str, Any]:
    [found] = [r for r in plan["resources"] if r["name"] == name]
    return found


def _analyze(stub: analyzer_pb2_grpc.AnalyzerStub, request: analyzer_pb2.AnalyzeRequest) -> analyzer_pb2.AnalyzeResponse:
    response: analyzer_pb2.AnalyzeResponse = stub.Analyze(request, timeout=TIMEOUT)
    return response


# --- tests ---------------------------------------------------------------------------------------------------------


def test_pack_imports_no_dependency_outside_its_requirements(pack: tuple[analyzer_pb2_grpc.AnalyzerStub, Path]) -> None:
    _, log = pack
    imported = {line.rsplit("|", 1)[-1].strip() for line in log.read_text().splitlines() if line.startswith("import time:")}
    # importtime records `import` statements only (not importlib.import_module), which is all the rule modules use.
    assert {"brickwall_rules", "brickwall_rules.base", "components.planning.tier_limits", "pulumi_policy"} <= imported
    heavy = sorted(m for m in imported if m.split(".")[0] in ("pydantic", "brickwall", "stacks")
                   or (m.startswith("components.") and not m.startswith("components.planning")))
    assert heavy == []


def test_analyzer_info_lists_every_rule_with_its_level_and_config_schema(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    import brickwall_rules

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=TIMEOUT)
    assert info.name == "brickwall-guardrails" and info.supportsConfig
    served = {p.name: p for p in info.policies}
    assert list(served) == [p.name for p in POLICIES]
    for policy in POLICIES:
        got = served[policy.name]
        assert got.enforcementLevel == LEVELS[_level(policy)], policy.name
        assert got.description == policy.description and got.remediation_steps == policy.remediation_steps
        schema = json_format.MessageToDict(got.configSchema.properties)
        assert schema == (dict(policy.config_schema.properties) if policy.config_schema else {}), policy.name
        if policy.name in brickwall_rules.TIERED:
            assert schema["tier"]["enum"] == ["dev", "staging", "prod"] and schema["tier"]["type"] == "string", policy.name
    assert served["nsg-no-internet-inbound"].enforcementLevel == analyzer_pb2.MANDATORY
    assert served["azure-required-tags"].enforcementLevel == analyzer_pb2.ADVISORY


def _offline(plan: Plan) -> check.CheckResult:
    """`brickwall check` on the same plan, configured as the served pack is (no secret markers)."""
    return check.check_plan(plan, POLICIES, config={"secretMarkers": False})


def _served(diag: analyzer_pb2.AnalyzeDiagnostic, urn: str) -> tuple[str, str, str]:
    # The SDK prefixes the policy description; a resource policy's report carries no urn of its own.
    return diag.policyName, diag.urn or urn, diag.message.split("\n", 1)[1]


def test_every_clean_prod_resource_passes_analyze_as_brickwall_check_says(analyzer: analyzer_pb2_grpc.AnalyzerStub, prod_plan: Plan) -> None:
    custom = [e for e in prod_plan["resources"] if e.get("custom", True) and not e["type"].startswith("pulumi:providers:")]
    assert len(custom) > 50
    served = []
    for entry in custom:
        served += [(_served(d, entry["urn"]), d.enforcementLevel) for d in _analyze(analyzer, analyze_request(entry, prod_plan)).diagnostics]
    assert [d for d, level in served if level == analyzer_pb2.MANDATORY] == []
    resource_rules = {p.name for p in POLICIES if isinstance(p, ResourceValidationPolicy)}
    offline = sorted((v.policy, v.urn, v.message) for v in _offline(prod_plan).violations if v.policy in resource_rules)
    assert sorted(d for d, _ in served) == offline  # advisories included: the served pack and `check` agree


def test_nsg_rule_open_to_the_internet_on_22_is_a_mandatory_diagnostic(analyzer: analyzer_pb2_grpc.AnalyzerStub, prod_plan: Plan) -> None:
    entry = _entry(prod_plan, "prod-network-nsg-allow-entra-id-outbound")
    props = {**copy.deepcopy(entry["inputs"]), "direction": "Inbound", "sourceAddressPrefix": "Internet", "destinationPortRange": "22"}
    [diag] = _analyze(analyzer, analyze_request(entry, prod_plan, props)).diagnostics
    assert diag.policyName == "nsg-no-internet-inbound" and diag.policyPackName == "brickwall-guardrails"
    assert diag.enforcementLevel == analyzer_pb2.MANDATORY
    assert "22 (SSH)" in diag.message and "Internet" in diag.message


def test_whole_clean_prod_plan_passes_analyze_stack(analyzer: analyzer_pb2_grpc.AnalyzerStub, prod_plan: Plan) -> None:
    response = analyzer.AnalyzeStack(stack_request(prod_plan), timeout=TIMEOUT)
    assert [d for d in response.diagnostics if d.enforcementLevel == analyzer_pb2.MANDATORY] == []
    assert list(response.not_applicable) == []
    stack_rules = {p.name for p in POLICIES if isinstance(p, StackValidationPolicy)}
    offline = sorted((v.policy, v.urn, v.message) for v in _offline(prod_plan).violations if v.policy in stack_rules)
    assert sorted(_served(d, "") for d in response.diagnostics) == offline


def test_analyze_stack_reports_a_missing_backend_endpoint_with_its_urn(analyzer: analyzer_pb2_grpc.AnalyzerStub, prod_plan: Plan) -> None:
    plan = copy.deepcopy(prod_plan)
    plan["resources"].remove(_entry(plan, "prod-private-link-backend-pe"))
    diags = list(analyzer.AnalyzeStack(stack_request(plan), timeout=TIMEOUT).diagnostics)
    mine = [d for d in diags if d.policyName == "databricks-no-nsg-rules-needs-backend-endpoint"]
    assert mine and mine[0].urn == _entry(plan, "prod-workspace-workspace")["urn"]
    assert mine[0].enforcementLevel == analyzer_pb2.MANDATORY


def test_tier_from_policy_config_reaches_the_rules(analyzer: analyzer_pb2_grpc.AnalyzerStub, prod_plan: Plan) -> None:
    """The shipped policies/config.dev.json, as the engine passes it after reconciling, relaxes prod's token cap."""
    plan = copy.deepcopy(prod_plan)
    _entry(plan, "prod-access-conf-tokens")["inputs"]["customConfig"]["maxTokenLifetimeDays"] = "120"

    def token_diags() -> list[Any]:
        diags = analyzer.AnalyzeStack(stack_request(plan), timeout=TIMEOUT).diagnostics
        return [d for d in diags if d.policyName == "databricks-token-lifetime-within-tier-limit"]

    [diag] = token_diags()
    assert "tier prod allows at most 90 days" in diag.message
    assert diag.urn == _entry(plan, "prod-access-conf-tokens")["urn"]
    try:
        analyzer.Configure(configure_request(json.loads((ROOT / "policies" / "config.dev.json").read_text())), timeout=TIMEOUT)
        assert token_diags() == []
    finally:
        analyzer.Configure(configure_request(), timeout=TIMEOUT)


@pytest.mark.parametrize("secret", [True, False], ids=["pulumi-secret", "plain-text"])
def test_secret_rule_is_not_applicable_under_the_real_analyzer(analyzer: analyzer_pb2_grpc.AnalyzerStub, prod_plan: Plan,
                                                               secret: bool) -> None:
    """Secret markers are stripped before the rule runs, so it neither passes nor flags a Secret: `brickwall check` does."""
    entry = _entry(prod_plan, "prod-ingress-oauth2-proxy-secret")
    value = {"cookie-secret": "hunter2"}
    props = {**copy.deepcopy(entry["inputs"]), "stringData": {SIG_KEY: SECRET_SIG, "value": value} if secret else value}
    request = analyzer_pb2.AnalyzeRequest(type=entry["type"], urn=entry["urn"], name=entry["name"], properties=struct(props),
                                          options=_options(entry), provider=_provider(entry, prod_plan))
    response = _analyze(analyzer, request)
    assert list(response.diagnostics) == []
    [skip] = [n for n in response.not_applicable if n.policy_name == "kubernetes-secret-values-are-pulumi-secrets"]
    assert "brickwall check" in skip.reason
