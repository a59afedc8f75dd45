"""Cluster-policy definitions. Pure data, no Pulumi.

A policy definition is a JSON object of attribute path -> rule (Databricks "compute policy
reference"). The typed rules below serialize to that JSON with `rule_to_json`, and
`grammar_problems` checks a raw definition against the grammar before anything is
registered: a definition Databricks would reject, or would read differently from what we
meant, fails here first. `baseline_policy` builds the toolkit's locked-down policy.

Grammar, per the reference:

| type      | required              | optional extras              |
|-----------|-----------------------|------------------------------|
| fixed     | value                 | hidden                       |
| forbidden | -                     | hidden (the reference's own example hides a forbidden pool id) |
| allowlist | values (non-empty)    | defaultValue, isOptional     |
| blocklist | values (non-empty)    | defaultValue, isOptional     |
| regex     | pattern               | defaultValue, isOptional     |
| range     | minValue and/or maxValue | defaultValue, isOptional  |
| unlimited | -                     | defaultValue, isOptional     |

A limiting rule (every type but fixed and forbidden) makes its attribute required unless
`isOptional` is true. Array attributes take `*` (every element without its own rule) or an
index (that element): `init_scripts.0...` fixed plus `init_scripts.*...` forbidden is the
documented way to require exactly one script.

Inter-node encryption is not a policy concern here: Azure Virtual Network encryption on the workspace VNet encrypts
traffic between cluster nodes at the Azure hosts (components/planning/vnet_encryption.py). The init-script route
Azure Databricks documents ("Encrypt traffic between cluster worker nodes") was removed: its sample keeps the JKS
keystore, from which the shared secret is derived, world-readable in DBFS, and doing it properly would need the
keystore as a secret plus a Unity Catalog artifact allowlist for the script, none of which a policy can provide.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# The policy definition language's rule types (compute policy reference, "Supported policy types":
# https://learn.microsoft.com/azure/databricks/admin/clusters/policy-definition). databricks-sdk carries a
# definition only as a string in that language (compute.Policy.definition), so the docs are the source.
POLICY_TYPES = ("fixed", "forbidden", "allowlist", "blocklist", "regex", "range", "unlimited")

# Creating a policy with one of these names collides with the built-in policy families.
BUILT_IN_POLICY_FAMILY_NAMES = frozenset({"Personal Compute", "Power User Compute", "Shared Compute", "Job Compute", "Legacy Shared Compute"})
POLICY_NAME_MAX_LEN = 100

_LIMITING_EXTRAS = frozenset({"defaultValue", "isOptional"})
_LIMITING_TYPES = frozenset({"allowlist", "blocklist", "regex", "range", "unlimited"})
ALLOWED_FIELDS: dict[str, frozenset[str]] = {
    "fixed": frozenset({"type", "value", "hidden"}),
    "forbidden": frozenset({"type", "hidden"}),
    "allowlist": frozenset({"type", "values"}) | _LIMITING_EXTRAS,
    "blocklist": frozenset({"type", "values"}) | _LIMITING_EXTRAS,
    "regex": frozenset({"type", "pattern"}) | _LIMITING_EXTRAS,
    "range": frozenset({"type", "minValue", "maxValue"}) | _LIMITING_EXTRAS,
    "unlimited": frozenset({"type"}) | _LIMITING_EXTRAS,
}

# Every Clusters API access mode, current names and legacy ones.
DATA_SECURITY_MODES = (
    "DATA_SECURITY_MODE_AUTO", "DATA_SECURITY_MODE_STANDARD", "DATA_SECURITY_MODE_DEDICATED",
    "USER_ISOLATION", "SINGLE_USER", "NONE",
    "LEGACY_TABLE_ACL", "LEGACY_PASSTHROUGH", "LEGACY_SINGLE_USER", "LEGACY_SINGLE_USER_STANDARD",
)

NUMERIC_PATHS = frozenset({
    "num_workers", "autoscale.min_workers", "autoscale.max_workers", "autotermination_minutes",
    "dbus_per_hour", "azure_attributes.first_on_demand", "azure_attributes.spot_bid_max_price",
})
BOOLEAN_PATHS = frozenset({
    "enable_elastic_disk", "enable_local_disk_encryption", "is_single_node", "use_ml_runtime",
    "workload_type.clients.jobs", "workload_type.clients.notebooks",
})
ENUM_PATHS: dict[str, tuple[str, ...]] = {
    "data_security_mode": DATA_SECURITY_MODES,
    "runtime_engine": ("STANDARD", "PHOTON"),
    "azure_attributes.availability": ("ON_DEMAND_AZURE", "SPOT_AZURE", "SPOT_WITH_FALLBACK_AZURE"),
    "cluster_type": ("all-purpose", "job", "dlt"),  # virtual path: which kind of compute may use the policy
    "cluster_log_conf.type": ("DBFS", "VOLUMES"),
    "kind": ("CLASSIC_PREVIEW",),  # the SDK's compute.Kind; with it, is_single_node and use_ml_runtime apply
}
STRING_PATHS = frozenset({
    "spark_version", "node_type_id", "driver_node_type_id", "single_user_name", "cluster_name",
    "instance_pool_id", "driver_instance_pool_id", "cluster_log_conf.path",
    "docker_image.url", "docker_image.basic_auth.username", "docker_image.basic_auth.password",
})
KNOWN_PATHS = NUMERIC_PATHS | BOOLEAN_PATHS | frozenset(ENUM_PATHS) | STRING_PATHS
# Paths a policy knows that are no field of the Clusters API's cluster spec (compute policy reference,
# https://learn.microsoft.com/azure/databricks/admin/clusters/policy-definition): the virtual attributes
# cluster_type and dbus_per_hour, and cluster_log_conf flattened to a type (DBFS or VOLUMES, the API's
# cluster_log_conf.dbfs / .volumes) and a path (their destination). Every other known path is a field of
# databricks-sdk's compute.ClusterSpec (tests/test_policy_sdk.py proves it).
POLICY_ONLY_PATHS = frozenset({"cluster_type", "dbus_per_hour", "cluster_log_conf.type", "cluster_log_conf.path"})

# Cluster request fields that look like attributes but that no policy can limit.
NOT_POLICY_ATTRIBUTES = {
    "policy_id": "a policy cannot limit which policy a cluster uses; policy_id is chosen on the cluster request",
    "apply_policy_default_values": "is a flag on the cluster request (fill in the policy's defaults), not a policy attribute",
}

INIT_SCRIPT_TYPES = ("workspace", "volumes", "dbfs", "abfss", "file", "s3", "gcs")
# The destinations an Azure cluster can run init scripts from; the baseline rules on each.
AZURE_INIT_SCRIPT_TYPES = ("workspace", "volumes", "dbfs", "abfss", "file")

_INDEX = r"(\*|0|[1-9][0-9]*)"
_INIT_SCRIPT_PATH = re.compile(rf"init_scripts\.{_INDEX}\.([a-z0-9]+)\.destination")
_SSH_KEY_PATH = re.compile(rf"ssh_public_keys\.{_INDEX}")
_ENV_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TAG_KEY_FORBIDDEN = set("<>%&\\?/")  # Azure refuses these in tag names

Scalar = str | int | float | bool
Number = int | float


@dataclass(frozen=True)
class Fixed:
    value: Scalar
    hidden: bool = False  # hide the control in the UI; the value still applies


@dataclass(frozen=True)
class Forbidden:
    pass


@dataclass(frozen=True)
class AllowList:
    values: tuple[Scalar, ...]
    default: Scalar | None = None
    optional: bool = False


@dataclass(frozen=True)
class BlockList:
    values: tuple[Scalar, ...]
    default: Scalar | None = None
    optional: bool = False


@dataclass(frozen=True)
class Regex:
    pattern: str
    default: str | None = None
    optional: bool = False


@dataclass(frozen=True)
class Range:
    min: Number | None = None
    max: Number | None = None
    default: Number | None = None
    optional: bool = False


@dataclass(frozen=True)
class Unlimited:
    default: Scalar | None = None
    optional: bool = False


Rule = Fixed | Forbidden | AllowList | BlockList | Regex | Range | Unlimited


def _limiting(out: dict[str, Any], default: Scalar | None, optional: bool) -> dict[str, Any]:
    if default is not None:
        out["defaultValue"] = default
    if optional:
        out["isOptional"] = True
    return out


def rule_to_json(rule: Rule) -> dict[str, Any]:
    """The Databricks JSON for one rule; absent optional keys are omitted, not null."""
    if isinstance(rule, Fixed):
        return {"type": "fixed", "value": rule.value, "hidden": True} if rule.hidden else {"type": "fixed", "value": rule.value}
    if isinstance(rule, Forbidden):
        return {"type": "forbidden"}
    if isinstance(rule, AllowList | BlockList):
        kind = "allowlist" if isinstance(rule, AllowList) else "blocklist"
        return _limiting({"type": kind, "values": list(rule.values)}, rule.default, rule.optional)
    if isinstance(rule, Regex):
        return _limiting({"type": "regex", "pattern": rule.pattern}, rule.default, rule.optional)
    if isinstance(rule, Range):
        out: dict[str, Any] = {"type": "range"}
        if rule.min is not None:
            out["minValue"] = rule.min
        if rule.max is not None:
            out["maxValue"] = rule.max
        return _limiting(out, rule.default, rule.optional)
    if isinstance(rule, Unlimited):
        return _limiting({"type": "unlimited"}, rule.default, rule.optional)
    raise TypeError(f"not a policy rule: {rule!r}")


def definition_json(rules: Mapping[str, Rule]) -> str:
    """Sorted keys and compact separators: the same policy always serializes to the same bytes,
    so a redeploy never shows a diff that is only key order or whitespace. NaN is refused."""
    return json.dumps({path: rule_to_json(rule) for path, rule in rules.items()}, sort_keys=True, separators=(",", ":"), allow_nan=False)


# ---------- attribute paths ----------

def _path_problem(path: str) -> str | None:
    if not path:
        return "attribute path is empty"
    if path in KNOWN_PATHS:
        return None
    if path in NOT_POLICY_ATTRIBUTES:
        return NOT_POLICY_ATTRIBUTES[path]
    family, _, key = path.partition(".")
    if family == "custom_tags":
        if not key:
            return "custom_tags needs a tag name after the dot"
        if key != key.strip() or _TAG_KEY_FORBIDDEN & set(key) or len(key) > 512:
            return f"tag name {key!r} breaks Azure's tag rules (no < > % & \\ ? /, no surrounding spaces, at most 512 characters)"
        return None
    if family == "spark_conf":
        if not key or re.search(r"\s", key):
            return "spark_conf needs a Spark property name without whitespace after the dot"
        return None
    if family == "spark_env_vars":
        if not _ENV_VAR_NAME.fullmatch(key):
            return f"environment variable name {key!r} must be letters, digits and _, not starting with a digit"
        return None
    if family == "init_scripts":
        m = _INIT_SCRIPT_PATH.fullmatch(path)
        if not m:
            return "init script paths look like init_scripts.<index or *>.<destination type>.destination"
        if m.group(2) not in INIT_SCRIPT_TYPES:
            return f"unknown init script destination type {m.group(2)!r}; expected one of {', '.join(INIT_SCRIPT_TYPES)}"
        return None
    if family == "ssh_public_keys":
        if not _SSH_KEY_PATH.fullmatch(path):
            return "ssh key paths look like ssh_public_keys.<index or *>"
        return None
    hint = difflib.get_close_matches(path, sorted(KNOWN_PATHS), n=1)
    suggestion = f"; did you mean {hint[0]!r}?" if hint else ""
    return f"unknown attribute path, not a Clusters API attribute a policy can limit{suggestion}"


def is_valid_attribute_path(path: str) -> bool:
    return _path_problem(path) is None


def attribute_kind(path: str) -> str:
    """number, boolean, enum or string: how the grammar checks values of `path` (unknown: not an attribute it knows)."""
    if path in NUMERIC_PATHS:
        return "number"
    if path in BOOLEAN_PATHS:
        return "boolean"
    if path in ENUM_PATHS:
        return "enum"
    if path in STRING_PATHS or path.split(".")[0] in {"custom_tags", "spark_conf", "spark_env_vars", "init_scripts", "ssh_public_keys"}:
        return "string"
    return "unknown"


# ---------- grammar ----------

def _is_number(v: object) -> bool:
    # JSON true/false are not numbers, though Python's bool is an int.
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_scalar(v: object) -> bool:
    return isinstance(v, str | bool) or _is_number(v)


def _kind_problem(path: str, value: object, what: str) -> str | None:
    """Why `value` cannot be a value of the attribute at `path`, or None."""
    kind = attribute_kind(path)
    if kind == "number" and not _is_number(value):
        return f"{what} {value!r} is not a number; {path} is numeric"
    if kind == "boolean" and not isinstance(value, bool):
        return f"{what} {value!r} is not true/false; {path} is a boolean"
    if kind == "enum" and value not in ENUM_PATHS[path]:
        return f"{what} {value!r} is not one of {', '.join(ENUM_PATHS[path])}"
    return None


def _rule_problems(path: str, rule: object) -> list[str]:
    if not isinstance(rule, Mapping):
        return [f"rule must be a JSON object, got {type(rule).__name__}"]
    kind = rule.get("type")
    if kind is None:
        return [f"rule has no \"type\"; expected one of {', '.join(POLICY_TYPES)}"]
    if kind not in ALLOWED_FIELDS:
        return [f"unknown policy type {kind!r}; expected one of {', '.join(POLICY_TYPES)}"]
    out = [
        f"field {f!r} is not allowed on a {kind} rule (allowed: {', '.join(sorted(ALLOWED_FIELDS[kind] - {'type'}))})"
        for f in sorted(set(rule) - ALLOWED_FIELDS[kind])
    ]
    for flag in ("hidden", "isOptional"):
        if flag in rule and not isinstance(rule[flag], bool):
            out.append(f"{flag} must be true or false, got {rule[flag]!r}")

    path_kind = attribute_kind(path)
    if kind == "regex" and path_kind in ("number", "boolean"):
        out.append(f"a regex rule only applies to string attributes; {path} is {path_kind}")
    if kind == "range" and path_kind in ("string", "enum", "boolean"):
        out.append(f"a range rule only applies to numeric attributes; {path} is {path_kind}")

    default = rule.get("defaultValue")
    has_default = "defaultValue" in rule and kind in _LIMITING_TYPES
    if has_default and not _is_scalar(default):
        out.append(f"defaultValue must be a string, number or boolean, got {default!r}")
        has_default = False
    elif has_default and (p := _kind_problem(path, default, "defaultValue")):
        out.append(p)

    if kind == "fixed":
        if "value" not in rule:
            out.append("a fixed rule needs \"value\"")
        elif not _is_scalar(rule["value"]):
            out.append(f"fixed value must be a string, number or boolean, got {rule['value']!r}")
        elif p := _kind_problem(path, rule["value"], "fixed value"):
            out.append(p)
    elif kind in ("allowlist", "blocklist"):
        values = rule.get("values")
        if not isinstance(values, list) or not values:
            out.append(f"a {kind} rule needs a non-empty \"values\" list")
        else:
            for v in values:
                if not _is_scalar(v):
                    out.append(f"{kind} value {v!r} is not a string, number or boolean")
                elif p := _kind_problem(path, v, f"{kind} value"):
                    out.append(p)
            if has_default and kind == "allowlist" and default not in values:
                out.append(f"defaultValue {default!r} is not in the allowlist")
            if has_default and kind == "blocklist" and default in values:
                out.append(f"defaultValue {default!r} is itself blocked")
    elif kind == "regex":
        pattern = rule.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            out.append("a regex rule needs a non-empty \"pattern\" string")
        else:
            # Databricks evaluates Java regexes; Python's dialect is close enough to catch typos.
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                out.append(f"pattern {pattern!r} does not compile: {exc}")
            else:
                if has_default and not (isinstance(default, str) and compiled.fullmatch(default)):
                    out.append(f"defaultValue {default!r} does not match the pattern")
    elif kind == "range":
        lo, hi = rule.get("minValue"), rule.get("maxValue")
        if lo is None and hi is None:
            out.append("a range rule needs minValue, maxValue or both")
        for name, v in (("minValue", lo), ("maxValue", hi)):
            if v is not None and not _is_number(v):
                out.append(f"{name} {v!r} is not a number")
        lo_n = lo if _is_number(lo) else None
        hi_n = hi if _is_number(hi) else None
        if lo_n is not None and hi_n is not None and lo_n > hi_n:
            out.append(f"minValue {lo_n} is greater than maxValue {hi_n}")
        if has_default and _is_number(default):
            if (lo_n is not None and default < lo_n) or (hi_n is not None and default > hi_n):
                out.append(f"defaultValue {default} lies outside the range {lo}..{hi}")
        elif has_default and path_kind != "number":  # numeric paths already reported it
            out.append(f"defaultValue {default!r} of a range must be a number")
    return out


def grammar_problems(definition: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every way a raw (JSON-shaped) definition breaks the policy grammar, each as "<path>: <reason>"."""
    if not isinstance(definition, Mapping):
        return [f"<definition>: must be a JSON object of attribute path -> rule, got {type(definition).__name__}"]
    problems = []
    for path in sorted(definition, key=str):
        if not isinstance(path, str):
            problems.append(f"{path!r}: attribute paths are strings")
            continue
        if reason := _path_problem(path):
            problems.append(f"{path}: {reason}")
        problems += [f"{path}: {reason}" for reason in _rule_problems(path, definition[path])]
    return problems


