"""The Azure part of `python -m brickwall audit`: NSG rules, the workspace's network settings, and the locks.

Read-only, with Microsoft's own SDKs: azure-identity's DefaultAzureCredential (any azure.core TokenCredential may be
passed instead: the SDK's supported extension point), azure-mgmt-network, azure-mgmt-databricks and
azure-mgmt-resource-locks (azure-mgmt-resource 26.0.0 no longer ships the locks client: it moved to that package).

The expected side is the plan (`brickwall.project.run` or a saved plan): the `SecurityRule` resources the program
registers are the rule table of each `NetworkSecurityGroup`; the `databricks:Workspace` inputs give publicNetworkAccess,
requiredNsgRules and parameters.enableNoPublicIp; the `ManagementLockByScope` resources (components/security ResourceLocks)
give the locks. Each resource is read once, in parallel:

    NSG        GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/networkSecurityGroups/{n}
               NetworkManagementClient.network_security_groups.get (its securityRules: the custom rules)
    workspace  GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Databricks/workspaces/{n}
               AzureDatabricksManagementClient.workspaces.get
    locks      GET /subscriptions/{s}/resourcegroups/{rg}/providers/{namespace}/{parent}/{type}/{name}/providers/
               Microsoft.Authorization/locks     ManagementLockClient.management_locks.list_at_resource_level

(paths: azure-mgmt-network 33.1.0 operations/_operations.py, azure-mgmt-databricks 3.0.0, azure-mgmt-resource-locks
1.0.0). Rules Databricks injects into a VNet-injected workspace's NSG are named `Microsoft.Databricks-workspaces_UseOnly_*`
(https://learn.microsoft.com/azure/databricks/security/network/classic/vnet-inject#network-security-group-rules) and
are not the program's: they are skipped.

The effective rules on the cluster NICs (brickwall/audit_azure_nics.py) and the storage accounts' and Key Vaults'
public network access and firewalls (brickwall/audit_azure_data.py) are read and compared in modules of their own.

Least role: Reader on the environment's resource groups (Reader's actions are `*/read`,
https://learn.microsoft.com/azure/role-based-access-control/built-in-roles/general#reader); the reads need exactly
Microsoft.Network/networkSecurityGroups/read, Microsoft.Databricks/workspaces/read, Microsoft.Authorization/locks/read.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import stacks
from brickwall import audit_azure_data, audit_azure_nics
from brickwall.audit import HIGH, MEDIUM, Finding, Unreachable, Unreadable, _one_line, arm_error, network_reason
from brickwall.errors import UsageError
from components.planning import azure_types as az

T_NSG = az.NETWORK_SECURITY_GROUP.token
T_RULE = az.SECURITY_RULE.token
T_WORKSPACE = az.DATABRICKS_WORKSPACE.token
T_LOCK = az.MANAGEMENT_LOCK.token
INJECTED_PREFIX = "Microsoft.Databricks-workspaces_UseOnly_"
SUBSCRIPTION_CONFIG = "azure-native:subscriptionId"  # the provider's own config key (stacks/Pulumi.<stack>.yaml)
# The scope every Azure management SDK asks a token for (azure-mgmt-core get_arm_endpoints: AzureCloud).
ARM_SCOPE = "https://management.azure.com/.default"
READER = "Reader"
_RESOURCE = re.compile(r"^/subscriptions/[^/]+/resourceGroups/([^/]+)/providers/([^/]+)/(.+)/([^/]+)$", re.IGNORECASE)
_GROUP = re.compile(r"^/subscriptions/[^/]+/resourceGroups/([^/]+)$", re.IGNORECASE)
_SUB = re.compile(r"^/subscriptions/([0-9a-fA-F-]{36})/", re.IGNORECASE)


# --- what the plan expects --------------------------------------------------------------------------------------

Shape = tuple[str, int, str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _prefixes(one: Any, many: Any) -> tuple[str, ...]:
    return tuple(sorted({str(x) for x in ([one] if one else []) + list(many or [])}))


def _asgs(refs: Any) -> list[str]:
    """Application security groups by name (`asg:NAME`): the plan's ids hold the offline placeholder subscription."""
    return [f"asg:{str(r.get('id') or '').rstrip('/').rsplit('/', 1)[-1]}" for r in refs or [] if isinstance(r, Mapping)]


