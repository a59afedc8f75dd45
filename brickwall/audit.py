"""`python -m brickwall audit --stack NAME`: does the live workspace still match what the spec declared?

Read-only. The expected values are the plan's, never restated here: the program is rendered offline (or a saved plan
file is read with `--plan`) and its Databricks resources give the workspace conf (`WorkspaceConf` custom_config,
components/planning/workspace_settings.py), the IP access lists (`IpAccessList`, components/spec/access.py), the
cluster policies with their definitions (`ClusterPolicy`, components/planning/cluster_policies.py) and who may use
personal access tokens (the `Permissions` on authorization "tokens"); the spec gives the admin groups
(`workspace_admin`), the maximum token lifetime, and the job policies with the service principals jobs run as
(`job_findings`).

The live side is read with databricks-sdk's `WorkspaceClient` (authenticated as the provider is: the host from
`--host` or the stack's `workspaceUrl` output, credentials from the environment, databricks-sdk `Config`), each API
once (workspace conf a second time when the workspace refuses keys it does not know), in parallel, through the SDK's
own list iterators (they follow `next_page_token` and SCIM `startIndex`):

    clusters          GET /api/2.1/clusters/list             compute.ClustersAPI.list (pinned, running, and
                                                             terminated in the last 30 days)
    cluster policies  GET /api/2.0/policies/clusters/list    compute.ClusterPoliciesAPI.list
    tokens            GET /api/2.0/token-management/tokens   settings.TokenManagementAPI.list
    groups            GET /api/2.0/preview/scim/v2/Groups    iam.GroupsAPI.list
    service principals GET /api/2.0/preview/scim/v2/ServicePrincipals  iam.ServicePrincipalsAPI.list
    IP access lists   GET /api/2.0/ip-access-lists           settings.IpAccessListsAPI.list
    workspace conf    GET /api/2.0/workspace-conf?keys=...   settings.WorkspaceConfAPI.get_status
    jobs              GET /api/2.2/jobs/list?expand_tasks=true&limit=100   the path and paging of jobs.JobsAPI.list,
                                                             through the SDK's ApiClient (see read_jobs)
    users             GET /api/2.0/preview/scim/v2/Users?attributes=id,userName,active   iam.UsersAPI.list

(paths: databricks-sdk 0.162.0, databricks/sdk/service/{compute,settings,iam,jobs}.py). Workspace admins are the members
of the workspace's `admins` system group ("all workspace admins are members of the admins group",
https://learn.microsoft.com/azure/databricks/admin/users-groups/groups); Azure also puts there every principal with
Contributor or Owner on the workspace resource, which is how the deploying service principal gets there.

No secret value is ever read (the token list carries no token values) or printed: a cluster's spark_conf and
spark_env_vars values are never shown, only their keys.

Exit codes (brickwall/exits.py): 0 clean; AUDIT_FINDINGS findings exist; AUDIT_UNREADABLE an API refused or answered
something that is not the API's shape (which permission to grant is said); UNREACHABLE the host does not answer;
USAGE an unknown stack, no host, no credentials; INVALID an invalid spec.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from components.planning.workspace_settings import MAY_BE_REFUSED

HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITIES = (HIGH, MEDIUM, LOW)
DEFAULT_TIMEOUT = 60.0
ADMINS_GROUP = "admins"  # the workspace system group of workspace admins
DEPLOYER_CONFIG = "brickwall:databricksClientId"  # the provider's Entra application (stack config), when CI uses one
# Compute Databricks manages itself (compute.ClusterSource SQL, MODELS, PIPELINE_MAINTENANCE): cluster policies do
# not govern SQL warehouses (components/spec/compute.py SqlWarehouseSpec) and the rest is not launched by anyone.
SYSTEM_SOURCES = frozenset({"SQL", "MODELS", "PIPELINE_MAINTENANCE"})
# Cluster attributes whose values are never printed: Spark properties and environment variables can hold secrets.
HIDDEN_VALUES = ("spark_conf.", "spark_env_vars.")
# Plan resource types (pulumi-databricks tokens).
T_CONF = "databricks:index/workspaceConf:WorkspaceConf"
T_IP_LIST = "databricks:index/ipAccessList:IpAccessList"
T_POLICY = "databricks:index/clusterPolicy:ClusterPolicy"
T_PERMISSIONS = "databricks:index/permissions:Permissions"


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    object: str
    expected: str
    actual: str


# --- what the spec and the plan expect --------------------------------------------------------------------------

@dataclass(frozen=True)
class PlannedPolicy:
    name: str
    definition: dict[str, Any] | None  # a policy of its own
    family_id: str | None  # a policy family's (Personal Compute): its overrides
    overrides: dict[str, Any] | None
    max_clusters_per_user: int | None

    @property
    def rules(self) -> dict[str, Any]:
        return self.definition if self.definition is not None else (self.overrides or {})


@dataclass(frozen=True)
class Expected:
    conf: dict[str, str]
    ip_lists: dict[str, tuple[str, tuple[str, ...], bool]]  # label -> (ALLOW|BLOCK, addresses, enabled)
    policies: dict[str, PlannedPolicy]
    token_groups: frozenset[str]
    token_service_principals: frozenset[str]  # application ids
    admin_groups: frozenset[str]
    admin_principals: frozenset[str]  # application ids: the deploying (and auditing) service principal
    max_token_days: int
    names: Mapping[str, str] = field(default_factory=dict)  # application id -> the spec's service principal name
    # Where the spec says service principals: its job policies (cluster_type "job", components/spec/compute.py
    # ClusterPolicySpec) serve service principals only, each job cluster dedicated to the one it runs as. With a job
    # policy declared, jobs run as service principals; these are the policies and the application ids they serve.
    job_policies: tuple[str, ...] = ()
    job_principals: frozenset[str] = frozenset()
    strict: bool = False  # the prod tier: a person's identity in prod automation is a high finding


def expected(spec: Any, plan: Mapping[str, Any], admin_principals: Iterable[str]) -> Expected:
    resources = plan.get("resources", [])

    def of(type_: str) -> list[dict[str, Any]]:
        return [r for r in resources if r.get("type") == type_]

    conf: dict[str, str] = {}
    for r in of(T_CONF):
        conf.update({k: str(v) for k, v in (r["inputs"].get("customConfig") or {}).items()})
    lists = {r["inputs"]["label"]: (r["inputs"]["listType"], tuple(sorted(r["inputs"].get("ipAddresses") or ())),
                                    bool(r["inputs"].get("enabled", True)))
             for r in of(T_IP_LIST)}
    policies = {}
    for r in of(T_POLICY):
        i = r["inputs"]
        policies[i["name"]] = PlannedPolicy(
            name=i["name"], definition=json.loads(i["definition"]) if i.get("definition") else None,
            family_id=i.get("policyFamilyId"),
            overrides=json.loads(i["policyFamilyDefinitionOverrides"]) if i.get("policyFamilyDefinitionOverrides") else None,
            max_clusters_per_user=i.get("maxClustersPerUser"))
    groups: set[str] = set()
    sps: set[str] = set()
    for r in of(T_PERMISSIONS):
        if r["inputs"].get("authorization") != "tokens":
            continue
        for ac in r["inputs"].get("accessControls") or ():
            if ac.get("groupName"):
                groups.add(ac["groupName"])
            if ac.get("servicePrincipalName"):
                sps.add(ac["servicePrincipalName"].lower())
    job_policies = [p for p in spec.access.cluster_policies if p.cluster_type == "job"]
    app_of = {s.name: s.application_id.lower() for s in spec.access.service_principals}
    return Expected(
        conf=conf, ip_lists=lists, policies=policies, token_groups=frozenset(groups),
        token_service_principals=frozenset(sps),
        admin_groups=frozenset(g.name for g in spec.access.groups if g.workspace_admin),
        admin_principals=frozenset(a.lower() for a in admin_principals),
        max_token_days=spec.access.settings.max_token_lifetime_days,
        names={s.application_id.lower(): s.name for s in spec.access.service_principals},
        job_policies=tuple(p.name for p in job_policies),
        job_principals=frozenset(app_of[n] for p in job_policies for n in p.service_principals if n in app_of),
        strict=str(getattr(spec.tier, "value", spec.tier)) == "prod",
    )


# --- what the workspace holds -----------------------------------------------------------------------------------

@dataclass
class Live:
    clusters: list[Any] = field(default_factory=list)
    policies: list[Any] = field(default_factory=list)
    tokens: list[Any] = field(default_factory=list)
    groups: list[Any] = field(default_factory=list)
    service_principals: list[Any] = field(default_factory=list)
    ip_lists: list[Any] = field(default_factory=list)
    conf: dict[str, Any] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)  # workspace-conf keys this workspace does not know
    notes: list[str] = field(default_factory=list)
    jobs: list[LiveJob] = field(default_factory=list)
    users: list[Any] = field(default_factory=list)  # iam.User with id, user_name and active only


@dataclass(frozen=True)
class LiveJob:
    """A job of the list: databricks-sdk's jobs.BaseJob, and the principal it runs as.

    `run_as_user_name` is the list answer's own top-level field, which BaseJob.from_dict (0.162.0) does not keep
    (databricks/databricks-sdk-py#967, on GET /api/2.2/jobs/list: "the field `run_as_user_name` should be used. It
    is given alongside `creator_user_name`", while JobSettings.run_as stays empty). terraform-provider-databricks reads it from
    the same list (jobs/resource_job.go, `JobListResponse{Jobs []Job}`, `Job.RunAsUserName
    json:"run_as_user_name"`) because `run_as` "can only be set on write and is not returned on read"
    (jobs/jobs_api_go_sdk.go). It is "the email of an active workspace user or the application ID of a service
    principal that the job runs as", by default the job's creator or, with job access control, the user holding
    IS_OWNER (databricks-sdk jobs.Job.run_as_user_name)."""

    job: Any
    run_as_user_name: str | None = None


class Unreadable(Exception):
    """An API refused or answered nonsense: exit AUDIT_UNREADABLE, one line each."""

    def __init__(self, lines: Sequence[str]):
        super().__init__("; ".join(lines))
        self.lines = list(lines)


class Unreachable(Exception):
    pass


# What to grant when a read is refused. Token management and IP access lists are admin APIs (databricks-sdk
# settings.TokenManagementAPI: "Enables administrators to get all tokens"; settings.IpAccessListsAPI: "enables admins
# to configure IP access lists"), workspace conf holds the workspace admin settings, and cluster and policy ACLs hide
# from anyone else what they may not use (compute.ClusterPoliciesAPI: "Cluster policies have ACLs"). Databricks has
# no read-only admin role, so the auditor is a workspace admin, best the deploying service principal itself.
GRANT = {
    "clusters": "workspace admin (the `admins` group): cluster ACLs hide other principals' clusters",
    "cluster policies": "workspace admin (the `admins` group): policy ACLs hide the policies a principal may not use",
    "tokens": "workspace admin (the `admins` group): the token management API is for workspace admins",
    "groups": "workspace access (the `users` entitlement workspace-access) to read SCIM groups",
    "service principals": "workspace access (the `users` entitlement workspace-access) to read SCIM service principals",
    "IP access lists": "workspace admin (the `admins` group): IP access lists are an admin API",
    "workspace conf": "workspace admin (the `admins` group): workspace-conf holds the workspace admin settings",
    # "Workspace admins have the CAN MANAGE permission on all jobs in their workspace"; anyone else sees the jobs
    # they hold a permission on (https://learn.microsoft.com/azure/databricks/security/auth-authz/access-control/jobs-acl).
    "jobs": "workspace admin (the `admins` group): job permissions hide from anyone else the jobs they may not view",
    "users": "workspace access (the `users` entitlement workspace-access) to read SCIM users",
}


def _one_line(text: object) -> str:
    """One line, without the SDK's "Config: host=..., Env: ..." debug suffix (credentials masked there anyway)."""
    return " ".join(re.split(r"\s*Config: ", str(text))[0].split())[:600]


REFUSED = "__refused__"  # in the conf read: the keys the workspace answered "Invalid keys" for


def arm_error(exc: Any) -> str:
    """An Azure SDK error (azure-core HttpResponseError) in one line: its ARM error code and message when it has them."""
    error = getattr(exc, "error", None)
    if error is not None and getattr(error, "code", None):
        return _one_line(f"{error.code}: {error.message}")
    return _one_line(getattr(exc, "message", None) or exc)


def invalid_keys(exc: BaseException) -> list[str]:
    """The keys of a workspace-conf "Invalid keys: [\"a\", \"b\"]" error (a JSON list, as the provider parses it)."""
    found = re.search(r"Invalid keys: (\[[^\]]*\])", str(exc))
    if not found:
        return []
    try:
        keys = json.loads(found.group(1))
    except ValueError:
        return []
    return [k for k in keys if isinstance(k, str)] if isinstance(keys, list) else []


def network_reason(exc: BaseException) -> str:
    """Why a host did not answer, in a few words: the SDK retries connection errors until its timeout and raises
    TimeoutError from the last requests error, whose text holds the whole URL and urllib3's chain."""
    chain: list[BaseException] = []
    e: BaseException | None = exc
    while e is not None and e not in chain:
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(str(x) for x in chain)
    if "CERTIFICATE_VERIFY_FAILED" in text or any(type(x).__name__ == "SSLError" for x in chain):
        return ("its TLS certificate is not trusted here; a TLS-inspecting proxy's CA goes in REQUESTS_CA_BUNDLE"
                if "CERTIFICATE_VERIFY_FAILED" in text else "the TLS handshake failed")
    if found := re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text):
        return found.group(1).strip().rstrip(".")
    if any("timeout" in type(x).__name__.lower() for x in chain[1:]) or "timed out" in text.lower():
        return "no answer in time"
    return type(chain[-1]).__name__