def policy_name_problem(name: str) -> str | None:
    """Why `name` cannot name a new policy, or None. Names are compared case-insensitively to stay clear of the built-ins."""
    if not 1 <= len(name) <= POLICY_NAME_MAX_LEN:
        return f"policy name {name!r} is {len(name)} characters; Databricks allows 1-{POLICY_NAME_MAX_LEN}"
    if name.strip().casefold() in {n.casefold() for n in BUILT_IN_POLICY_FAMILY_NAMES}:
        return f"policy name {name!r} collides with the built-in policy family of that name"
    return None


# ---------- the baseline ----------

# The kinds of classic compute a baseline policy can serve (the virtual attribute cluster_type also
# knows "dlt", for pipeline clusters, which the toolkit does not govern with this baseline).
CLUSTER_TYPES = ("all-purpose", "job")

AUTOTERMINATION_FLOOR = 10  # Clusters API: 10-10000 minutes (0 would disable termination, which the baseline never allows)
AUTOTERMINATION_CEILING = 10_000
MAX_WORKERS_CEILING = 1000  # a sanity bound: more than this is a typo, not a plan
AZURE_TAG_VALUE_MAX = 256

_AZURE_VM_SIZE = re.compile(r"Standard_[A-Za-z0-9_]+")
_LTS_VERSION = re.compile(r"[0-9]+\.[0-9]+")
# /Volumes/<catalog>/<schema>/<volume>[/...]: Unity Catalog names hold no period, space or slash.
_VOLUME_ROOT = re.compile(r"/Volumes/[^/\s.]+/[^/\s.]+/[^/\s.]+")


