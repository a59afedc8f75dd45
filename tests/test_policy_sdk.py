"""Offline proof that the cluster policies speak the Clusters API: every attribute path the planner knows and every
path and enum value the stacks' generated policies use are checked against databricks-sdk's cluster specification
(`databricks.sdk.service.compute.ClusterSpec` and its nested dataclasses and enums), pinned in requirements-dev.txt.

A path that is no field of the spec (or of the few policy-only paths the compute policy reference documents), an enum
value the API does not have, or a value of the wrong type fails here; the mutation tests at the end show that it does.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
import typing
from typing import Any

import pytest
from databricks.sdk.service import compute

from brickwall.engine import Recording
from components.planning.cluster_policies import (
    AZURE_INIT_SCRIPT_TYPES,
    ENUM_PATHS,
    INIT_SCRIPT_TYPES,
    KNOWN_PATHS,
    NUMERIC_PATHS,
    POLICY_ONLY_PATHS,
    POLICY_TYPES,
    attribute_kind,
)

POLICY = "databricks:index/clusterPolicy:ClusterPolicy"
_INDEX = re.compile(r"\*|0|[1-9][0-9]*")

# The policy-only paths (compute policy reference, https://learn.microsoft.com/azure/databricks/admin/clusters/policy-definition):
# virtual attributes and the flattened cluster log destination, with the values the reference lists.
POLICY_ONLY_VALUES: dict[str, tuple[str, ...] | type] = {
    "cluster_type": ("all-purpose", "job", "dlt"),
    "dbus_per_hour": float,
    "cluster_log_conf.type": ("DBFS", "VOLUMES"),
    "cluster_log_conf.path": str,
}


def _unwrap(tp: Any) -> Any:
    """Optional[X] -> X."""
    if typing.get_origin(tp) is typing.Union:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def sdk_type(path: str, root: type = compute.ClusterSpec) -> Any:
    """The SDK's type at a policy attribute path, or raise KeyError naming the first segment the SDK does not have.

    List fields take an index or `*` (init_scripts.0..., ssh_public_keys.*), dict fields any key (custom_tags.x)."""
    tp: Any = root
    parts = path.split(".")
    i = 0
    while i < len(parts):
        part = parts[i]
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if origin is list:
            if not _INDEX.fullmatch(part):
                raise KeyError(f"{path}: {part!r} is not an index into a list")
            tp = typing.get_args(tp)[0]
        elif origin is dict:
            # A map key may itself hold dots (spark_conf.spark.authenticate): the rest of the path is the key.
            return typing.get_args(tp)[1]
        elif dataclasses.is_dataclass(tp):
            hints = typing.get_type_hints(tp)
            if part not in hints:
                raise KeyError(f"{path}: {tp.__name__} has no field {part!r}")
            tp = hints[part]
        else:
            raise KeyError(f"{path}: {part!r} goes below the scalar {tp!r}")
        i += 1
    return _unwrap(tp)


def path_problems(path: str) -> list[str]:
    """Why the planner's view of `path` disagrees with the SDK, or []."""
    if path in POLICY_ONLY_PATHS:
        return [] if path in POLICY_ONLY_VALUES else [f"{path}: a policy-only path the compute policy reference does not list"]
    try:
        tp = sdk_type(path)
    except KeyError as exc:
        return [str(exc)]
    kind = attribute_kind(path)  # the planner's own classification, the one its grammar checks use
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        if kind != "enum":
            return [f"{path}: the SDK types it as the enum {tp.__name__}; the planner treats it as {kind}"]
        missing = set(ENUM_PATHS[path]) - {m.value for m in tp}
        return [f"{path}: {sorted(missing)} not in the SDK's {tp.__name__}"] if missing else []
    expected = {"number": (int, float), "boolean": (bool,), "string": (str,), "enum": ()}.get(kind, ())
    if tp not in expected:
        return [f"{path}: the SDK types it {getattr(tp, '__name__', tp)}; the planner treats it as {kind}"]
    return []