def check_trust(host: str, timeout: float) -> None:
    """One unauthenticated HEAD to the workspace before the reads, outside databricks-sdk's retries. Raises Unreachable
    when this machine does not trust the host's TLS certificate: retrying never changes that, yet the SDK retries every
    requests ConnectionError, SSLError included (databricks/sdk/_base_client.py `_is_retryable`), until --timeout and
    once per read. Raises it too when the host gave no answer in --timeout: the reads would only wait as long again.
    The same trust as the SDK's reads: requests with the environment's settings (REQUESTS_CA_BUNDLE, proxies), as the
    SDK's own requests.Session has them. Anything else (a refused connection, which the SDK retries as a passing
    glitch, any HTTP status) is left to the reads."""
    import requests

    try:
        requests.head(host, timeout=timeout, allow_redirects=False)
    except requests.exceptions.Timeout as exc:  # before ConnectionError: ConnectTimeout is both
        raise Unreachable(network_reason(exc)) from None
    except requests.exceptions.SSLError as exc:
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            raise Unreachable(network_reason(exc)) from None
    except requests.exceptions.RequestException:
        pass


JOBS_PAGE = 100  # jobs.JobsAPI.list `limit`: "greater than 0 and less or equal to 100" (default 20)
JOBS_PATH = "/api/2.2/jobs/list"  # jobs.JobsAPI.list
# SCIM attributes read per user (iam.UsersAPI.list `attributes`: "Comma-separated list of attributes to return"):
# enough to tell whether a principal a job names still exists and is active; no names, emails or groups.
USER_ATTRIBUTES = "id,userName,active"