@dataclass(frozen=True)
class BaselineOptions:
    environment: str  # custom_tags.environment (fixed)
    cost_center: str  # custom_tags.cost-center (fixed)
    data_security_mode: Literal["USER_ISOLATION", "SINGLE_USER"] = "USER_ISOLATION"
    autotermination_min: int = 10
    autotermination_max: int = 120
    autotermination_default: int = 30
    node_types: tuple[str, ...] = ("Standard_D4ds_v5", "Standard_D8ds_v5", "Standard_E8ds_v5")
    min_workers: int = 1
    max_workers: int = 8
    lts_versions: tuple[str, ...] = ("15.4", "16.4")  # spark_version is limited to these LTS lines
    init_scripts_allowed_prefix: str | None = None  # None: no init scripts; else Unity Catalog volume scripts under this prefix only
    cluster_log_path: str = "dbfs:/cluster-logs"  # dbfs:/... -> DBFS, /Volumes/... -> VOLUMES
    max_clusters_per_user: int = 2
    # Which compute may launch under the policy (virtual attribute cluster_type, pinned): interactive
    # (all-purpose) clusters or the clusters a job run creates (job).
    cluster_type: Literal["all-purpose", "job"] = "all-purpose"
    # SINGLE_USER only: the principals a cluster may be dedicated to (single_user_name). One is pinned
    # (fixed), several are allowlisted; none leaves it to the cluster's creator (all-purpose only).
    single_user_names: tuple[str, ...] = ()