def shape(p: Mapping[str, Any]) -> Shape:
    """A rule's meaning from its ARM properties (camelCase, as the plan's inputs and the REST body name them):
    sources and destinations are address prefixes and application security groups (components/network.py
    security_rule: a row's destination may be ASGs instead of prefixes)."""
    return (str(p.get("direction") or ""), int(p.get("priority") or 0), str(p.get("access") or ""),
            str(p.get("protocol") or ""),
            _prefixes(p.get("sourceAddressPrefix"),
                      list(p.get("sourceAddressPrefixes") or []) + _asgs(p.get("sourceApplicationSecurityGroups"))),
            _prefixes(p.get("sourcePortRange"), p.get("sourcePortRanges")),
            _prefixes(p.get("destinationAddressPrefix"),
                      list(p.get("destinationAddressPrefixes") or [])
                      + _asgs(p.get("destinationApplicationSecurityGroups"))),
            _prefixes(p.get("destinationPortRange"), p.get("destinationPortRanges")))


def shape_text(s: Shape) -> str:
    direction, priority, access, protocol, src, sports, dst, dports = s
    return (f"{direction} {priority} {access} {protocol} from {','.join(src) or '(none)'} port {','.join(sports) or '*'} "
            f"to {','.join(dst) or '(none)'} port {','.join(dports) or '*'}")


@dataclass(frozen=True)
class AzureExpected:
    nsgs: dict[tuple[str, str], dict[str, Shape]]  # (resource group, NSG) -> rule name -> shape
    workspaces: dict[tuple[str, str], dict[str, str]]  # (resource group, workspace) -> property -> value
    locks: dict[str, dict[str, str]]  # scope (placeholder subscription) -> lock name -> level
    data: dict[audit_azure_data.Key, dict[str, str]] = field(default_factory=dict)  # storage accounts, Key Vaults
    nics: list[audit_azure_nics.NicExpected] = field(default_factory=list)  # cluster NICs against the matrix

    @property
    def resource_groups(self) -> list[str]:
        groups = {rg for rg, _ in self.nsgs} | {rg for rg, _ in self.workspaces}
        groups |= {rg for _, rg, _ in self.data} | {e.managed_rg for e in self.nics}
        groups |= {m.group(1) for s in self.locks if (m := re.search(r"/resourceGroups/([^/]+)", s, re.IGNORECASE))}
        return sorted(groups)


def expected_azure(plan: Mapping[str, Any], spec: Any = None) -> AzureExpected:
    """`spec` gives the reachability matrix the cluster NICs are compared with (default: the plan's stack's own spec,
    used only when its cluster subnets are the plan's)."""
    resources = plan.get("resources", [])
    nsgs: dict[tuple[str, str], dict[str, Shape]] = {}
    for r in resources:
        if r.get("type") == T_NSG:
            nsgs.setdefault((r["inputs"]["resourceGroupName"], r["inputs"]["networkSecurityGroupName"]), {})
    for r in resources:
        if r.get("type") == T_RULE:
            i = r["inputs"]
            nsgs.setdefault((i["resourceGroupName"], i["networkSecurityGroupName"]), {})[i["securityRuleName"]] = shape(i)
    workspaces: dict[tuple[str, str], dict[str, str]] = {}
    for r in resources:
        if r.get("type") == T_WORKSPACE:
            i = r["inputs"]
            want = {k: str(i[k]) for k in ("publicNetworkAccess", "requiredNsgRules") if i.get(k) is not None}
            no_public_ip = ((i.get("parameters") or {}).get("enableNoPublicIp") or {}).get("value")
            if no_public_ip is not None:
                want["enableNoPublicIp"] = str(bool(no_public_ip)).lower()
            workspaces[(i["resourceGroupName"], i["workspaceName"])] = want
    locks: dict[str, dict[str, str]] = {}
    for r in resources:
        if r.get("type") == T_LOCK:
            i = r["inputs"]
            locks.setdefault(i["scope"], {})[i["lockName"]] = str(i["level"])
    return AzureExpected(nsgs, workspaces, locks, audit_azure_data.expected_data(plan),
                         audit_azure_nics.expected_nics(plan, spec if spec is not None else _stack_spec(plan)))


