"""Cluster-policy rules, the grammar check, and the baseline policy (unit- and property-tested)."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from components.planning.cluster_policies import (
    AZURE_INIT_SCRIPT_TYPES,
    BUILT_IN_POLICY_FAMILY_NAMES,
    POLICY_TYPES,
    AllowList,
    BaselineOptions,
    BlockList,
    Fixed,
    Forbidden,
    Range,
    Regex,
    Unlimited,
    baseline_policy,
    definition_json,
    grammar_problems,
    init_script_pattern,
    is_valid_attribute_path,
    options_problems,
    policy_name_problem,
    rule_to_json,
    spark_version_pattern,
)

PREFIX = "/Volumes/main/ops/scripts/init"


def opts(**kw: Any) -> BaselineOptions:
    return BaselineOptions(**{"environment": "dev", "cost_center": "cc-1234", **kw})


def as_json(rules: dict) -> dict[str, dict[str, Any]]:
    return json.loads(definition_json(rules))


# ---------- rule JSON ----------

@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Fixed("PHOTON"), {"type": "fixed", "value": "PHOTON"}),
        (Fixed(True, hidden=True), {"type": "fixed", "value": True, "hidden": True}),
        (Fixed(4), {"type": "fixed", "value": 4}),
        (Forbidden(), {"type": "forbidden"}),
        (AllowList(("a", "b")), {"type": "allowlist", "values": ["a", "b"]}),
        (AllowList(("a", "b"), default="b", optional=True), {"type": "allowlist", "values": ["a", "b"], "defaultValue": "b", "isOptional": True}),
        (BlockList(("x",), default="y"), {"type": "blocklist", "values": ["x"], "defaultValue": "y"}),
        (Regex("^a.*$"), {"type": "regex", "pattern": "^a.*$"}),
        (Regex("^a.*$", default="ab", optional=True), {"type": "regex", "pattern": "^a.*$", "defaultValue": "ab", "isOptional": True}),
        (Range(min=1, max=5, default=2), {"type": "range", "minValue": 1, "maxValue": 5, "defaultValue": 2}),
        (Range(max=10.5), {"type": "range", "maxValue": 10.5}),
        (Range(min=0), {"type": "range", "minValue": 0}),
        (Unlimited(), {"type": "unlimited"}),
        (Unlimited(default=4320, optional=True), {"type": "unlimited", "defaultValue": 4320, "isOptional": True}),
    ],
)
def test_rule_to_json(rule: Any, expected: dict) -> None:
    assert rule_to_json(rule) == expected


def test_every_policy_type_has_a_rule_class() -> None:
    rules = [Fixed(1), Forbidden(), AllowList((1,)), BlockList((1,)), Regex("a"), Range(min=1), Unlimited()]
    assert tuple(rule_to_json(r)["type"] for r in rules) == POLICY_TYPES


def test_rule_to_json_refuses_other_objects() -> None:
    with pytest.raises(TypeError, match="not a policy rule"):
        rule_to_json({"type": "fixed"})  # type: ignore[arg-type]


def test_definition_json_is_stable_and_compact() -> None:
    a = {"spark_version": Regex("^15.*$"), "autotermination_minutes": Range(min=10, max=60, default=30)}
    b = dict(reversed(list(a.items())))
    assert definition_json(a) == definition_json(b)
    text = definition_json(a)
    assert " " not in text and text.index("autotermination_minutes") < text.index("spark_version")
    assert text == ('{"autotermination_minutes":{"defaultValue":30,"maxValue":60,"minValue":10,"type":"range"},'
                    '"spark_version":{"pattern":"^15.*$","type":"regex"}}')
    assert definition_json(baseline_policy(opts())) == definition_json(baseline_policy(opts()))


def test_definition_json_refuses_nan() -> None:
    with pytest.raises(ValueError):
        definition_json({"dbus_per_hour": Range(max=float("nan"))})


# ---------- attribute paths ----------

@pytest.mark.parametrize(
    "path",
    [
        "spark_version", "node_type_id", "driver_node_type_id", "num_workers", "autoscale.min_workers",
        "autoscale.max_workers", "autotermination_minutes", "data_security_mode", "single_user_name",
        "runtime_engine", "cluster_type", "instance_pool_id", "driver_instance_pool_id", "enable_elastic_disk",
        "enable_local_disk_encryption", "cluster_log_conf.type", "cluster_log_conf.path", "docker_image.url",
        "docker_image.basic_auth.username", "docker_image.basic_auth.password", "dbus_per_hour",
        "azure_attributes.availability", "azure_attributes.first_on_demand", "azure_attributes.spot_bid_max_price",
        "workload_type.clients.jobs", "workload_type.clients.notebooks",
        "custom_tags.cost-center", "custom_tags.Team Name", "spark_conf.spark.network.crypto.enabled",
        "spark_env_vars.PYSPARK_PYTHON", "init_scripts.*.volumes.destination", "init_scripts.0.workspace.destination",
        "init_scripts.12.abfss.destination", "init_scripts.*.s3.destination", "init_scripts.*.gcs.destination",
        "ssh_public_keys.*", "ssh_public_keys.3",
    ],
)
def test_valid_attribute_paths(path: str) -> None:
    assert is_valid_attribute_path(path)


@pytest.mark.parametrize(
    "path",
    [
        "", "policy_id", "apply_policy_default_values", "autotermination_minute", "custom_tags", "custom_tags.",
        "custom_tags.a/b", "spark_conf.", "spark_conf.bad key", "spark_env_vars.1ABC", "spark_env_vars.A-B",
        "init_scripts.*.volumes", "init_scripts.x.volumes.destination", "init_scripts.01.volumes.destination",
        "init_scripts.*.hdfs.destination", "ssh_public_keys", "ssh_public_keys.-1", "ssh_public_keys.*.key",
        "azure_attributes.spot_bid_price", "Spark_version",
    ],
)
def test_invalid_attribute_paths(path: str) -> None:
    assert not is_valid_attribute_path(path)


# ---------- grammar ----------

BAD_DEFINITIONS: list[tuple[str, dict, str]] = [
    ("autotermination_minute", {"type": "fixed", "value": 30}, "did you mean 'autotermination_minutes'"),
    ("policy_id", {"type": "fixed", "value": "abc"}, "cannot limit which policy"),
    ("apply_policy_default_values", {"type": "fixed", "value": True}, "not a policy attribute"),
    ("init_scripts.*.hdfs.destination", {"type": "forbidden"}, "unknown init script destination type 'hdfs'"),
    ("spark_env_vars.1X", {"type": "fixed", "value": "a"}, "environment variable name"),
    ("spark_version", ["not", "a", "dict"], "rule must be a JSON object"),
    ("spark_version", {"pattern": "x"}, "rule has no \"type\""),
    ("spark_version", {"type": "whitelist", "values": ["a"]}, "unknown policy type 'whitelist'"),
    ("runtime_engine", {"type": "fixed"}, "a fixed rule needs \"value\""),
    ("runtime_engine", {"type": "fixed", "value": ["PHOTON"]}, "fixed value must be a string, number or boolean"),
    ("node_type_id", {"type": "allowlist", "values": []}, "non-empty \"values\" list"),
    ("node_type_id", {"type": "blocklist"}, "non-empty \"values\" list"),
    ("node_type_id", {"type": "allowlist", "values": ["a"], "defaultValue": "b"}, "defaultValue 'b' is not in the allowlist"),
    ("node_type_id", {"type": "blocklist", "values": ["a"], "defaultValue": "a"}, "is itself blocked"),
    ("spark_version", {"type": "regex"}, "needs a non-empty \"pattern\""),
    ("spark_version", {"type": "regex", "pattern": "15.4.x-(scala"}, "does not compile"),
    ("spark_version", {"type": "regex", "pattern": "^15\\..*$", "defaultValue": "16.4.x-scala2.12"}, "does not match the pattern"),
    ("num_workers", {"type": "range"}, "needs minValue, maxValue or both"),
    ("num_workers", {"type": "range", "minValue": 8, "maxValue": 2}, "minValue 8 is greater than maxValue 2"),
    ("num_workers", {"type": "range", "minValue": 1, "maxValue": 4, "defaultValue": 9}, "outside the range 1..4"),
    ("num_workers", {"type": "range", "minValue": "1"}, "minValue '1' is not a number"),
    ("num_workers", {"type": "fixed", "value": "4"}, "is not a number; num_workers is numeric"),
    ("autotermination_minutes", {"type": "fixed", "value": True}, "is not a number"),
    ("dbus_per_hour", {"type": "regex", "pattern": "[0-9]+"}, "regex rule only applies to string attributes"),
    ("azure_attributes.first_on_demand", {"type": "allowlist", "values": [1, "two"]}, "allowlist value 'two' is not a number"),
    ("azure_attributes.spot_bid_max_price", {"type": "unlimited", "defaultValue": "cheap"}, "defaultValue 'cheap' is not a number"),
    ("data_security_mode", {"type": "fixed", "value": "SHARED"}, "'SHARED' is not one of"),
    ("data_security_mode", {"type": "allowlist", "values": ["SINGLE_USER", "NO_ISOLATION"]}, "'NO_ISOLATION' is not one of"),
    ("spark_version", {"type": "range", "minValue": 1}, "range rule only applies to numeric attributes"),
    ("enable_local_disk_encryption", {"type": "fixed", "value": "true"}, "is not true/false"),
    ("runtime_engine", {"type": "allowlist", "values": ["PHOTON"], "hidden": True}, "field 'hidden' is not allowed on a allowlist rule"),
    ("spark_version", {"type": "fixed", "value": "15.4.x-scala2.12", "defaultValue": "x"}, "field 'defaultValue' is not allowed on a fixed rule"),
    ("spark_version", {"type": "fixed", "value": "15.4.x-scala2.12", "isOptional": True}, "field 'isOptional' is not allowed on a fixed rule"),
    ("docker_image.url", {"type": "forbidden", "value": "x"}, "field 'value' is not allowed on a forbidden rule"),
    ("num_workers", {"type": "range", "minValue": 1, "max": 4}, "field 'max' is not allowed on a range rule"),
    ("spark_version", {"type": "fixed", "value": "x", "hidden": "yes"}, "hidden must be true or false"),
    ("num_workers", {"type": "range", "minValue": 1, "isOptional": 1}, "isOptional must be true or false"),
    ("cluster_log_conf.type", {"type": "fixed", "value": "S3"}, "'S3' is not one of DBFS, VOLUMES"),
]


@pytest.mark.parametrize(("path", "rule", "fragment"), BAD_DEFINITIONS, ids=[f"{p}-{f[:30]}" for p, _, f in BAD_DEFINITIONS])
def test_grammar_problems_name_the_path_and_the_reason(path: str, rule: Any, fragment: str) -> None:
    problems = grammar_problems({"node_type_id": {"type": "fixed", "value": "Standard_D4ds_v5"}, path: rule})
    matching = [p for p in problems if p.startswith(f"{path}: ")]
    assert matching, problems
    assert any(fragment in p for p in matching), problems
    # The healthy neighbour is never blamed (unless it is the broken rule itself).
    if path != "node_type_id":
        assert not any(p.startswith("node_type_id: ") for p in problems)


def test_grammar_accepts_the_reference_examples() -> None:
    # The opening example of the compute policy reference, including hidden on a forbidden rule.
    reference = {
        "autotermination_minutes": {"type": "unlimited", "defaultValue": 4320, "isOptional": True},
        "instance_pool_id": {"type": "forbidden", "hidden": True},
        "runtime_engine": {"type": "fixed", "value": "PHOTON", "hidden": True},
        "dbus_per_hour": {"type": "range", "maxValue": 10},
        "cluster_type": {"type": "allowlist", "values": ["all-purpose", "job"]},
        "init_scripts.0.volumes.destination": {"type": "fixed", "value": "/Volumes/a/b/c/x.sh"},
        "init_scripts.*.volumes.destination": {"type": "forbidden"},
        "workload_type.clients.jobs": {"type": "fixed", "value": True},
        "custom_tags.team": {"type": "regex", "pattern": "^[a-z]+$", "defaultValue": "data"},
        "azure_attributes.availability": {"type": "blocklist", "values": ["SPOT_AZURE"], "defaultValue": "ON_DEMAND_AZURE"},
    }
    assert grammar_problems(reference) == []


def test_grammar_problems_on_a_non_object() -> None:
    assert grammar_problems([1, 2]) == ["<definition>: must be a JSON object of attribute path -> rule, got list"]  # type: ignore[arg-type]


def test_grammar_reports_every_problem_of_a_rule() -> None:
    problems = grammar_problems({"num_workers": {"type": "range", "minValue": 5, "maxValue": 1, "defaultValue": 9, "hidden": True}})
    assert len(problems) == 3 and all(p.startswith("num_workers: ") for p in problems)


# ---------- options ----------

BAD_OPTIONS: list[tuple[dict, str, str]] = [
    ({"environment": " "}, "environment", "must not be empty"),
    ({"cost_center": "x" * 257}, "cost_center", "at most 256"),
    ({"data_security_mode": "NONE"}, "data_security_mode", "not USER_ISOLATION or SINGLE_USER"),
    ({"autotermination_min": 5, "autotermination_default": 5}, "autotermination_min", "below the Clusters API's minimum of 10"),
    ({"autotermination_max": 20_000}, "autotermination_max", "above the Clusters API's maximum of 10000"),
    ({"autotermination_default": 200}, "autotermination_default", "outside autotermination_min..autotermination_max (10-120)"),
    ({"autotermination_min": 60, "autotermination_max": 30}, "autotermination_min", "greater than autotermination_max"),
    ({"autotermination_default": 30.5}, "autotermination_default", "not a whole number"),
    ({"min_workers": 0}, "min_workers", "below 1"),
    ({"min_workers": 9, "max_workers": 4}, "max_workers", "below min_workers 9"),
    ({"max_workers": 5000}, "max_workers", "sanity ceiling of 1000"),
    ({"node_types": ()}, "node_types", "at least one VM size"),
    ({"node_types": ("Standard_D4ds_v5", "m5.xlarge")}, "node_types", "'m5.xlarge' is not an Azure VM size"),
    ({"node_types": ("Standard_D4ds_v5", "Standard_D4ds_v5")}, "node_types", "twice"),
    ({"lts_versions": ()}, "lts_versions", "at least one LTS line"),
    ({"lts_versions": ("15.4.x",)}, "lts_versions", "is not a runtime line"),
    ({"init_scripts_allowed_prefix": "/Workspace/init"}, "init_scripts_allowed_prefix", "under /Volumes/<catalog>/<schema>/<volume>/"),
    ({"init_scripts_allowed_prefix": "/Volumes/main/ops"}, "init_scripts_allowed_prefix", "under /Volumes/<catalog>/<schema>/<volume>/"),
    ({"init_scripts_allowed_prefix": "/Volumes/main/ops/scripts/../other"}, "init_scripts_allowed_prefix", "contains '..'"),
    ({"init_scripts_allowed_prefix": "/Volumes/main/ops/scripts//x"}, "init_scripts_allowed_prefix", "empty path segment"),
    ({"cluster_log_path": "abfss://logs@acct.dfs.core.windows.net/"}, "cluster_log_path", "must start with dbfs:/ or /Volumes/"),
    ({"cluster_log_path": "dbfs:/logs/../secrets"}, "cluster_log_path", "without '..'"),
    ({"cluster_log_path": "/Volumes/main/logs"}, "cluster_log_path", "under /Volumes/<catalog>/<schema>/<volume>/"),
    ({"max_clusters_per_user": 0}, "max_clusters_per_user", "at least 1"),
]


@pytest.mark.parametrize(("changes", "field", "fragment"), BAD_OPTIONS, ids=[f"{f}-{r[:25]}" for _, f, r in BAD_OPTIONS])
def test_options_problems(changes: dict, field: str, fragment: str) -> None:
    problems = options_problems(opts(**changes))
    assert any(f == field and fragment in reason for f, reason in problems), problems
    with pytest.raises(ValueError, match=re.escape(field)):
        baseline_policy(opts(**changes))


def test_default_and_full_options_have_no_problems() -> None:
    assert options_problems(opts()) == []
    full = opts(
        data_security_mode="SINGLE_USER", init_scripts_allowed_prefix=PREFIX + "/",
        cluster_log_path="/Volumes/main/ops/logs/clusters", lts_versions=("15.4", "16.4", "17.3"),
    )
    assert options_problems(full) == []


# ---------- the baseline ----------

def test_baseline_locks_the_launch_settings() -> None:
    o = opts()
    d = as_json(baseline_policy(o))
    assert d["data_security_mode"] == {"type": "fixed", "value": "USER_ISOLATION"}
    assert d["autotermination_minutes"] == {"type": "range", "minValue": 10, "maxValue": 120, "defaultValue": 30}
    assert d["node_type_id"] == {"type": "allowlist", "values": list(o.node_types), "defaultValue": "Standard_D4ds_v5"}
    assert d["driver_node_type_id"] == {"type": "allowlist", "values": list(o.node_types), "isOptional": True}
    for path in ("autoscale.min_workers", "autoscale.max_workers", "num_workers"):
        assert d[path] == {"type": "range", "minValue": 1, "maxValue": 8, "isOptional": True}, path
    assert d["custom_tags.environment"] == {"type": "fixed", "value": "dev"}
    assert d["custom_tags.cost-center"] == {"type": "fixed", "value": "cc-1234"}
    assert d["ssh_public_keys.*"] == {"type": "forbidden"}
    assert d["cluster_log_conf.type"] == {"type": "fixed", "value": "DBFS", "hidden": True}
    assert d["cluster_log_conf.path"] == {"type": "fixed", "value": "dbfs:/cluster-logs", "hidden": True}
    assert d["enable_local_disk_encryption"] == {"type": "fixed", "value": True}
    assert d["docker_image.url"] == {"type": "forbidden"}
    assert d["single_user_name"] == {"type": "forbidden"}
    assert d["instance_pool_id"] == d["driver_instance_pool_id"] == {"type": "forbidden"}
    assert grammar_problems(d) == []


def test_baseline_single_user_mode_leaves_the_user_to_the_cluster() -> None:
    d = as_json(baseline_policy(opts(data_security_mode="SINGLE_USER")))
    assert d["data_security_mode"] == {"type": "fixed", "value": "SINGLE_USER"}
    assert d["single_user_name"] == {"type": "unlimited"}  # required: a dedicated cluster names its user


def test_baseline_logs_to_a_volume() -> None:
    d = as_json(baseline_policy(opts(cluster_log_path="/Volumes/main/ops/logs/clusters")))
    assert d["cluster_log_conf.type"] == {"type": "fixed", "value": "VOLUMES", "hidden": True}
    assert d["cluster_log_conf.path"]["value"] == "/Volumes/main/ops/logs/clusters"


def test_spark_version_regex_admits_lts_runtimes_only() -> None:
    d = as_json(baseline_policy(opts()))
    rule = d["spark_version"]
    assert rule["type"] == "regex" and re.fullmatch(rule["pattern"], rule["defaultValue"])
    assert rule["defaultValue"] == "16.4.x-scala2.12"
    pattern = re.compile(rule["pattern"])
    for ok in ("15.4.x-scala2.12", "15.4.x-photon-scala2.12", "16.4.x-cpu-ml-scala2.12", "15.4.x-gpu-ml-scala2.12",
               "16.4.x-scala2.13", "auto:latest-lts"):
        assert pattern.fullmatch(ok), ok
    for bad in ("14.3.x-scala2.12", "15.3.x-scala2.12", "154.x-scala2.12", "15.4.x-scala2.12-evil", "auto:latest",
                "auto:latest-lts-ml", "x15.4.x-scala2.12", "15.4.x-aarch64-scala2.12", "15a4.x-scala2.12"):
        assert not pattern.fullmatch(bad), bad


def test_default_spark_version_follows_the_newest_line() -> None:
    assert baseline_policy(opts(lts_versions=("16.4", "15.4")))["spark_version"] == Regex(
        spark_version_pattern(("16.4", "15.4")), default="16.4.x-scala2.12")
    newest = baseline_policy(opts(lts_versions=("16.4", "17.3")))["spark_version"]
    assert isinstance(newest, Regex) and newest.default == "17.3.x-scala2.13"


def test_init_scripts_forbidden_everywhere_without_a_prefix() -> None:
    d = as_json(baseline_policy(opts()))
    for kind in AZURE_INIT_SCRIPT_TYPES:
        assert d[f"init_scripts.*.{kind}.destination"] == {"type": "forbidden"}, kind
    assert {"workspace", "volumes", "dbfs", "abfss", "file"} <= set(AZURE_INIT_SCRIPT_TYPES)
    assert "init_scripts.0.volumes.destination" not in d
    assert not any(k.startswith("spark_conf.") for k in d)


def test_init_scripts_from_the_approved_volume_only_with_a_prefix() -> None:
    d = as_json(baseline_policy(opts(init_scripts_allowed_prefix=PREFIX)))
    for kind in AZURE_INIT_SCRIPT_TYPES:
        if kind != "volumes":
            assert d[f"init_scripts.*.{kind}.destination"] == {"type": "forbidden"}, kind
    rule = d["init_scripts.*.volumes.destination"]
    assert rule["type"] == "regex" and rule["isOptional"] is True
    pattern = re.compile(rule["pattern"])
    assert pattern.fullmatch(f"{PREFIX}/setup.sh") and pattern.fullmatch(f"{PREFIX}/team/a/setup.sh")
    for bad in (PREFIX, f"{PREFIX}/", f"{PREFIX}-evil/setup.sh", f"{PREFIX}/../../other/x.sh", "/Volumes/main/ops/other/x.sh",
                f"{PREFIX}//x.sh", f"{PREFIX}/a b.sh", f"/x{PREFIX}/setup.sh"):
        assert not pattern.fullmatch(bad), bad
    assert "init_scripts.0.volumes.destination" not in d


@pytest.mark.parametrize("prefix", [None, PREFIX])
def test_no_init_script_encryption_route(prefix: str | None) -> None:
    """Inter-node encryption is Azure VNet encryption's job (components/planning/vnet_encryption.py): the init-script
    route, with its world-readable keystore, is gone, so no policy pins a script or Spark's crypto switches."""
    assert "encryption_init_script" not in {f.name for f in dataclasses.fields(BaselineOptions)}
    d = as_json(baseline_policy(opts(init_scripts_allowed_prefix=prefix)))
    assert "init_scripts.0.volumes.destination" not in d
    assert not any(k.startswith("spark_conf.") for k in d)
    assert grammar_problems(d) == []