def _volume_path_problem(path: str, what: str) -> str | None:
    if ".." in path.split("/"):
        return f"{what} {path!r} contains '..'"
    if re.search(r"\s", path) or "//" in path:
        return f"{what} {path!r} contains whitespace or an empty path segment"
    m = _VOLUME_ROOT.match(path)
    if not m:
        return f"{what} {path!r} must lie under /Volumes/<catalog>/<schema>/<volume>/"
    rest = path[m.end():]
    if rest and not rest.startswith("/"):
        return f"{what} {path!r} must lie under /Volumes/<catalog>/<schema>/<volume>/"
    return None


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def options_problems(opts: BaselineOptions) -> list[tuple[str, str]]:
    """(field, reason) for every option the baseline cannot honour."""
    out: list[tuple[str, str]] = []

    for field in ("environment", "cost_center"):
        value = getattr(opts, field)
        if not value.strip():
            out.append((field, "must not be empty; it becomes a fixed custom tag"))
        elif len(value) > AZURE_TAG_VALUE_MAX:
            out.append((field, f"is {len(value)} characters; Azure tag values allow at most {AZURE_TAG_VALUE_MAX}"))

    if opts.data_security_mode not in ("USER_ISOLATION", "SINGLE_USER"):
        out.append(("data_security_mode", f"{opts.data_security_mode!r} is not USER_ISOLATION or SINGLE_USER"))

    at = {f: getattr(opts, f) for f in ("autotermination_min", "autotermination_default", "autotermination_max")}
    ints_ok = True
    for field, value in at.items():
        if not _is_int(value):
            out.append((field, f"{value!r} is not a whole number of minutes"))
            ints_ok = False
    if ints_ok:
        lo, default, hi = at["autotermination_min"], at["autotermination_default"], at["autotermination_max"]
        if lo < AUTOTERMINATION_FLOOR:
            out.append(("autotermination_min", f"{lo} is below the Clusters API's minimum of {AUTOTERMINATION_FLOOR} minutes"))
        if hi > AUTOTERMINATION_CEILING:
            out.append(("autotermination_max", f"{hi} is above the Clusters API's maximum of {AUTOTERMINATION_CEILING} minutes"))
        if lo > hi:
            out.append(("autotermination_min", f"{lo} is greater than autotermination_max {hi}"))
        elif not lo <= default <= hi:
            out.append(("autotermination_default", f"{default} lies outside autotermination_min..autotermination_max ({lo}-{hi})"))

    if not (_is_int(opts.min_workers) and _is_int(opts.max_workers)):
        out.append(("min_workers", "min_workers and max_workers must be whole numbers"))
    else:
        if opts.min_workers < 1:
            out.append(("min_workers", f"{opts.min_workers} is below 1; single-node clusters are out of scope for this policy"))
        if opts.max_workers > MAX_WORKERS_CEILING:
            out.append(("max_workers", f"{opts.max_workers} is above the sanity ceiling of {MAX_WORKERS_CEILING}"))
        if opts.min_workers > opts.max_workers:
            out.append(("max_workers", f"{opts.max_workers} is below min_workers {opts.min_workers}"))

    if not opts.node_types:
        out.append(("node_types", "must list at least one VM size; an empty allowlist admits no cluster"))
    for size in opts.node_types:
        if not _AZURE_VM_SIZE.fullmatch(size):
            out.append(("node_types", f"{size!r} is not an Azure VM size name (Standard_...)"))
    if len(set(opts.node_types)) != len(opts.node_types):
        out.append(("node_types", "lists a VM size twice"))

    if not opts.lts_versions:
        out.append(("lts_versions", "must list at least one LTS line; otherwise only auto:latest-lts is allowed"))
    for version in opts.lts_versions:
        if not _LTS_VERSION.fullmatch(version):
            out.append(("lts_versions", f"{version!r} is not a runtime line like '15.4'"))
    if len(set(opts.lts_versions)) != len(opts.lts_versions):
        out.append(("lts_versions", "lists a runtime line twice"))

    prefix = opts.init_scripts_allowed_prefix
    if prefix is not None and (p := _volume_path_problem(prefix, "init script prefix")):
        out.append(("init_scripts_allowed_prefix", p))

    log = opts.cluster_log_path
    if log.startswith("dbfs:/"):
        if ".." in log.split("/") or re.search(r"\s", log) or log == "dbfs:/":
            out.append(("cluster_log_path", f"{log!r} must name a folder under dbfs:/ without '..' or whitespace"))
    elif log.startswith("/Volumes/"):
        if p := _volume_path_problem(log, "cluster log path"):
            out.append(("cluster_log_path", p))
    else:
        out.append(("cluster_log_path", f"{log!r} must start with dbfs:/ or /Volumes/"))

    if opts.cluster_type not in CLUSTER_TYPES:
        out.append(("cluster_type", f"{opts.cluster_type!r} is not one of {', '.join(CLUSTER_TYPES)}"))
    names = opts.single_user_names
    if names and opts.data_security_mode != "SINGLE_USER":
        out.append(("single_user_names", "only a SINGLE_USER policy names the principal a cluster is dedicated to"))
    if any(not isinstance(n, str) or not n.strip() for n in names):
        out.append(("single_user_names", "a single-user name must not be empty"))
    elif len(set(names)) != len(names):
        out.append(("single_user_names", "names a principal twice"))
    if opts.cluster_type == "job" and opts.data_security_mode == "SINGLE_USER" and not names:
        out.append(("single_user_names", "a SINGLE_USER job policy ties every job cluster to the service principal it "
                                         "runs as: name at least one"))

    if not _is_int(opts.max_clusters_per_user) or opts.max_clusters_per_user < 1:
        out.append(("max_clusters_per_user", f"{opts.max_clusters_per_user!r} must be a whole number of at least 1"))
    return out