def read_jobs(client: Any) -> list[LiveJob]:
    """Every job, one paged list: GET /api/2.2/jobs/list with expand_tasks (job clusters and task clusters, the
    first 100 of each) through the SDK's own ApiClient (authentication, retries and errors as every other read),
    following next_page_token as jobs.JobsAPI.list does. Each job is parsed with jobs.BaseJob.from_dict; its
    run_as_user_name, which BaseJob drops, is kept beside it (LiveJob).

    Per job nothing else is read: creator_user_name and run_as_user_name (by default the owner) come with the list.
    The IS_OWNER principal of a job whose run-as was set to someone else is only in its permissions
    (GET /api/2.0/permissions/jobs/{id}, one request per job), which the audit does not read; nor does it call
    jobs/get for a job the list cuts short (has_more, as JobsExt.list would): both are said in a note."""
    from databricks.sdk.service.jobs import BaseJob

    headers = {"Accept": "application/json"}
    if client.config.workspace_id:  # as the generated JobsAPI.list sends it
        headers["X-Databricks-Workspace-Id"] = client.config.workspace_id
    query: dict[str, Any] = {"expand_tasks": True, "limit": JOBS_PAGE}
    found: list[LiveJob] = []
    seen: set[str] = set()
    while True:
        page = client.api_client.do("GET", JOBS_PATH, query=query, headers=headers)
        if not isinstance(page, dict):
            raise TypeError(f"a {type(page).__name__}, not an object with `jobs`")
        for item in page.get("jobs") or []:
            if not isinstance(item, dict):
                raise TypeError(f"a job that is a {type(item).__name__}")
            run_as = item.get("run_as_user_name")
            found.append(LiveJob(BaseJob.from_dict(item), run_as if isinstance(run_as, str) and run_as else None))
        token = page.get("next_page_token")
        if not token or token in seen:  # the last page (or a server repeating itself)
            return found
        seen.add(token)
        query = {**query, "page_token": token}