def test_baseline_rules_are_typed_and_serialize_through_rule_to_json() -> None:
    rules = baseline_policy(opts(init_scripts_allowed_prefix=PREFIX))
    assert rules["enable_local_disk_encryption"] == Fixed(True)
    assert json.loads(definition_json(rules)) == {p: rule_to_json(r) for p, r in rules.items()}


def test_policy_names() -> None:
    assert policy_name_problem("brickwall-baseline") is None
    for name in BUILT_IN_POLICY_FAMILY_NAMES:
        assert "built-in" in (policy_name_problem(name) or "")
    assert "built-in" in (policy_name_problem("personal compute") or "")
    assert "1-100" in (policy_name_problem("") or "")
    assert "1-100" in (policy_name_problem("x" * 101) or "")


# ---------- properties ----------

lts_lines = st.builds(lambda a, b: f"{a}.{b}", st.integers(10, 30), st.integers(0, 9))
volume_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


@st.composite
def baseline_options(draw: st.DrawFn) -> BaselineOptions:
    at_min = draw(st.integers(10, 10_000))
    at_max = draw(st.integers(at_min, 10_000))
    min_w = draw(st.integers(1, 1000))
    prefix = draw(st.none() | st.builds(lambda c, s, v, d: f"/Volumes/{c}/{s}/{v}/{d}", volume_names, volume_names, volume_names, volume_names))
    log = draw(st.sampled_from(["dbfs:/cluster-logs", "dbfs:/logs/prod", "/Volumes/main/ops/logs", "/Volumes/main/ops/logs/c"]))
    mode = draw(st.sampled_from(["USER_ISOLATION", "SINGLE_USER"]))
    kind = draw(st.sampled_from(["all-purpose", "job"]))
    app_ids = st.lists(st.uuids().map(str), min_size=1 if kind == "job" else 0, max_size=3, unique=True)
    names = tuple(draw(app_ids)) if mode == "SINGLE_USER" else ()
    return BaselineOptions(
        cluster_type=kind,
        single_user_names=names,
        environment=draw(st.text(min_size=1, max_size=256).filter(str.strip)),
        cost_center=draw(st.text(alphabet="ABCDEFGHIJ0123456789-", min_size=1, max_size=20)),
        data_security_mode=mode,
        autotermination_min=at_min,
        autotermination_max=at_max,
        autotermination_default=draw(st.integers(at_min, at_max)),
        node_types=tuple(draw(st.lists(st.from_regex(r"Standard_[A-Za-z0-9_]{1,12}", fullmatch=True), min_size=1, max_size=6, unique=True))),
        min_workers=min_w,
        max_workers=draw(st.integers(min_w, 1000)),
        lts_versions=tuple(draw(st.lists(lts_lines, min_size=1, max_size=4, unique=True))),
        init_scripts_allowed_prefix=prefix,
        cluster_log_path=log,
        max_clusters_per_user=draw(st.integers(1, 50)),
    )