def spark_version_pattern(lts_versions: tuple[str, ...]) -> str:
    """Runtime keys of the given LTS lines (15.4.x-scala2.12, 15.4.x-photon-scala2.12, 16.4.x-cpu-ml-scala2.12,
    16.4.x-scala2.13, ...) plus auto:latest-lts. Note that the alias follows the newest LTS, which may be
    newer than the lines listed: it trades pinning for staying patched."""
    lines = "|".join(re.escape(v) for v in lts_versions)
    return rf"^(auto:latest-lts|({lines})\.x-(photon-|cpu-ml-|gpu-ml-)?scala2\.1[23])$"


def _default_spark_version(lts_versions: tuple[str, ...]) -> str:
    newest = max(lts_versions, key=lambda v: tuple(int(p) for p in v.split(".")))
    # Runtime 17 and later (Spark 4) ship Scala 2.13 only.
    scala = "2.13" if int(newest.split(".")[0]) >= 17 else "2.12"
    return f"{newest}.x-scala{scala}"


def init_script_pattern(prefix: str) -> str:
    """Scripts anywhere below `prefix`, treated as a folder (so /init never admits /init-evil), with no '..' step."""
    folder = re.escape(prefix.rstrip("/"))
    return rf"^{folder}/(?!.*\.\.)[^/\s]+(/[^/\s]+)*$"