def _job_notes(jobs: Sequence[LiveJob]) -> list[str]:
    notes = []
    cut = [_job_name(j.job) for j in jobs if j.job.has_more]
    if cut:
        notes.append(f"{', '.join(cut)}: more tasks or job clusters than the list shows (has_more): the first 100 "
                     "were compared")
    if creatorless := sum(1 for j in jobs if not j.job.creator_user_name):
        notes.append(f"{creatorless} job(s) list no creator (creator_user_name is left out once the user is "
                     "deleted): judged by the principal they run as")
    if unknown := [_job_name(j.job) for j in jobs if _run_as(j) is None]:
        notes.append(f"{', '.join(unknown)}: the list does not say whom it runs as (no run_as_user_name): not compared")
    return notes


def read(client: Any, conf_keys: Sequence[str], progress: Callable[[str], None] = lambda _: None) -> Live:
    """Each API once, in parallel. Raises Unreachable, or Unreadable naming every API that failed and why."""
    import requests
    from databricks.sdk.errors import DatabricksError, PermissionDenied, Unauthenticated

    def conf() -> dict[str, Any]:
        # As the provider reads it (terraform-provider-databricks workspace/resource_workspace_conf.go, SafeGetStatus):
        # a workspace that does not know a key answers "Invalid keys: [...]" for the whole request; read again
        # without those keys, and say which were refused.
        try:
            return dict(client.workspace_conf.get_status(keys=",".join(conf_keys)) or {})
        except DatabricksError as exc:
            refused = invalid_keys(exc)
            kept = [k for k in conf_keys if k not in refused]
            if not refused or not kept:
                raise
            return {**dict(client.workspace_conf.get_status(keys=",".join(kept)) or {}), REFUSED: refused}

    reads: dict[str, Callable[[], Any]] = {
        "clusters": lambda: list(client.clusters.list()),
        "cluster policies": lambda: list(client.cluster_policies.list()),
        "tokens": lambda: list(client.token_management.list()),
        "groups": lambda: list(client.groups.list()),
        "service principals": lambda: list(client.service_principals.list()),
        "IP access lists": lambda: list(client.ip_access_lists.list()),
        "workspace conf": conf,
        "jobs": lambda: read_jobs(client),
        "users": lambda: list(client.users.list(attributes=USER_ATTRIBUTES)),
    }
    results: dict[str, Any] = {}
    problems: list[str] = []
    unreachable: str | None = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {pool.submit(fn): name for name, fn in reads.items()}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            name = futures[future]
            if future.cancelled():
                continue
            progress(f"brickwall audit: read {done}/{len(reads)} ({name})")
            try:
                results[name] = future.result()
            except PermissionDenied as exc:
                problems.append(f"{name}: permission denied ({_one_line(exc)}): grant {GRANT[name]}")
            except Unauthenticated as exc:
                problems.append(f"{name}: not authenticated ({_one_line(exc)}): check the credentials in the environment")
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, TimeoutError) as exc:
                unreachable = network_reason(exc)
                for pending in futures:  # the host is down for every read: waiting on the rest says nothing more
                    pending.cancel()
            except DatabricksError as exc:
                problems.append(f"{name}: the API refused ({_one_line(exc)})")
            except requests.exceptions.JSONDecodeError as exc:
                problems.append(f"{name}: the answer is not the API's shape (not JSON: {_one_line(exc)})")
            except (KeyError, TypeError, AttributeError) as exc:  # from_dict on another shape
                problems.append(f"{name}: the answer is not the API's shape ({type(exc).__name__}: {_one_line(exc)})")
            except ValueError as exc:  # a field of the wrong type (an int64 that is not a number), or the credentials
                problems.append(f"{name}: failed ({type(exc).__name__}: {_one_line(exc)})")
    if unreachable is not None:
        raise Unreachable(unreachable)
    if problems:
        raise Unreadable(sorted(problems))
    live_conf = results["workspace conf"]
    live = Live(clusters=results["clusters"], policies=results["cluster policies"], tokens=results["tokens"],
                groups=results["groups"], service_principals=results["service principals"],
                ip_lists=results["IP access lists"], conf=live_conf, jobs=results["jobs"], users=results["users"])
    if not isinstance(live_conf, dict):
        raise Unreadable([f"workspace conf: the answer is not the API's shape (a {type(live_conf).__name__})"])
    live.refused = sorted(live_conf.pop(REFUSED, []))
    legacy = [k for k in live.refused if k in MAY_BE_REFUSED]
    if legacy:
        live.notes.append(f"the workspace no longer knows {', '.join(legacy)} (legacy init scripts, end of life): "
                          "not compared")
    live.notes += _job_notes(live.jobs)
    return live


# --- comparing ----------------------------------------------------------------------------------------------------

def _flatten(value: Any, prefix: str = "") -> dict[str, list[Any]]:
    """A cluster as policy-language paths (https://learn.microsoft.com/azure/databricks/admin/clusters/policy-definition:
    `init_scripts.*.volumes.destination`, `ssh_public_keys.*`, `spark_conf.<key>`): path -> values found."""
    out: dict[str, list[Any]] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            for p, vs in _flatten(v, f"{prefix}{k}.").items():
                out.setdefault(p, []).extend(vs)
    elif isinstance(value, list):
        for v in value:
            for p, vs in _flatten(v, f"{prefix}*.").items():
                out.setdefault(p, []).extend(vs)
    else:
        out[prefix[:-1]] = [value]
    return out