@settings(max_examples=200, deadline=None)
@given(baseline_options())
def test_any_valid_options_yield_a_grammatical_policy(o: BaselineOptions) -> None:
    assert options_problems(o) == []
    d = json.loads(definition_json(baseline_policy(o)))
    assert grammar_problems(d) == []
    assert d["cluster_type"] == {"type": "fixed", "value": o.cluster_type}
    if o.cluster_type == "job":
        assert "autotermination_minutes" not in d  # job clusters carry none
    else:
        at = d["autotermination_minutes"]
        assert at["minValue"] <= at["defaultValue"] <= at["maxValue"]
    if o.data_security_mode == "USER_ISOLATION":
        assert d["single_user_name"] == {"type": "forbidden"}
    elif len(o.single_user_names) == 1:
        assert d["single_user_name"] == {"type": "fixed", "value": o.single_user_names[0]}
    elif o.single_user_names:
        assert d["single_user_name"] == {"type": "allowlist", "values": list(o.single_user_names)}
    else:
        assert o.cluster_type == "all-purpose" and d["single_user_name"] == {"type": "unlimited"}
    assert re.fullmatch(d["spark_version"]["pattern"], d["spark_version"]["defaultValue"])
    assert d["data_security_mode"]["value"] == o.data_security_mode
    assert not any(k.startswith("spark_conf.") for k in d)