def _single_user_rule(opts: BaselineOptions) -> Rule:
    """Shared (USER_ISOLATION) clusters are never pinned to one principal; a SINGLE_USER cluster names its own:
    the one principal the policy serves (fixed), one of several (allowlist), or, on an all-purpose policy
    without named principals, whoever creates it (required, any value)."""
    if opts.data_security_mode != "SINGLE_USER":
        return Forbidden()
    names = opts.single_user_names
    if len(names) == 1:
        return Fixed(names[0])
    if names:
        return AllowList(tuple(names))
    return Unlimited()


def baseline_policy(opts: BaselineOptions) -> dict[str, Rule]:
    """The locked-down policy an all-purpose or a job cluster (opts.cluster_type) launches under."""
    problems = options_problems(opts)
    if problems:
        raise ValueError("baseline policy options are invalid: " + "; ".join(f"{f}: {r}" for f, r in problems))

    workers = Range(min=opts.min_workers, max=opts.max_workers, optional=True)
    rules: dict[str, Rule] = {
        # Pinned: an all-purpose policy never launches job clusters and a job policy never launches
        # interactive ones (virtual attribute, https://learn.microsoft.com/azure/databricks/admin/clusters/policy-definition).
        "cluster_type": Fixed(opts.cluster_type),
        "data_security_mode": Fixed(opts.data_security_mode),
        "node_type_id": AllowList(opts.node_types, default=opts.node_types[0]),
        # Optional: left out, the driver uses node_type_id, which is allowlisted already.
        "driver_node_type_id": AllowList(opts.node_types, optional=True),
        # All three optional: a cluster is either fixed-size (num_workers) or autoscaling, never both.
        "num_workers": workers,
        "autoscale.min_workers": workers,
        "autoscale.max_workers": workers,
        # A pool brings its own node type, which would sidestep the node type allowlist.
        "instance_pool_id": Forbidden(),
        "driver_instance_pool_id": Forbidden(),
        "custom_tags.environment": Fixed(opts.environment),
        "custom_tags.cost-center": Fixed(opts.cost_center),
        "spark_version": Regex(spark_version_pattern(opts.lts_versions), default=_default_spark_version(opts.lts_versions)),
        "ssh_public_keys.*": Forbidden(),
        # Audit: every cluster ships its logs to the same place, and users never see the switch.
        "cluster_log_conf.type": Fixed("DBFS" if opts.cluster_log_path.startswith("dbfs:/") else "VOLUMES", hidden=True),
        "cluster_log_conf.path": Fixed(opts.cluster_log_path, hidden=True),
        "enable_local_disk_encryption": Fixed(True),
        "docker_image.url": Forbidden(),  # no custom containers: the runtime is Databricks' image
        "single_user_name": _single_user_rule(opts),
    }
    if opts.cluster_type == "all-purpose":
        # Job clusters end with their run and the Jobs API does not take autotermination_minutes on a job
        # cluster (terraform-provider-databricks docs/resources/job.md, new_cluster: "autotermination_minutes -
        # isn't supported"), so only an all-purpose policy requires it.
        rules["autotermination_minutes"] = Range(min=opts.autotermination_min, max=opts.autotermination_max,
                                                 default=opts.autotermination_default)

    prefix = opts.init_scripts_allowed_prefix
    for kind in AZURE_INIT_SCRIPT_TYPES:
        if kind == "volumes" and prefix is not None:
            # Any number of scripts (or none) from the approved volume folder.
            rules["init_scripts.*.volumes.destination"] = Regex(init_script_pattern(prefix), optional=True)
        else:
            rules[f"init_scripts.*.{kind}.destination"] = Forbidden()

    leftover = grammar_problems(json.loads(definition_json(rules)))
    if leftover:  # a bug in this module, never the caller's options
        raise RuntimeError("baseline policy breaks the policy grammar: " + "; ".join(leftover))
    return rules


