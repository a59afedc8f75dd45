"""Run a real Pulumi program in-process under the mock runtime and record every resource registration.

There is no Pulumi CLI or provider plugin here, so "previewing" a stack means running its program against
`pulumi.runtime.set_mocks` with a monitor that keeps every `RegisterResourceRequest` as the engine would have
received it (wire names, secrets, options). Policies, snapshots and tests all work from that `Recording`.

Value conventions in `Registration.inputs` and `Recording.stack_outputs` (wire form, via protobuf JSON):
- numbers are floats, exactly as the SDK sends them (`priority: 100.0`);
- secret values are wrapped in `Secret`, whose repr never shows the value;
- unknown values (only possible when an output was never resolved) become `UNKNOWN`;
- resource references become `ResourceRef(urn, id)`;
- assets and archives stay as their raw signature dicts;
- inputs set to None are absent (the SDK drops them).

Registration conventions: URNs leave the root stack out of type chains, as the real engine does; top-level
resources have the root stack's URN as `parent`; `provider` is "" unless an explicit provider applies (default
providers are chosen by the engine); `dependencies` are sorted and de-duplicated; the order is the order the
monitor received the registrations, which is causal and the same on every run.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import inspect
import ipaddress
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, ParamSpec, TypeVar, cast

import pulumi
import pulumi.runtime
from google.protobuf.json_format import MessageToDict
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import Stack, massage
from pulumi.runtime.sync_await import _ensure_event_loop

from components.planning import azure_types as az
from components.planning.azure_types import entry_of

SECRET_PLACEHOLDER = "[secret]"
SUBSCRIPTION_ID: Final = "00000000-0000-0000-0000-000000000000"
TENANT_ID: Final = "00000000-0000-0000-0000-000000000000"

# Wire-protocol markers (pulumi/runtime/rpc.py); stable across SDK versions because the engine depends on them.
_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"
_SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"
_RESOURCE_SIG: Final = "5cf8f73096256a8f31e491e813e4eb8e"
_OUTPUT_VALUE_SIG: Final = "d0e6a833031e9bbcd3f4e8bde6ca49a4"
_UNKNOWN_WIRE: Final = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_STACK_TYPE: Final = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class Secret:
    """A secret input or output value; the repr hides it so logs and assertion messages cannot leak it."""

    value: Any

    def __repr__(self) -> str:
        return f"Secret({SECRET_PLACEHOLDER})"


@dataclass(frozen=True)
class Unknown:
    """A value the engine would only learn at apply time (the wire's unknown sentinel)."""

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"  # a copy or an unpickled recording keeps the one sentinel (`value is UNKNOWN` holds)


UNKNOWN: Final = Unknown()


@dataclass(frozen=True)
class ResourceRef:
    """A resource passed as an input value; `id` is "" for components or when the id is unknown."""

    urn: str
    id: str = ""


_NO_DEFAULT: Final = object()


@dataclass(frozen=True)
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    remote: bool
    provider: str
    protect: bool
    retain_on_delete: bool
    deleted_with: str
    ignore_changes: tuple[str, ...]
    dependencies: tuple[str, ...]
    inputs: dict[str, Any]

    def input(self, path: str, default: Any = _NO_DEFAULT) -> Any:
        """Dotted lookup ("parameters.enableNoPublicIp.value", "securityRules.0.name").

        Intermediate secrets are looked through; a secret at the end of the path is returned as `Secret`.
        """
        node: Any = self.inputs
        for part in path.split("."):
            if isinstance(node, Secret):
                node = node.value
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif default is _NO_DEFAULT:
                raise KeyError(f"{self.type} {self.name!r} has no input {path!r}")
            else:
                return default
        return node


@dataclass
class Recording:
    project: str
    stack: str
    registrations: list[Registration]
    stack_outputs: dict[str, Any] = field(default_factory=dict)
    # What the program logged through pulumi.log (level name, message), in order.
    diagnostics: list[tuple[str, str]] = field(default_factory=list)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Registration:
        """The single registration of `type_` (named `name`, if given); LookupError otherwise."""
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            what = type_ if name is None else f"{type_} named {name!r}"
            urns = "".join(f"\n  {r.urn}" for r in found)
            raise LookupError(f"expected exactly one {what}, found {len(found)}{urns}")
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        for registration in self.registrations:
            if registration.urn == urn:
                return registration
        raise KeyError(f"no registration with URN {urn!r}")

    def children_of(self, urn: str) -> list[Registration]:
        return [r for r in self.registrations if r.parent == urn]


class DuplicateUrnError(Exception):
    """Two resources share a URN; the real engine rejects this, the mock runtime silently accepts it."""

    def __init__(self, urns: Iterable[str]) -> None:
        self.urns = tuple(urns)
        super().__init__("duplicate resource URNs:" + "".join(f"\n  {u}" for u in self.urns))


class ProgramError(Exception):
    """The program (or an apply or mock it triggered) raised; the original is `.original` and `__cause__`.

    `.registrations` holds what reached the monitor before the failure, best effort: registrations still in
    flight when the program raised are dropped ([] when the program raises before creating anything).
    """

    def __init__(self, original: Exception, registrations: Iterable[Registration] = ()) -> None:
        self.original = original
        self.registrations = list(registrations)
        # RunError is Pulumi's "user-facing message, no traceback" error, so keep its text verbatim.
        message = str(original) if isinstance(original, pulumi.RunError) else f"{type(original).__name__}: {original}"
        super().__init__(message)


# --- default mocks -------------------------------------------------------------------------------------------

def stable_guid(*parts: str) -> str:
    """A GUID derived from sha256 of `parts`: stable across processes (unlike hash())."""
    return str(uuid.UUID(bytes=hashlib.sha256("\0".join(parts).encode()).digest()[:16]))


def workspace_id_for(arm_id: str) -> str:
    """Deterministic 16-digit Databricks workspace id (no leading zero), from sha256 of the ARM id."""
    return str(10**15 + int(hashlib.sha256(arm_id.encode()).hexdigest(), 16) % (9 * 10**15))


def _ncc_rule_outputs(name: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """What the account API answers for a new private endpoint rule: its id, the Azure private endpoint's name (shaped
    like the provider docs' example "databricks-088781b3-...-pe-3cb31234") and PENDING until the storage owner approves
    (terraform-provider-databricks docs/resources/mws_ncc_private_endpoint_rule.md, attribute reference)."""
    rule_id = stable_guid(name, "rule")
    return {"ruleId": rule_id, "endpointName": f"databricks-{stable_guid(name, 'ncc-endpoint')}-pe-{rule_id[:8]}",
            "connectionState": "PENDING"}


# Outputs the Databricks account API computes for account-level resources programs consume.
_ACCOUNT_COMPUTED: dict[str, Callable[[str, Mapping[str, Any]], dict[str, Any]]] = {
    "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig": lambda name, inputs: {
        "networkConnectivityConfigId": stable_guid(name, "ncc")},
    "databricks:index/mwsNccPrivateEndpointRule:MwsNccPrivateEndpointRule": _ncc_rule_outputs,
}


class BrickwallMocks(pulumi.runtime.Mocks):
    """Deterministic mocks: realistic ARM ids for the topology's azure-native types, `mock-{name}` otherwise.

    With `preview`, outputs only Azure computes (workspace URL and id, a firewall's private IP) stay unknown, as in a
    first preview.
    """

    def __init__(self, preview: bool = False, directory: Mapping[str, str] | None = None) -> None:
        self.preview = preview
        # The Entra ID tenant the account resolves groups in: object id -> display name (lowercase ids).
        self.directory = {oid.lower(): name for oid, name in (directory or {}).items()}
        # Subnet ARM id -> address prefix, for outputs Azure derives from a subnet (a firewall's private IP).
        self._subnet_prefixes: dict[str, str] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        inputs = args.inputs
        if args.typ == "pulumi:pulumi:StackReference":
            return args.name, {"name": args.name, "outputs": {}, "secretOutputNames": []}
        entry = entry_of(args.typ)
        if entry is None and args.typ in _ACCOUNT_COMPUTED and not self.preview:  # unknown until created
            return args.resource_id or f"mock-{args.name}", {**inputs, **_ACCOUNT_COMPUTED[args.typ](args.name, inputs)}
        if entry is None:
            # Everything else, providers (`pulumi:providers:*`) included: state = inputs, a stable id.
            return args.resource_id or f"mock-{args.name}", dict(inputs)
        # An azure-native type of the catalog: its ARM id over the inputs. The own name falls back to the logical name
        # (the real provider would auto-name with a random suffix; mocks stay stable).
        name_key = entry.own_name_input
        own_name = (inputs.get(name_key) if name_key else None) or args.name
        values = {k: v for k, v in inputs.items() if isinstance(v, str)}
        values.update(subscriptionId=SUBSCRIPTION_ID, **({name_key: own_name} if name_key else {}))
        try:
            arm_id = entry.id_template.format_map(values)
        except KeyError:  # a path segment was not a known string; stay deterministic rather than realistic
            arm_id = f"mock-{args.name}"
        if args.typ == az.SUBNET.token and isinstance(inputs.get("addressPrefix"), str):
            self._subnet_prefixes[arm_id.lower()] = inputs["addressPrefix"]
        state = {**inputs, "name": own_name, **self._computed(args.typ, arm_id, inputs)}
        if args.typ == az.AZURE_FIREWALL.token and self.preview:
            # Azure assigns the private IP: in a first preview the IP configurations are not known yet.
            state.pop("ipConfigurations", None)
        if args.typ == az.MANAGED_CLUSTER.token and self.preview:
            # The OIDC issuer URL is Azure's to assign: unknown in a first preview (so are the federated credentials').
            state.pop("oidcIssuerProfile", None)
        identity = state.get("identity")
        if isinstance(identity, dict) and isinstance(identity.get("userAssignedIdentities"), list):
            # Inputs list user-assigned identity ids; Azure answers with a map keyed by those ids.
            state["identity"] = {**identity, "userAssignedIdentities": {i: {} for i in identity["userAssignedIdentities"]}}
        return args.resource_id or arm_id, state

    def _computed(self, typ: str, arm_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Outputs Azure computes that programs consume (workspace URL/id and identities, connector identity, vault
        and key URIs)."""
        if typ == az.DATABRICKS_WORKSPACE.token and not self.preview:
            workspace_id = workspace_id_for(arm_id)
            shard = 1 + int(workspace_id) % 9
            return {"workspaceId": workspace_id, "workspaceUrl": f"adb-{workspace_id}.{shard}.azuredatabricks.net",
                    **self._workspace_identities(arm_id, inputs)}
        if typ == az.KEY_VAULT.token:
            properties = inputs.get("properties")
            properties = properties if isinstance(properties, dict) else {}
            return {"properties": {**properties, "vaultUri": f"https://{inputs.get('vaultName')}.vault.azure.net/"}}
        if typ == az.KEY_VAULT_KEY.token:
            key_uri = f"https://{inputs.get('vaultName')}.vault.azure.net/keys/{inputs.get('keyName')}"
            return {"keyUri": key_uri, "keyUriWithVersion": f"{key_uri}/{uuid.UUID(stable_guid(arm_id, 'version')).hex}"}
        if typ == az.LOG_ANALYTICS_WORKSPACE.token:
            # The workspace id (a GUID) agents and flow logs' traffic analytics address it by.
            return {"customerId": stable_guid(arm_id, "customer")}
        if typ == az.AZURE_FIREWALL.token and not self.preview:
            return {"ipConfigurations": [self._firewall_ip_configuration(c) for c in inputs.get("ipConfigurations") or []]}
        if typ == az.USER_ASSIGNED_IDENTITY.token:
            return {"principalId": stable_guid(arm_id, "principal"), "clientId": stable_guid(arm_id, "client"), "tenantId": TENANT_ID}
        if typ == az.MANAGED_CLUSTER.token and not self.preview:
            # The system-assigned cluster identity, and the OIDC issuer AKS publishes per cluster
            # (https://<region>.oic.prod-aks.azure.com/<tenant>/<guid>/, learn.microsoft.com/azure/aks/use-oidc-issuer).
            computed: dict[str, Any] = {}
            identity = inputs.get("identity")
            if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type", "")):
                computed["identity"] = {**identity, "principalId": stable_guid(arm_id, "principal"), "tenantId": TENANT_ID}
            profile = inputs.get("oidcIssuerProfile")
            if isinstance(profile, dict) and profile.get("enabled"):
                computed["oidcIssuerProfile"] = {
                    **profile, "issuerURL": f"https://{inputs.get('location')}.oic.prod-aks.azure.com/{TENANT_ID}/"
                                            f"{stable_guid(arm_id, 'oidc')}/"}
            return computed
        if typ == az.ACCESS_CONNECTOR.token:
            identity = inputs.get("identity")
            if isinstance(identity, dict) and "SystemAssigned" in str(identity.get("type", "")):
                return {
                    "identity": {**identity, "principalId": stable_guid(arm_id, "principal"), "tenantId": TENANT_ID}
                }
        return {}

    def _firewall_ip_configuration(self, config: Any) -> Any:
        """Azure gives the firewall the first address it can hand out in AzureFirewallSubnet: Azure reserves the
        first four of every subnet (https://learn.microsoft.com/azure/virtual-network/virtual-networks-faq, "Are
        there any restrictions on using IP addresses within these subnets?"), so the fifth (.4 of a /26)."""
        if not isinstance(config, dict):
            return config
        subnet = config.get("subnet")
        prefix = self._subnet_prefixes.get(str(subnet.get("id", "")).lower()) if isinstance(subnet, dict) else None
        if prefix is None:
            return config
        return {**config, "privateIPAddress": str(ipaddress.IPv4Network(prefix).network_address + 4)}

    def _workspace_identities(self, arm_id: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The identities Azure gives a workspace: its storage account's once encryption is prepared, its disk
        encryption set's once managed disks use a customer-managed key."""
        computed: dict[str, Any] = {}
        parameters = inputs.get("parameters")
        prepared = isinstance(parameters, dict) and (parameters.get("prepareEncryption") or {}).get("value") is True
        if prepared:
            computed["storageAccountIdentity"] = {
                "principalId": stable_guid(arm_id, "storage"), "tenantId": TENANT_ID, "type": "SystemAssigned"}
        encryption = inputs.get("encryption")
        if isinstance(encryption, dict) and (encryption.get("entities") or {}).get("managedDisk"):
            computed["managedDiskIdentity"] = {
                "principalId": stable_guid(arm_id, "disk"), "tenantId": TENANT_ID, "type": "SystemAssigned"}
        return computed

    def call(self, args: MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "azure-native:authorization:getClientConfig":
            zero = SUBSCRIPTION_ID
            return {"subscriptionId": zero, "tenantId": TENANT_ID, "clientId": zero, "objectId": zero}, []
        if args.token == "azure-native:containerservice:listManagedClusterUserCredentials":
            return {"kubeconfigs": [{"name": "clusterUser", "value": base64.b64encode(
                aks_user_kubeconfig(str(args.args.get("resourceName"))).encode()).decode()}]}, []
        if args.token == "databricks:index/getGroup:getGroup":
            name = str(args.args.get("displayName", ""))
            by_name = {n: oid for oid, n in self.directory.items()}
            if name in by_name:
                # An Entra group the SCIM connector provisioned into the account: its externalId is the object id.
                oid = by_name[name]
                return {"id": account_group_id(oid), "displayName": name, "externalId": oid,
                        "aclPrincipalId": f"groups/{name}"}, []
            # Built-in workspace groups ("users", "admins") exist in every workspace.
            return {"id": f"mock-group-{name}", "displayName": name}, []
        if args.token == "databricks:index/getAccountIamExternalGroupV2:getAccountIamExternalGroupV2":
            # accounts/{account_id}/external-groups/{Entra object id}: AIM resolves the group in Entra ID.
            resource = str(args.args.get("name", ""))
            parts = resource.split("/")
            oid = parts[3].lower() if len(parts) == 4 and parts[0] == "accounts" and parts[2] == "external-groups" else ""
            if oid not in self.directory:
                return {}, [("name", f"{resource!r}: no such group in the Entra ID tenant")]
            return {"accountId": parts[1], "displayName": self.directory[oid], "externalGroupId": oid,
                    "internalId": account_group_id(oid), "name": resource}, []
        # An empty failure list, not None: MockMonitor iterates the second element of a tuple.
        return {}, []


def account_group_id(object_id: str) -> str:
    """A stable account group id for an Entra group (Databricks ids are decimal numbers, e.g. "123456789")."""
    return str(uuid.UUID(stable_guid(object_id.lower(), "account-group")).int % 10**16)


def aks_user_kubeconfig(cluster: str) -> str:
    """What AKS answers for an Entra ID cluster's user credentials in `exec` format: a kubelogin exec user signing in
    with the device code flow against the AKS Entra server application (6dae42f8-..., the "Azure Kubernetes Service
    AAD Server"; client 80faf920-..., the Azure CLI's AKS client), as `az aks get-credentials` writes it
    (https://learn.microsoft.com/azure/aks/kubelogin-authentication)."""
    user = f"clusterUser_{cluster}"
    return (
        "apiVersion: v1\nkind: Config\n"
        f"clusters:\n- name: {cluster}\n  cluster:\n    server: https://{cluster}.privatelink.westeurope.azmk8s.io:443\n"
        f"contexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: {user}\ncurrent-context: {cluster}\n"
        f"users:\n- name: {user}\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
        "      command: kubelogin\n      args: [get-token, --environment, AzurePublicCloud, --server-id,\n"
        "             6dae42f8-4368-4678-94ff-3960e28e3630, --client-id, 80faf920-1908-4b52-b5ef-a8e7bedfc67a,\n"
        f"             --tenant-id, {TENANT_ID}, --login, devicecode]\n"
        "      provideClusterInfo: false\n"
    )


# --- recording -----------------------------------------------------------------------------------------------


class _RecordingMonitor(MockMonitor):
    """MockMonitor that keeps each RegisterResourceRequest (converted after the run, to keep RPCs cheap)."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.requests: list[tuple[str, Any]] = []
        self.stack_urn = ""
        self.stack_outputs: Any = None

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The real engine leaves the root stack out of type chains (pulumi/pulumi#647); MockMonitor keeps it
        # (pulumi/pulumi#8637), which would give every top-level URN a "pulumi:pulumi:Stack$" prefix.
        if parent and parent.split("::")[2] == _STACK_TYPE:
            parent = ""
        return super().make_urn(parent, type_, name)

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == _STACK_TYPE:
            self.stack_urn = response.urn
        else:
            self.requests.append((response.urn, request))
        return response

    # Resource references are turned off: MockMonitor would rehydrate a referenced resource on its worker
    # thread, whose registration then queues behind that same thread and never returns. Without the
    # feature the SDK sends a custom resource as its id (a component as its URN), as older engines did.
    def SupportsFeature(self, request: Any) -> Any:
        if request.id == "resourceReferences":
            return type("SupportsFeatureResponse", (object,), {"hasSupport": False})
        return super().SupportsFeature(request)

    def GetDeploymentInfo(self, request: Any) -> Any:
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_RESOURCE_REFERENCES]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.stack_outputs = request.outputs
        return super().RegisterResourceOutputs(request)


_P = ParamSpec("_P")
_T = TypeVar("_T")


class _SerialExecutor(concurrent.futures.ThreadPoolExecutor):
    """Runs each monitor RPC on one worker thread and waits for it before returning.

    The SDK sends RPCs through the loop's default executor; with a pool, thread timing decides which
    registration reaches the monitor first, so two identical runs could record different orders. Waiting makes
    the whole run single-threaded in effect, hence deterministic. The call still runs off the loop thread
    because MockMonitor methods use `_sync_await`, which would re-enter the running loop.
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix="brickwall-monitor")

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> concurrent.futures.Future[_T]:
        future = super().submit(fn, *args, **kwargs)
        concurrent.futures.wait([future])
        return future


_EXECUTOR = _SerialExecutor()


def _plain(value: Any) -> Any:
    """Turn MessageToDict output into plain values: unwrap wire signatures into Secret/UNKNOWN/ResourceRef."""
    if isinstance(value, dict):
        sig = value.get(_SIG_KEY)
        if sig == _SECRET_SIG:
            return Secret(_plain(value.get("value")))
        if sig == _RESOURCE_SIG:
            ref_id = value.get("id", "")
            return ResourceRef(urn=value.get("urn", ""), id="" if ref_id == _UNKNOWN_WIRE else ref_id)
        if sig == _OUTPUT_VALUE_SIG:  # only if a monitor enables outputValues; MockMonitor does not
            inner = _plain(value["value"]) if "value" in value else UNKNOWN
            return Secret(inner) if value.get("secret") else inner
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value == _UNKNOWN_WIRE:
        return UNKNOWN
    return value


def _registration(urn: str, request: Any) -> Registration:
    return Registration(
        urn=urn,
        type=request.type,
        name=request.name,
        parent=request.parent,
        custom=request.custom,
        remote=request.remote,
        provider=request.provider,
        protect=request.protect,
        retain_on_delete=request.retainOnDelete,
        deleted_with=request.deletedWith,
        ignore_changes=tuple(request.ignoreChanges),
        # The SDK builds this from a set, whose order varies between processes; sort for stable snapshots.
        dependencies=tuple(sorted(set(request.dependencies))),
        inputs=_plain(MessageToDict(request.object)),
    )


class _Diagnostics(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelname.lower(), record.getMessage()))


def _quiet_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler: a failed apply leaves the SDK's output futures holding copies of its error, which
    asyncio reports as "Future exception was never retrieved" (a traceback on stderr) when they are collected. The run
    already raised that error as a ProgramError, so those reports are dropped; anything else goes to the default."""
    if str(context.get("message", "")).endswith("exception was never retrieved"):
        return
    loop.default_exception_handler(context)


def _drain(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel tasks a failed run left behind, so they cannot reach the next run's monitor."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))


def record(
    program: Callable[[], object],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: Iterable[str] = (),
    mocks: pulumi.runtime.Mocks | None = None,
    preview: bool = False,
) -> Recording:
    """Run `program` under mocks as `project`/`stack` and return everything it registered.

    `config` keys are fully qualified ("brickwall:specFile") with string (JSON for objects) values. Each call
    starts from fresh runtime settings, root stack and config, so calls in one process are independent.
    If `program` returns an awaitable it is awaited (like `pulumi.run`). The thread's event loop gets a serial
    default executor (see `_SerialExecutor`), and tasks a failed run leaves on that loop are cancelled.
    """
    monitor = _RecordingMonitor(mocks if mocks is not None else BrickwallMocks(preview=preview))
    # pulumi.log goes to this run's own logger, not the root logger (which would print it mid-output).
    collected = _Diagnostics()
    logger = logging.getLogger("brickwall.engine.program")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.handlers = [collected]
    loop = _ensure_event_loop()
    loop.set_default_executor(_EXECUTOR)
    loop.set_exception_handler(_quiet_unretrieved)
    # reset_options drops the previous root Stack (set_mocks only creates one if none exists, and a stale one
    # would carry the last run's stack name) and gives a fresh RPC manager and outputs set.
    pulumi_settings.reset_options(project=project, stack=stack, organization="organization")
    pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys))
    try:
        pulumi.runtime.set_mocks(
            monitor.mocks, project=project, stack=stack, preview=preview, monitor=monitor, organization="organization",
            logger=logger,
        )
        root = cast(Stack, pulumi_settings.get_root_resource())
        # set_mocks registers the root stack and its (empty) outputs right away; settle that first so the
        # program's exports, registered below, are the last word.
        pulumi.runtime.test(lambda: root.urn)()
        monitor.stack_outputs = None

        def send_exports() -> None:
            # set_mocks' root stack has already sent its outputs; send the exports as the real entrypoint would.
            root.register_outputs(massage(root.outputs, []))

        def main() -> Coroutine[Any, Any, None]:
            # The program runs synchronously, as the real entrypoint runs it (pulumi/runtime/stack.py: `Stack.__init__`
            # calls the program, then registers the outputs), not as a task on the loop: run as a task, the SDK's
            # final `wait_for_rpcs` waits on thousands of outstanding output tasks with `asyncio.wait(FIRST_COMPLETED)`
            # once per completion, which is quadratic (a third of a render's time).
            result = program()

            async def finish() -> None:
                if inspect.isawaitable(result):
                    await result
                # An export whose apply fails raises that error here, as the program's own, rather than wrapped in the
                # SDK's "While processing input" once the exports are serialised.
                await pulumi.Output.from_input(root.outputs).future(with_unknowns=True)
                send_exports()

            return finish()

        pulumi.runtime.test(main)()
    except Exception as exc:
        _drain(loop)
        raise ProgramError(exc, [_registration(urn, request) for urn, request in monitor.requests]) from exc
    finally:
        pulumi.runtime.set_all_config({}, [])
        pulumi_settings.reset_options()

    registrations = [_registration(urn, request) for urn, request in monitor.requests]
    duplicates = [urn for urn, count in Counter(r.urn for r in registrations).items() if count > 1]
    if duplicates:
        raise DuplicateUrnError(duplicates)
    outputs = _plain(MessageToDict(monitor.stack_outputs)) if monitor.stack_outputs is not None else {}
    return Recording(project=project, stack=stack, registrations=registrations, stack_outputs=outputs,
                     diagnostics=list(collected.messages))