numbers = st.integers(-1000, 1000) | st.floats(-1000, 1000, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(st.none() | numbers, st.none() | numbers, st.none() | numbers, st.booleans())
def test_range_rules_round_trip_consistently(lo: float | None, hi: float | None, default: float | None, optional: bool) -> None:
    rule = Range(min=lo, max=hi, default=default, optional=optional)
    as_dict = json.loads(definition_json({"num_workers": rule}))
    assert as_dict == {"num_workers": rule_to_json(rule)}
    problems = grammar_problems(as_dict)
    expected_ok = (
        (lo is not None or hi is not None)
        and (lo is None or hi is None or lo <= hi)
        and (default is None or ((lo is None or lo <= default) and (hi is None or default <= hi)))
    )
    assert (problems == []) == expected_ok, problems
    assert all(p.startswith("num_workers: ") for p in problems)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=5, unique=True), st.data())
def test_allowlist_default_must_be_listed(values: list[str], data: st.DataObject) -> None:
    default = data.draw(st.none() | st.sampled_from(values) | st.text(max_size=8))
    problems = grammar_problems(json.loads(definition_json({"custom_tags.team": AllowList(tuple(values), default=default)})))
    assert (problems == []) == (default is None or default in values)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[A-Za-z0-9_.]{1,10}", fullmatch=True))