# ---------- the built-in Personal Compute policy ----------

# The Personal Compute policy's family (ClusterPolicy docs in pulumi-databricks, "Overriding the built-in cluster
# policies": name "Personal Compute", policy_family_id "personal-vm"). Its clusters are single-node, dedicated
# (single user) all-purpose compute (https://learn.microsoft.com/azure/databricks/admin/clusters/personal-compute).
PERSONAL_COMPUTE_NAME = "Personal Compute"
PERSONAL_COMPUTE_FAMILY = "personal-vm"


def personal_compute_overrides(opts: BaselineOptions, ship_logs: bool = True) -> dict[str, Rule]:
    """The baseline's security locks laid over the Personal Compute family: the family keeps its single-node
    shape (no worker rules here), the overrides pin tags, node types, logs (unless `ship_logs` is off), disk
    encryption, runtime lines, init scripts, pools, SSH keys and containers, and bound autotermination (the
    family's own default is 72 hours). The family names the single user (the creator) itself."""
    personal = BaselineOptions(**{**opts.__dict__, "data_security_mode": "SINGLE_USER", "cluster_type": "all-purpose",
                                  "single_user_names": ()})
    base = baseline_policy(personal)
    keep = ("cluster_type", "data_security_mode", "autotermination_minutes", "node_type_id", "driver_node_type_id",
            "instance_pool_id", "driver_instance_pool_id", "custom_tags.environment", "custom_tags.cost-center",
            "spark_version", "ssh_public_keys.*", "enable_local_disk_encryption", "docker_image.url",
            *(("cluster_log_conf.type", "cluster_log_conf.path") if ship_logs else ()))
    rules = {path: base[path] for path in keep}
    rules.update({path: rule for path, rule in base.items() if path.startswith("init_scripts.")})
    return rules