def _stack_spec(plan: Mapping[str, Any]) -> Any:
    try:
        return stacks.load(str(plan.get("stack") or ""))
    except Exception:  # not a known stack (a --spec file's plan): no matrix, the NICs are not compared
        return None


def subscription_of(given: str | None, config: Mapping[str, str], plan: Mapping[str, Any],
                    placeholder: str) -> str | None:
    """--subscription, else the stack config's azure-native:subscriptionId, else the plan's ARM ids (unless they hold
    the offline engine's placeholder subscription)."""
    if given:
        return given
    if config.get(SUBSCRIPTION_CONFIG):
        return config[SUBSCRIPTION_CONFIG]
    for r in plan.get("resources", []):
        for value in (r.get("inputs") or {}).values():
            if isinstance(value, str) and (m := _SUB.match(value)) and m.group(1) != placeholder:
                return m.group(1)
    return None


# --- what Azure holds -------------------------------------------------------------------------------------------

@dataclass
class AzureLive:
    nsgs: dict[tuple[str, str], dict[str, Shape] | None] = field(default_factory=dict)  # None: no such NSG
    workspaces: dict[tuple[str, str], dict[str, str] | None] = field(default_factory=dict)
    locks: dict[str, dict[str, str] | None] = field(default_factory=dict)  # scope -> lock name -> level
    data: dict[audit_azure_data.Key, dict[str, str] | None] = field(default_factory=dict)
    nics: dict[str, audit_azure_nics.NicLive] = field(default_factory=dict)  # workspace -> its cluster NICs


@dataclass(frozen=True)
class AzureClients:
    network: Any
    databricks: Any
    locks: Any
    storage: Any = None
    keyvault: Any = None
    timeout: float = 60.0


def clients_for(credential: Any, subscription: str, endpoint: str | None, timeout: float) -> AzureClients:
    from azure.mgmt.databricks import AzureDatabricksManagementClient
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.resource.locks import ManagementLockClient

    try:
        from azure.mgmt.keyvault import KeyVaultManagementClient
        from azure.mgmt.storage import StorageManagementClient
    except ModuleNotFoundError:  # requirements.txt pins them since the storage and Key Vault firewalls are audited
        raise UsageError("the audit reads the storage and Key Vault firewalls with Microsoft's SDKs: pip install -r "
                         "requirements.txt (azure-mgmt-storage, azure-mgmt-keyvault), or --skip-azure") from None

    # TLS is verified by requests (azure-core RequestsTransport: session.trust_env, so REQUESTS_CA_BUNDLE is honoured
    # as for the Databricks part); a few retries only, so that a host that does not answer is said quickly.
    kwargs: dict[str, Any] = {"retry_total": 2, "connection_timeout": timeout, "read_timeout": timeout}
    if endpoint:
        kwargs["base_url"] = endpoint.rstrip("/")
    return AzureClients(NetworkManagementClient(credential, subscription, **kwargs),
                        AzureDatabricksManagementClient(credential, subscription, **kwargs),
                        ManagementLockClient(credential, subscription, **kwargs),
                        StorageManagementClient(credential, subscription, **kwargs),
                        KeyVaultManagementClient(credential, subscription, **kwargs), timeout)