def value_problems(path: str, value: object) -> list[str]:
    """Why `value` cannot be a value of the attribute at `path` in the API, or []."""
    if path in POLICY_ONLY_PATHS:
        allowed = POLICY_ONLY_VALUES[path]
        if isinstance(allowed, tuple):
            return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
        ok = isinstance(value, int | float) and not isinstance(value, bool) if allowed is float else isinstance(value, allowed)
        return [] if ok else [f"{path}: {value!r} is not a {allowed.__name__}"]
    try:
        tp = sdk_type(path)
    except KeyError as exc:
        return [str(exc)]
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return [] if value in {m.value for m in tp} else [f"{path}: {value!r} is not a value of the SDK's {tp.__name__}"]
    if tp is bool:
        return [] if isinstance(value, bool) else [f"{path}: {value!r} is not a boolean"]
    if tp in (int, float):
        return [] if isinstance(value, int | float) and not isinstance(value, bool) else [f"{path}: {value!r} is not a number"]
    return [] if isinstance(value, str) else [f"{path}: {value!r} is not a string"]


def definition_problems(definition: dict[str, dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for path, rule in definition.items():
        kind = rule["type"]
        if kind not in POLICY_TYPES:
            out.append(f"{path}: unknown rule type {kind!r}")
        out += path_problems(path) if path in KNOWN_PATHS else _generic_path_problems(path)
        values = [rule["value"]] if "value" in rule else list(rule.get("values", []))
        if "defaultValue" in rule:
            values.append(rule["defaultValue"])
        for bound in ("minValue", "maxValue"):
            if bound in rule:
                values.append(rule[bound])
        for v in values:
            out += value_problems(path, v)
    return out


def _generic_path_problems(path: str) -> list[str]:
    try:
        sdk_type(path)
    except KeyError as exc:
        return [str(exc)]
    return []


# ---------- the planner's own tables ----------

@pytest.mark.parametrize("path", sorted(KNOWN_PATHS))
def test_every_known_path_is_a_cluster_spec_field_of_the_planners_type(path: str) -> None:
    assert path_problems(path) == []


def test_policy_only_paths_are_exactly_the_documented_ones() -> None:
    assert set(POLICY_ONLY_VALUES) == POLICY_ONLY_PATHS
    for path in POLICY_ONLY_PATHS:
        with pytest.raises(KeyError):  # truly not a spec field, or it would need no exception
            sdk_type(path)
    # The flattened log destination's types are the API's cluster_log_conf destinations.
    conf_fields = {f.name for f in dataclasses.fields(compute.ClusterLogConf)}
    assert {v.lower() for v in ENUM_PATHS["cluster_log_conf.type"]} <= conf_fields
    assert ENUM_PATHS["cluster_log_conf.type"] == POLICY_ONLY_VALUES["cluster_log_conf.type"]
    assert ENUM_PATHS["cluster_type"] == POLICY_ONLY_VALUES["cluster_type"]


def test_every_enum_attribute_of_the_spec_that_the_planner_knows_is_an_enum_path() -> None:
    # The converse of the parametrized check: a known path the SDK types as an enum is validated as one.
    for path in KNOWN_PATHS - POLICY_ONLY_PATHS:
        tp = sdk_type(path)
        assert not (isinstance(tp, type) and issubclass(tp, enum.Enum)) or path in ENUM_PATHS, path


def test_enum_values_are_the_sdks() -> None:
    assert set(ENUM_PATHS["data_security_mode"]) == {m.value for m in compute.DataSecurityMode}
    assert set(ENUM_PATHS["runtime_engine"]) <= {m.value for m in compute.RuntimeEngine}
    assert set(ENUM_PATHS["azure_attributes.availability"]) == {m.value for m in compute.AzureAvailability}
    assert set(ENUM_PATHS["kind"]) == {m.value for m in compute.Kind}


def test_init_script_destination_types_are_the_sdks() -> None:
    sdk_types = {f.name for f in dataclasses.fields(compute.InitScriptInfo)}
    assert set(INIT_SCRIPT_TYPES) == sdk_types
    assert set(AZURE_INIT_SCRIPT_TYPES) <= sdk_types
    for kind in INIT_SCRIPT_TYPES:
        assert sdk_type(f"init_scripts.*.{kind}.destination") is str
        assert sdk_type(f"init_scripts.0.{kind}.destination") is str


def test_map_and_list_families_are_spec_fields() -> None:
    assert sdk_type("custom_tags.cost-center") is str
    assert sdk_type("spark_conf.spark.authenticate") is str
    assert sdk_type("spark_env_vars.PYSPARK_PYTHON") is str
    assert sdk_type("ssh_public_keys.*") is str


def test_rule_types_are_the_documented_ones() -> None:
    # databricks-sdk has no type for the definition language: a policy's definition is a string in it.
    hints = typing.get_type_hints(compute.Policy)
    assert _unwrap(hints["definition"]) is str
    assert "Cluster Policy Definition Language" in (compute.Policy.__doc__ or "") + _field_doc(compute.Policy, "definition")
    assert POLICY_TYPES == ("fixed", "forbidden", "allowlist", "blocklist", "regex", "range", "unlimited")


def _field_doc(cls: type, field: str) -> str:
    import inspect

    source = inspect.getsource(cls)
    m = re.search(rf"\n    {field}: [^\n]*\n    \"\"\"(.*?)\"\"\"", source, re.S)
    return m.group(1) if m else ""


# ---------- every stack's generated policies ----------

def test_generated_policies_use_only_api_paths_and_values(rec: Recording) -> None:
    policies = rec.of_type(POLICY)
    assert policies
    for reg in policies:
        # The toolkit's own definitions and the overrides it lays over the built-in Personal Compute family.
        definition = json.loads(reg.inputs.get("definition") or reg.inputs["policyFamilyDefinitionOverrides"])
        assert definition_problems(definition) == [], reg.inputs["name"]
        # Every rule's path is one the planner knows or one of its families, and the SDK has it.
        assert all(p in KNOWN_PATHS or p.split(".")[0] in {"custom_tags", "spark_conf", "spark_env_vars", "init_scripts", "ssh_public_keys"}
                   for p in definition)


# ---------- mutation: the checks above can fail ----------

@pytest.mark.parametrize(("definition", "fragment"), [
    ({"data_security_mode": {"type": "fixed", "value": "SHARED_BY_EVERYONE"}}, "not a value of the SDK's DataSecurityMode"),
    ({"runtime_engine": {"type": "allowlist", "values": ["STANDARD", "TURBO"]}}, "'TURBO' is not a value"),
    ({"azure_attributes.availability": {"type": "fixed", "value": "SPOT"}}, "not a value of the SDK's AzureAvailability"),
    ({"autotermination_mins": {"type": "range", "maxValue": 60}}, "has no field 'autotermination_mins'"),
    ({"azure_attributes.spot_price": {"type": "range", "maxValue": 1}}, "AzureAttributes has no field 'spot_price'"),
    ({"init_scripts.*.blob.destination": {"type": "forbidden"}}, "InitScriptInfo has no field 'blob'"),
    ({"cluster_type": {"type": "fixed", "value": "interactive"}}, "'interactive' is not one of"),
    ({"num_workers": {"type": "fixed", "value": "four"}}, "'four' is not a number"),
    ({"enable_local_disk_encryption": {"type": "fixed", "value": "true"}}, "'true' is not a boolean"),
    ({"node_type_id": {"type": "whitelist", "values": ["Standard_D4ds_v5"]}}, "unknown rule type 'whitelist'"),
])
def test_a_bogus_path_value_or_rule_type_fails(definition: dict[str, dict[str, Any]], fragment: str) -> None:
    problems = definition_problems(definition)
    assert any(fragment in p for p in problems), problems


def test_a_bogus_known_path_or_enum_value_in_the_planner_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    assert path_problems("azure_attributes.spot_bid_max_prize")  # a typo the SDK does not have
    monkeypatch.setitem(ENUM_PATHS, "data_security_mode", (*ENUM_PATHS["data_security_mode"], "SHARED"))
    assert path_problems("data_security_mode") == ["data_security_mode: ['SHARED'] not in the SDK's DataSecurityMode"]
    monkeypatch.setitem(ENUM_PATHS, "runtime_engine", ("PHOTON", "TURBO"))
    assert path_problems("runtime_engine")
    # A path the planner types wrongly: single_user_name is a string, not a number.
    import components.planning.cluster_policies as planner

    monkeypatch.setattr(planner, "NUMERIC_PATHS", NUMERIC_PATHS | {"single_user_name"})
    assert path_problems("single_user_name") == ["single_user_name: the SDK types it str; the planner treats it as number"]