def test_init_script_pattern_stays_inside_its_folder(name: str) -> None:
    pattern = re.compile(init_script_pattern(PREFIX))
    assert bool(pattern.fullmatch(f"{PREFIX}/{name}")) == (".." not in name)
    assert not pattern.fullmatch(f"{PREFIX}{name}")  # a sibling folder sharing the prefix's spelling


def test_options_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts().environment = "prod"  # type: ignore[misc]


def test_a_job_policy_pins_its_kind_leaves_autotermination_out_and_ties_the_cluster_to_its_principal() -> None:
    app = "5e4d3c2b-1a0f-4e9d-8c7b-6a5f4e3d2c10"
    d = json.loads(definition_json(baseline_policy(opts(cluster_type="job", data_security_mode="SINGLE_USER", single_user_names=(app,)))))
    assert d["cluster_type"] == {"type": "fixed", "value": "job"}
    assert "autotermination_minutes" not in d
    assert d["single_user_name"] == {"type": "fixed", "value": app}
    interactive = json.loads(definition_json(baseline_policy(opts())))
    assert interactive["cluster_type"] == {"type": "fixed", "value": "all-purpose"}
    assert interactive["autotermination_minutes"]["type"] == "range"


@pytest.mark.parametrize(("kw", "field", "fragment"), [
    ({"cluster_type": "job", "data_security_mode": "SINGLE_USER"}, "single_user_names", "name at least one"),
    ({"single_user_names": ("a",)}, "single_user_names", "only a SINGLE_USER policy"),
    ({"data_security_mode": "SINGLE_USER", "single_user_names": ("a", "a")}, "single_user_names", "names a principal twice"),
    ({"data_security_mode": "SINGLE_USER", "single_user_names": (" ",)}, "single_user_names", "must not be empty"),
    ({"cluster_type": "dlt"}, "cluster_type", "is not one of all-purpose, job"),
])
def test_bad_kind_or_single_user_options(kw: dict[str, Any], field: str, fragment: str) -> None:
    problems = options_problems(opts(**kw))
    assert any(f == field and fragment in r for f, r in problems), problems


def test_personal_compute_overrides_lock_the_family_without_reshaping_it() -> None:
    from components.planning.cluster_policies import personal_compute_overrides

    d = json.loads(definition_json(personal_compute_overrides(opts(cluster_log_path="/Volumes/main/ops/logs"))))
    assert grammar_problems(d) == []
    assert d["cluster_type"]["value"] == "all-purpose" and d["data_security_mode"]["value"] == "SINGLE_USER"
    assert not {"num_workers", "autoscale.min_workers", "single_user_name"} & set(d)
    assert "spark_conf.spark.authenticate" not in d  # one node: no traffic between nodes to encrypt
    assert "cluster_log_conf.path" not in json.loads(definition_json(personal_compute_overrides(opts(), ship_logs=False)))