def default_credential() -> Any:
    """DefaultAzureCredential (environment, workload identity, managed identity, Azure CLI, ...); a token is asked for
    up front so that no credential at all is a usage error, not one unreadable line per resource."""
    from azure.core.exceptions import ClientAuthenticationError
    from azure.identity import DefaultAzureCredential

    # azure-identity logs every credential of the chain it tried as a warning: the one-line usage error says it.
    logging.getLogger("azure.identity").setLevel(logging.CRITICAL)
    credential = DefaultAzureCredential()
    try:
        credential.get_token(ARM_SCOPE)
    except ClientAuthenticationError as exc:
        raise UsageError("no Azure credential: sign in (az login), or set AZURE_CLIENT_ID/AZURE_TENANT_ID with "
                         "AZURE_CLIENT_SECRET or a federated token; --skip-azure audits Databricks only "
                         f"({_one_line(str(exc).splitlines()[0] if str(exc) else exc)})") from None
    return credential


def _scope(scope: str, subscription: str, placeholder: str) -> str:
    return scope.replace(f"/subscriptions/{placeholder}/", f"/subscriptions/{subscription}/", 1)


def _rg_of(text: str) -> str:
    m = re.search(r"/resourceGroups/([^/]+)", text, re.IGNORECASE)
    return m.group(1) if m else text


def _value(x: Any) -> Any:
    return getattr(x, "value", x)  # an SDK enum member (str-valued) or a plain string


def _props(rule: Any) -> dict[str, Any]:
    p = rule.properties
    if p is None:
        return {}
    v = _value
    return {"direction": v(p.direction), "priority": p.priority, "access": v(p.access), "protocol": v(p.protocol),
            "sourceAddressPrefix": p.source_address_prefix, "sourceAddressPrefixes": p.source_address_prefixes,
            "sourcePortRange": p.source_port_range, "sourcePortRanges": p.source_port_ranges,
            "destinationAddressPrefix": p.destination_address_prefix,
            "destinationAddressPrefixes": p.destination_address_prefixes,
            "destinationPortRange": p.destination_port_range, "destinationPortRanges": p.destination_port_ranges,
            "sourceApplicationSecurityGroups": [{"id": a.id} for a in p.source_application_security_groups or []],
            "destinationApplicationSecurityGroups": [{"id": a.id} for a in p.destination_application_security_groups or []]}