# "USER_ISOLATION: Legacy alias for DATA_SECURITY_MODE_STANDARD", "SINGLE_USER: Legacy alias for
# DATA_SECURITY_MODE_DEDICATED" (databricks-sdk compute.DataSecurityMode): either name satisfies a rule naming the other.
MODE_ALIASES = {"DATA_SECURITY_MODE_STANDARD": "USER_ISOLATION", "DATA_SECURITY_MODE_DEDICATED": "SINGLE_USER"}


def _canonical(path: str, value: Any) -> Any:
    return MODE_ALIASES.get(value, value) if path == "data_security_mode" and isinstance(value, str) else value


def _show(path: str, value: Any) -> str:
    if path.startswith(HIDDEN_VALUES):
        return "a value (not shown)"
    return json.dumps(value)


def policy_violations(rules: Mapping[str, Any], cluster: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(attribute, what the policy allows, what the cluster has) for each rule the cluster breaks. Virtual
    attributes (cluster_type, cluster_log_conf.path) have no cluster field and are not checked."""
    flat = _flatten(cluster)
    out = []
    for path, rule in sorted(rules.items()):
        kind = rule.get("type")
        values = flat.get(path, [])
        if kind == "forbidden":
            if values:
                out.append((path, "forbidden", ", ".join(_show(path, v) for v in values)))
        elif kind == "fixed":
            want = rule.get("value")
            if path == "data_security_mode" and not values:
                out.append((path, json.dumps(want), "not set"))
            out += [(path, json.dumps(want), _show(path, v)) for v in values
                    if _canonical(path, v) != _canonical(path, want)]
        elif kind == "allowlist":
            allowed = rule.get("values") or []
            ok = {_canonical(path, a) for a in allowed if isinstance(a, (str, int, float, bool))}
            out += [(path, f"one of {json.dumps(allowed)}", _show(path, v)) for v in values if _canonical(path, v) not in ok]
        elif kind == "blocklist":
            blocked = rule.get("values") or []
            bad = {_canonical(path, b) for b in blocked if isinstance(b, (str, int, float, bool))}
            out += [(path, f"none of {json.dumps(blocked)}", _show(path, v)) for v in values if _canonical(path, v) in bad]
        elif kind == "regex":
            pattern = re.compile(rule.get("pattern", ""))
            out += [(path, f"matching {rule.get('pattern')}", _show(path, v)) for v in values
                    if not isinstance(v, str) or not pattern.fullmatch(v)]
        elif kind == "range":
            lo, hi = rule.get("minValue"), rule.get("maxValue")
            out += [(path, f"{lo if lo is not None else '-inf'}..{hi if hi is not None else 'inf'}", _show(path, v))
                    for v in values if isinstance(v, (int, float))
                    and ((lo is not None and v < lo) or (hi is not None and v > hi))]
    return out


def _cluster_name(c: Any) -> str:
    return f"cluster {c.cluster_name or '?'} ({c.cluster_id})"


def _enum(value: Any) -> str | None:
    return None if value is None else str(getattr(value, "value", value))


def compare(exp: Expected, live: Live, *, now: float | None = None) -> list[Finding]:
    now = time.time() if now is None else now
    out: list[Finding] = []
    sp_by_id = {str(s.id): s for s in live.service_principals if s.id is not None}
    group_by_id = {str(g.id): g for g in live.groups if g.id is not None}
    group_by_name = {g.display_name: g for g in live.groups}

    # Cluster policies: each planned one exists, with the planned definition; none besides.
    live_policies = {p.name or "": p for p in live.policies}
    for name, planned in sorted(exp.policies.items()):
        found = live_policies.get(name)
        what = f"cluster policy {name}"
        if found is None:
            out.append(Finding("policy-missing", HIGH, what, "the planned policy", "no policy of that name"))
            continue
        if planned.definition is not None:
            actual = _json_or_none(found.definition)
            if actual != planned.definition:
                out.append(Finding("policy-changed", HIGH, f"{what} ({found.policy_id})", "the planned definition",
                                   _rule_diff(planned.definition, actual)))
        else:
            actual = _json_or_none(found.policy_family_definition_overrides) or {}
            if found.policy_family_id != planned.family_id or actual != planned.overrides:
                out.append(Finding("policy-changed", HIGH, f"{what} ({found.policy_id})",
                                   f"family {planned.family_id} with the planned overrides",
                                   f"family {found.policy_family_id}: " + _rule_diff(planned.overrides or {}, actual)))
        if planned.max_clusters_per_user is not None and found.max_clusters_per_user != planned.max_clusters_per_user:
            out.append(Finding("policy-changed", MEDIUM, f"{what} ({found.policy_id})",
                               f"max_clusters_per_user {planned.max_clusters_per_user}",
                               f"max_clusters_per_user {found.max_clusters_per_user}"))
    for name, found in sorted(live_policies.items()):
        if name not in exp.policies:
            out.append(Finding("policy-undeclared", MEDIUM, f"cluster policy {name} ({found.policy_id})",
                               "only the spec's policies", f"created by {found.creator_user_name or 'unknown'}"))

    # Clusters: each under one of the planned policies, and within it.
    policy_name = {p.policy_id: p.name for p in live.policies}
    dedicated_flagged: set[str] = set()  # clusters whose single_user_name the policy check already reports
    for c in live.clusters:
        source = _enum(c.cluster_source)
        if source in SYSTEM_SOURCES:
            continue
        state = _enum(c.state) or "?"
        if not c.policy_id:
            out.append(Finding("cluster-without-policy", HIGH, _cluster_name(c),
                               f"a cluster policy ({', '.join(sorted(exp.policies))})",
                               f"no policy ({state}, created by {c.creator_user_name or 'unknown'}, source {source})"))
            continue
        under = policy_name.get(c.policy_id)
        governing = exp.policies.get(under or "")
        if governing is None:
            out.append(Finding("cluster-undeclared-policy", HIGH, _cluster_name(c),
                               f"a cluster policy ({', '.join(sorted(exp.policies))})",
                               f"policy {under or c.policy_id} ({state})"))
            continue
        for path, allowed, actual in policy_violations(governing.rules, c.as_dict()):
            out.append(Finding("cluster-policy-violation", HIGH, _cluster_name(c),
                               f"{path} {allowed} (policy {under})", f"{path} {actual} ({state})"))
            if path == "single_user_name":
                dedicated_flagged.add(str(c.cluster_id))

    # Jobs and the clusters they create: run as service principals where the spec says so, and as principals the
    # workspace still has.
    out += job_findings(exp, live, policy_name, dedicated_flagged)

    # Personal access tokens: younger than the maximum lifetime, held by principals the spec grants them.
    token_members = _members(exp.token_groups, group_by_name, group_by_id)
    granted_sps = {sid for sid, s in sp_by_id.items() if (s.application_id or "").lower() in exp.token_service_principals}
    for t in live.tokens:
        owner = str(t.owner_id) if t.owner_id is not None else ""
        who = _principal(owner, sp_by_id, t)
        what = f"token {t.token_id} of {who}"
        if t.creation_time is not None:
            age_days = (now * 1000 - t.creation_time) / 86_400_000
            if age_days > exp.max_token_days:
                out.append(Finding("token-too-old", MEDIUM, what,
                                   f"at most {exp.max_token_days} days old (access.settings.max_token_lifetime_days)",
                                   f"{int(age_days)} days old"))
        if owner not in granted_sps and owner not in token_members:
            grants = ([f"group {g}" for g in sorted(exp.token_groups)]
                      + [_sp_text(a, exp) for a in sorted(exp.token_service_principals)])
            out.append(Finding("token-ungranted", HIGH, what,
                               f"held only by {', '.join(grants) if grants else 'nobody (tokens are off)'}",
                               f"held by {who}"))

    # Workspace admins: the admin groups and the deploying service principal, nobody else.
    admins = group_by_name.get(ADMINS_GROUP)
    present_groups: set[str] = set()
    for m in (admins.members or []) if admins else []:
        mid = str(m.value)
        if mid in group_by_id:
            gname = group_by_id[mid].display_name
            present_groups.add(gname)
            if gname not in exp.admin_groups:
                out.append(Finding("admin-undeclared", HIGH, f"group {gname} in admins",
                                   _admins_expected(exp), "a member of admins"))
        elif mid in sp_by_id:
            sp = sp_by_id[mid]
            if (sp.application_id or "").lower() not in exp.admin_principals:
                out.append(Finding("admin-undeclared", HIGH, f"service principal {sp.display_name} ({sp.application_id}) "
                                   "in admins", _admins_expected(exp), "a member of admins"))
        else:
            out.append(Finding("admin-undeclared", HIGH, f"user {m.display or mid} in admins", _admins_expected(exp),
                               "a standing member of admins"))
    for gname in sorted(exp.admin_groups - present_groups) if admins else ():
        out.append(Finding("admin-group-missing", LOW, f"group {gname}", "a member of admins (workspace_admin)",
                           "not in admins"))

    # IP access lists: the planned ones, unchanged, and no others.
    live_lists = {x.label or "": x for x in live.ip_lists}
    for label, (list_type, addresses, enabled) in sorted(exp.ip_lists.items()):
        found = live_lists.get(label)
        what = f"IP access list {label}"
        if found is None:
            out.append(Finding("ip-list-missing", HIGH, what, f"{list_type} {', '.join(addresses)}", "no list of that label"))
            continue
        actual = (_enum(found.list_type), tuple(sorted(found.ip_addresses or ())), bool(found.enabled))
        if actual != (list_type, addresses, enabled):
            out.append(Finding("ip-list-changed", HIGH, f"{what} ({found.list_id})",
                               _list_text(list_type, addresses, enabled), _list_text(*actual)))
    for label, found in sorted(live_lists.items()):
        if label not in exp.ip_lists:
            kind = _enum(found.list_type) or "?"
            out.append(Finding("ip-list-undeclared", HIGH if kind == "ALLOW" else MEDIUM,
                               f"IP access list {label} ({found.list_id})", "only the spec's lists",
                               _list_text(kind, tuple(sorted(found.ip_addresses or ())), bool(found.enabled))))

    # Workspace conf: every planned key at its planned value.
    for key, want in sorted(exp.conf.items()):
        if key in live.refused:
            if key not in MAY_BE_REFUSED:  # the legacy switches are noted; any other key the program sets too
                out.append(Finding("setting-refused", MEDIUM, f"workspace conf {key}", want,
                                   "the workspace does not know the key (Invalid keys)"))
            continue
        have = live.conf.get(key)
        if have is None:
            out.append(Finding("setting-unset", MEDIUM, f"workspace conf {key}", want, "not set (the workspace default)"))
        elif str(have).strip().lower() != want.lower():
            out.append(Finding("setting-drifted", HIGH, f"workspace conf {key}", want, str(have)))
    return sorted(out, key=lambda f: (SEVERITIES.index(f.severity), f.kind, f.object))


# A service principal is named by its application id (a UUID) in run_as_user_name, single_user_name and
# creator_user_name; a user by their email (databricks-sdk jobs.JobRunAs: service_principal_name "Application ID of an
# active service principal", user_name "The email of an active workspace user"). terraform-provider-databricks tells
# the two apart the same way (jobs/jobs_api_go_sdk.go: common.StringIsUUID(job.RunAsUserName) -> service principal).
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
SP = "service principal"


@dataclass(frozen=True)
class Principal:
    kind: str  # SP, "user", "group", or "principal" (an unknown name that is neither email nor UUID)
    text: str  # as the report names it
    gone: str | None = None  # why the workspace no longer has it (None: a present, active principal)


def _principals(live: Live) -> Callable[[str], Principal]:
    sps = {(s.application_id or "").lower(): s for s in live.service_principals if s.application_id}
    users = {(u.user_name or "").lower(): u for u in live.users if u.user_name}
    groups = {g.display_name for g in live.groups if g.display_name}

    def who(name: str) -> Principal:
        key = name.strip().lower()
        if key in sps:
            sp = sps[key]
            return Principal(SP, f"service principal {sp.display_name or '?'} ({sp.application_id})",
                             "deactivated (SCIM active false)" if sp.active is False else None)
        if key in users:
            return Principal("user", f"user {users[key].user_name}",
                             "deactivated (SCIM active false)" if users[key].active is False else None)
        if name in groups:  # JobRunAs.group_name, or a cluster dedicated to a group
            return Principal("group", f"group {name}")
        if _UUID.fullmatch(name.strip()):
            return Principal(SP, f"service principal {name}", "no service principal of that application id in the workspace")
        if "@" in name:
            return Principal("user", f"user {name}", "no user of that name in the workspace")
        return Principal("principal", f"principal {name}", "no user, service principal or group of that name in the workspace")

    return who


def _job_name(job: Any) -> str:
    return f"job {(job.settings.name if job.settings else None) or '?'} ({job.job_id})"


def _run_as(lj: LiveJob) -> str | None:
    """Whom the job runs as: the list's run_as_user_name, else a `run_as` in the settings (write-only, but
    honoured should an answer carry it)."""
    if lj.run_as_user_name:
        return lj.run_as_user_name
    run_as = lj.job.settings.run_as if lj.job.settings else None
    return (run_as.service_principal_name or run_as.user_name or run_as.group_name) if run_as else None


def _job_clusters(job: Any) -> list[tuple[str, Any]]:
    """The clusters a job's runs create (jobs.JobSettings.job_clusters[].new_cluster, jobs.Task.new_cluster):
    (where, compute.ClusterSpec)."""
    settings = job.settings
    if settings is None:
        return []
    found = [(f"job cluster {jc.job_cluster_key}", jc.new_cluster) for jc in settings.job_clusters or [] if jc.new_cluster]
    found += [(f"task {t.task_key}", t.new_cluster) for t in settings.tasks or [] if t.new_cluster]
    return found


def _service_principals_wanted(exp: Expected) -> str:
    sps = ", ".join(_sp_text(a, exp).removeprefix("service principal ") for a in sorted(exp.job_principals))
    policies = ", ".join(exp.job_policies)
    return f"a service principal (job polic{'y' if len(exp.job_policies) == 1 else 'ies'} {policies}" + \
        (f": {sps})" if sps else ")")


def job_findings(exp: Expected, live: Live, policy_name: Mapping[str, str | None],
                 dedicated_flagged: set[str]) -> list[Finding]:
    """Jobs and job clusters running as people where the spec says service principals, and jobs owned by or
    running as principals the workspace no longer has.

    Severity. A person's identity in automation (`job-runs-as-human`, `job-cluster-as-human`,
    `cluster-runs-as-human`) is high in prod and medium in staging and dev: prod's data is the data the job reaches
    with that person's grants, prod restricts workspace admins to service principals they hold the role on
    (components/spec/tiers.py floor restrict_workspace_admins: RESTRICT_TOKENS_AND_JOB_RUN_AS), and the job breaks
    when the person leaves; elsewhere it is a habit to correct before it reaches prod. Only where the spec declares
    a job policy is a person wrong at all (dev declares none: people may run their own jobs there). A job whose
    run-as or creator is gone (`job-owner-gone`) is high in prod and medium elsewhere: "jobs run as the identity of
    the user in the Run as setting" and the creator holds IS_OWNER by default
    (https://learn.microsoft.com/azure/databricks/jobs/privileges), so the job runs as, or is owned by, nobody
    accountable; in prod that is a production job with no owner. A principal that is gone is reported as gone,
    not also as a person."""
    out: list[Finding] = []
    who = _principals(live)
    people_sev = HIGH if exp.strict else MEDIUM
    gone_sev = HIGH if exp.strict else MEDIUM
    wanted = _service_principals_wanted(exp) if exp.job_policies else ""
    for lj in live.jobs:
        job = lj.job
        what = _job_name(job)
        run_as = _run_as(lj)
        if run_as is not None:
            p = who(run_as)
            if p.gone:
                out.append(Finding("job-owner-gone", gone_sev, what, "runs as a principal of the workspace",
                                   f"runs as {p.text}: {p.gone}"))
            elif exp.job_policies and p.kind != SP:
                out.append(Finding("job-runs-as-human", people_sev, what, f"runs as {wanted}", f"runs as {p.text}"))
        if job.creator_user_name and job.creator_user_name != run_as:
            p = who(job.creator_user_name)
            if p.gone:
                out.append(Finding("job-owner-gone", gone_sev, what,
                                   "created (and by default owned, IS_OWNER) by a principal of the workspace",
                                   f"created by {p.text}: {p.gone}"))
        if not exp.job_policies:
            continue
        for where, spec in _job_clusters(job):
            if spec.single_user_name and (p := who(spec.single_user_name)).kind != SP:
                out.append(Finding("job-cluster-as-human", people_sev, f"{what} {where}", f"dedicated to {wanted}",
                                   f"dedicated to {p.text} (single_user_name" + (f"; {p.gone})" if p.gone else ")")))
    if not exp.job_policies:
        return out
    for c in live.clusters:
        source = _enum(c.cluster_source)
        if not c.single_user_name or str(c.cluster_id) in dedicated_flagged:
            continue
        if source != "JOB" and policy_name.get(c.policy_id or "") not in exp.job_policies:
            continue
        if (p := who(c.single_user_name)).kind != SP:
            out.append(Finding("cluster-runs-as-human", people_sev, _cluster_name(c), f"dedicated to {wanted}",
                               f"dedicated to {p.text} (single_user_name; {_enum(c.state) or '?'}, source {source})"))
    return out


def _json_or_none(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return text


def _rule_diff(want: Mapping[str, Any], have: Any) -> str:
    if not isinstance(have, dict):
        return "no definition" if have is None else "a definition that is not JSON"
    parts = [f"{k} {json.dumps(have[k])}" for k in sorted(want) if k in have and have[k] != want[k]]
    parts += [f"{k} removed" for k in sorted(want) if k not in have]
    parts += [f"{k} added" for k in sorted(have) if k not in want]
    return "; ".join(parts) or "a different definition"


def _members(names: Iterable[str], by_name: Mapping[str, Any], by_id: Mapping[str, Any]) -> set[str]:
    """Every principal id in these groups, nested groups followed."""
    seen_groups: set[str] = set()
    found: set[str] = set()
    todo = [by_name[n] for n in names if n in by_name]
    while todo:
        g = todo.pop()
        if str(g.id) in seen_groups:
            continue
        seen_groups.add(str(g.id))
        for m in g.members or []:
            found.add(str(m.value))
            if str(m.value) in by_id:
                todo.append(by_id[str(m.value)])
    return found


def _principal(owner: str, sp_by_id: Mapping[str, Any], token: Any) -> str:
    if owner in sp_by_id:
        sp = sp_by_id[owner]
        return f"service principal {sp.display_name} ({sp.application_id})"
    if token.created_by_id is not None and str(token.created_by_id) == owner and token.created_by_username:
        return f"user {token.created_by_username}"
    return f"principal {owner or 'unknown'}"


def _sp_text(app_id: str, exp: Expected) -> str:
    name = exp.names.get(app_id)
    return f"service principal {name} ({app_id})" if name else f"service principal {app_id}"


def _admins_expected(exp: Expected) -> str:
    parts = [f"group {g}" for g in sorted(exp.admin_groups)] + [_sp_text(a, exp) for a in sorted(exp.admin_principals)]
    return "admins: " + (", ".join(parts) if parts else "nobody declared")


def _list_text(list_type: str | None, addresses: Sequence[str], enabled: bool) -> str:
    return f"{list_type} {', '.join(addresses) or '(none)'}{'' if enabled else ' (disabled)'}"


# --- the report ---------------------------------------------------------------------------------------------------

@dataclass
class Report:
    stack: str
    host: str
    findings: list[Finding]
    counts: dict[str, int]
    notes: list[str]
    subscription: str | None = None  # the Azure subscription read, None when Azure was skipped
    skipped: list[str] = field(default_factory=list)  # what was not read at all, and why

    def to_json(self) -> dict[str, Any]:
        return {"stack": self.stack, "host": self.host, "subscription": self.subscription, "clean": not self.findings,
                "read": self.counts, "notes": self.notes, "skipped": self.skipped,
                "findings": [asdict(f) for f in self.findings]}


def counts_of(live: Live) -> dict[str, int]:
    return {"clusters": len(live.clusters), "cluster_policies": len(live.policies), "tokens": len(live.tokens),
            "groups": len(live.groups), "service_principals": len(live.service_principals),
            "ip_access_lists": len(live.ip_lists), "workspace_conf_keys": len(live.conf), "jobs": len(live.jobs),
            "users": len(live.users)}


def _summary(report: Report) -> str:
    by = {s: sum(1 for f in report.findings if f.severity == s) for s in SEVERITIES}
    if not report.findings:
        return "clean: the workspace matches the spec" + ("" if report.subscription is None else " (and Azure the plan)")
    return f"{len(report.findings)} finding(s): " + ", ".join(f"{n} {s}" for s, n in by.items() if n)


_ACRONYMS = {"ip": "IP", "nsg": "NSG", "nic": "NIC", "nics": "NICs", "azure": "Azure"}


def _counted(count: int, key: str) -> str:
    """"2 key vaults", "1 key vault", "1 cluster policy", "3 IP access lists": a read count in words (the keys are
    plural nouns)."""
    words = key.split("_")
    if count == 1:
        last = words[-1]
        words[-1] = last[:-3] + "y" if last.endswith("ies") else last[:-1]
    return f"{count} " + " ".join(_ACRONYMS.get(w, w) for w in words)


def _read(report: Report) -> str:
    return ", ".join(_counted(v, k) for k, v in report.counts.items())


def render_text(report: Report) -> str:
    lines = [f"brickwall audit: stack {report.stack}, {report.host}: {_summary(report)}",
             f"read: {_read(report)}"]
    lines += [f"note: {n}" for n in report.notes]
    lines += [f"skipped: {n}" for n in report.skipped]
    for f in report.findings:
        lines.append(f"[{f.severity.upper()}] {f.kind}: {f.object}: expected {f.expected}; found {f.actual}")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [f"## brickwall audit: `{report.stack}`", "",
             f"Workspace `{report.host}`"
             + ("" if report.subscription is None else f", Azure subscription `{report.subscription}`")
             + f": **{_summary(report)}**.", "",
             f"Read: {_read(report)}."]
    lines += [f"> note: {n}" for n in report.notes]
    lines += [f"> skipped: {n}" for n in report.skipped]
    if report.findings:
        lines += ["", "| severity | finding | object | expected (spec) | found |", "|---|---|---|---|---|"]
        lines += [f"| {f.severity} | {f.kind} | {_cell(f.object)} | {_cell(f.expected)} | {_cell(f.actual)} |"
                  for f in report.findings]
    return "\n".join(lines) + "\n"