def read_azure(clients: AzureClients, exp: AzureExpected, subscription: str, placeholder: str,
               progress: Callable[[str], None] = lambda _: None) -> AzureLive:
    """Each planned NSG, workspace and lock scope once, in parallel. Raises Unreachable or Unreadable."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        DecodeError,
        DeserializationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    def nsg(rg: str, name: str) -> dict[str, Shape] | None:
        found = clients.network.network_security_groups.get(rg, name)
        rules = (found.properties.security_rules if found.properties else None) or []
        return {r.name: shape(_props(r)) for r in rules}

    def workspace(rg: str, name: str) -> dict[str, str] | None:
        p = clients.databricks.workspaces.get(rg, name).properties
        have: dict[str, str] = {}
        for key, value in (("publicNetworkAccess", p.public_network_access), ("requiredNsgRules", p.required_nsg_rules)):
            if value is not None:
                have[key] = str(getattr(value, "value", value))
        param = p.parameters.enable_no_public_ip if p.parameters else None
        if param is not None and param.value is not None:
            have["enableNoPublicIp"] = str(bool(param.value)).lower()
        return have

    def locks(scope: str) -> dict[str, str] | None:
        found: dict[str, str] = {}
        ops = clients.locks.management_locks
        # list_by_scope's URL template "/{scope}/..." quotes the scope's slashes (azure-mgmt-resource-locks 1.0.0
        # operations/_operations.py: _SERIALIZER.url("scope", ...) without skip_quote): a resource's locks are read
        # with list_at_resource_level (its parent path empty for a top-level resource, so the URL holds
        # "{namespace}//{type}": not yet verified against live ARM), a resource group's with
        # list_at_resource_group_level.
        if m := _RESOURCE.match(scope):
            rg, namespace, path, name = m.groups()
            parent, _, type_ = path.rpartition("/")
            listed = ops.list_at_resource_level(rg, namespace, parent, type_, name)
        elif m := _GROUP.match(scope):
            listed = ops.list_at_resource_group_level(m.group(1))
        else:
            listed = ops.list_by_scope(scope)
        for lock in listed:
            # list_by_scope also answers the locks a scope inherits from above it: only this scope's own count.
            if (lock.id or "").lower().startswith(scope.lower() + "/providers/microsoft.authorization/locks/"):
                found[lock.name] = str(getattr(lock.level, "value", lock.level))
        return found

    reads: dict[str, tuple[str, Callable[[], Any]]] = {}
    for rg, name in exp.nsgs:
        reads[f"NSG {name}"] = (rg, functools.partial(nsg, rg, name))
    for rg, name in exp.workspaces:
        reads[f"workspace {name}"] = (rg, functools.partial(workspace, rg, name))
    for scope in exp.locks:
        live_scope = _scope(scope, subscription, placeholder)
        reads[f"locks on {live_scope.rsplit('/', 1)[-1]}"] = (_rg_of(scope), functools.partial(locks, live_scope))
    live = AzureLive()

    def live_data_set(key: audit_azure_data.Key, result: Any) -> None:
        live.data[key] = result

    def live_nics_set(workspace: str, result: Any) -> None:
        if result is not None:  # None: the managed resource group is gone (the workspace finding says it)
            live.nics[workspace] = result

    # The storage accounts and Key Vaults, and each VNet-injected workspace's cluster NICs (kinds "storage", "vault",
    # "NICs"): stored by `later`.
    later: dict[str, Callable[[Any], None]] = {}
    for name, (rg, fn, key) in audit_azure_data.reads(clients, exp.data).items():
        reads[name] = (rg, fn)
        later[name] = functools.partial(live_data_set, key)
    for name, (rg, fn, e) in audit_azure_nics.reads(clients, exp.nics, clients.timeout).items():
        reads[name] = (rg, fn)
        later[name] = functools.partial(live_nics_set, e.workspace)
    grant = {"NSG": "Microsoft.Network/networkSecurityGroups/read", "workspace": "Microsoft.Databricks/workspaces/read",
             "locks": "Microsoft.Authorization/locks/read", "NICs": audit_azure_nics.LIST_GRANT,
             **audit_azure_data.GRANT}
    problems: list[str] = []
    unreachable: str | None = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        futures = {pool.submit(fn): (name, rg) for name, (rg, fn) in reads.items()}
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            name, rg = futures[future]
            if future.cancelled():
                continue
            progress(f"brickwall audit: Azure read {done}/{len(reads)} ({name})")
            kind = name.split(" ")[0]
            try:
                result = future.result()
            except ResourceNotFoundError:
                result = None  # the resource (or the lock's scope) is gone: a finding, not a failed read
            except audit_azure_nics.ReadProblem as exc:
                problems.append(f"{name}: {exc}")
                continue
            except ClientAuthenticationError as exc:
                problems.append(f"{name}: not authenticated ({arm_error(exc)}): check the Azure credential")
                continue
            except ServiceRequestError as exc:
                unreachable = network_reason(exc)
                for pending in futures:
                    pending.cancel()
                continue
            except HttpResponseError as exc:
                if exc.status_code == 403:
                    problems.append(f"{name}: permission denied ({arm_error(exc)}): grant {READER} on resource group "
                                    f"{rg} (it holds {grant[kind]})")
                else:
                    problems.append(f"{name}: the API refused ({exc.status_code}: {arm_error(exc)})")
                continue
            except (DecodeError, DeserializationError, KeyError, TypeError, AttributeError, ValueError) as exc:
                problems.append(f"{name}: the answer is not the API's shape ({type(exc).__name__}: {_one_line(exc)})")
                continue
            if name in later:
                later[name](result)
            elif kind == "NSG":
                live.nsgs[next(k for k in exp.nsgs if f"NSG {k[1]}" == name)] = result
            elif kind == "workspace":
                live.workspaces[next(k for k in exp.workspaces if f"workspace {k[1]}" == name)] = result
            else:
                scope = next(s for s in exp.locks if f"locks on {s.rsplit('/', 1)[-1]}" == name)
                live.locks[scope] = result
    if unreachable:
        raise Unreachable(unreachable)
    if problems:
        raise Unreadable(sorted(problems))
    return live


# --- the comparison ---------------------------------------------------------------------------------------------

def compare_azure(exp: AzureExpected, live: AzureLive) -> list[Finding]:
    out: list[Finding] = []
    for (rg, name), planned in sorted(exp.nsgs.items()):
        rules = live.nsgs.get((rg, name))
        if rules is None:
            out.append(Finding("nsg-missing", HIGH, f"NSG {name} ({rg})", f"{len(planned)} planned rules", "no such NSG"))
            continue
        for rule, want in sorted(planned.items()):
            have = rules.get(rule)
            if have is None:
                out.append(Finding("nsg-rule-missing", HIGH, f"NSG {name} rule {rule}", shape_text(want),
                                   "no rule of that name"))
            elif have != want:
                out.append(Finding("nsg-rule-changed", HIGH, f"NSG {name} rule {rule}", shape_text(want),
                                   shape_text(have)))
        for rule, have in sorted(rules.items()):
            if rule in planned or rule.startswith(INJECTED_PREFIX):
                continue
            opens = have[0] == "Inbound" and have[2] == "Allow"
            out.append(Finding("nsg-rule-undeclared", HIGH if opens else MEDIUM, f"NSG {name} rule {rule}",
                               "only the planned rules (the rule table)", shape_text(have)))
    for (rg, name), want_ws in sorted(exp.workspaces.items()):
        have_ws = live.workspaces.get((rg, name))
        if have_ws is None:
            out.append(Finding("workspace-missing", HIGH, f"workspace {name} ({rg})", "the planned workspace",
                               "no such workspace"))
            continue
        for key, value in sorted(want_ws.items()):
            have_value = have_ws.get(key)
            if have_value is None or have_value.lower() != value.lower():
                out.append(Finding("workspace-drifted", HIGH, f"workspace {name} {key}", value, have_value or "not set"))
    for scope, planned_locks in sorted(exp.locks.items()):
        held = live.locks.get(scope)
        target = scope.split("/providers/", 1)[-1] if "/providers/" in scope else scope
        for lock, level in sorted(planned_locks.items()):
            obj = f"lock {lock} on {target}"
            if held is None:
                out.append(Finding("lock-missing", HIGH, obj, level, "the locked resource does not exist"))
            elif lock not in held:
                out.append(Finding("lock-missing", HIGH, obj, level, "no lock of that name"))
            elif held[lock].lower() != level.lower():
                out.append(Finding("lock-changed", MEDIUM, obj, level, held[lock]))
    out += audit_azure_data.compare_data(exp.data, live.data)
    for e in exp.nics:
        if e.workspace in live.nics:
            out += audit_azure_nics.compare_nics(e, live.nics[e.workspace])
    return out


def counts_of(live: AzureLive) -> dict[str, int]:
    return {"nsg_rules": sum(len(r or {}) for r in live.nsgs.values()),
            "azure_workspaces": sum(1 for w in live.workspaces.values() if w is not None),
            "locks": sum(len(x or {}) for x in live.locks.values()),
            "storage_accounts": sum(1 for k, v in live.data.items() if k[0] == audit_azure_data.STORAGE and v is not None),
            "key_vaults": sum(1 for k, v in live.data.items() if k[0] == audit_azure_data.VAULT and v is not None),
            "cluster_nics": sum(n.listed for n in live.nics.values()),
            "effective_rule_sets": sum(len(n.checked) for n in live.nics.values())}


def usage_problems(subscription: str | None) -> Sequence[str]:
    return [] if subscription else [
        f"no Azure subscription: give --subscription ID or set {SUBSCRIPTION_CONFIG} in the stack config "
        "(--skip-azure audits Databricks only)"]
