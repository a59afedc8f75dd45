"""brickwall guardrails as CrossGuard policies (`ALL`), shared by the policy pack and `python -m brickwall check`.

Rules read the wire (camelCase) inputs a `pulumi preview --policy-pack policies` sends the analyzer. Only
`pulumi_policy` and the standard library are imported here: the pack installs nothing else.

Conventions:
- The tier (dev, staging, prod) is the policy config `tier` when set, else the stack named in the URN; a stack with
  another name is held to prod's rules (the strictest).
- Secrets: `brickwall check` hands the rules every secret as the string "[secret]" (the plan-file form) and sets
  the policy config `secretMarkers: true`. `pulumi-policy`'s own `Analyze` strips secret markers before a rule sees
  the props, so under the real analyzer the "Kubernetes Secret values must be Pulumi secrets" rule reports itself
  not applicable instead of flagging every Secret.
- Unknown values raise `UnknownValueError` through the analyzer's proxy; the analyzer (and `brickwall check`)
  turns that into "cannot run during preview", never into a pass or a violation.
- Stack policies read inputs under `brickwall check` and outputs under the real engine; they only use keys that are
  both inputs and outputs (names, ids, groupIds, tags).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

SECRET_PLACEHOLDER = "[secret]"
KNOWN_TIERS = ("dev", "staging", "prod")
MANDATORY = EnforcementLevel.MANDATORY
# report(message) or report(message, urn): the analyzer's ReportViolation, whose urn is optional.
Say = Callable[..., None]
ADVISORY = EnforcementLevel.ADVISORY

MAX_TOKEN_LIFETIME_DAYS = {"dev": 180, "staging": 90, "prod": 90}
REQUIRED_TAGS = ("environment", "tier", "managed-by")
# Ports an Internet-facing rule must never open on Databricks or ingress subnets.
SENSITIVE_PORTS = {22: "SSH", 3389: "RDP", 443: "HTTPS", 5557: "Databricks control plane"}
SENSITIVE_RANGES = {(8443, 8451): "Databricks control plane / Unity Catalog"}
OPEN_SOURCES = {"*", "internet", "0.0.0.0/0", "0.0.0.0", "any", "::/0"}

WORKSPACE = "azure-native:databricks:Workspace"
PRIVATE_ENDPOINT = "azure-native:network:PrivateEndpoint"
ZONE_GROUP = "azure-native:network:PrivateDnsZoneGroup"
PRIVATE_ZONE = "azure-native:privatedns:PrivateZone"
VNET_LINK = "azure-native:privatedns:VirtualNetworkLink"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
INGRESS_ROUTE = "kubernetes:traefik.io/v1alpha1:IngressRoute"
MIDDLEWARE = "kubernetes:traefik.io/v1alpha1:Middleware"
INGRESS_TIER = "brickwall:kubernetes:IngressTier"
INGRESS_PART_OF = "brickwall-ingress"
# azure-native child resources that carry no tags of their own.
UNTAGGABLE = frozenset({
    "azure-native:network:Subnet",
    "azure-native:network:SecurityRule",
    "azure-native:network:Route",
    "azure-native:network:PrivateDnsZoneGroup",
    "azure-native:network:VirtualNetworkPeering",
})


# --- helpers -------------------------------------------------------------------------------------------------


def stack_of(urn: str) -> str:
    """The stack named in a URN (`urn:pulumi:<stack>::<project>::...`)."""
    parts = urn.split(":", 3)
    return parts[2] if len(parts) > 3 else ""


def tier_of(urn: str, config: Mapping[str, Any]) -> str:
    tier = config.get("tier") or stack_of(urn)
    return tier if tier in KNOWN_TIERS else "prod"


def dig(props: Any, path: str, default: Any = None) -> Any:
    """Dotted lookup through (proxied) mappings and sequences; unknowns still raise UnknownValueError."""
    node = props
    for part in path.split("."):
        if isinstance(node, Mapping):
            if part not in node:
                return default
            node = node[part]
        elif _is_list(node) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return default
    return node


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def as_list(value: Any) -> list[Any]:
    return list(value) if _is_list(value) else ([] if value is None else [value])


def is_secret(value: Any) -> bool:
    """A value the checker marked secret ("[secret]"), or a pulumi_policy Secret (remediation path)."""
    return value == SECRET_PLACEHOLDER or type(value).__name__ == "Secret"


def arm_key(value: Any) -> str:
    """Case-insensitive ARM id from `/resourcegroups/` on: the subscription is only known at apply time."""
    text = str(value or "").lower()
    index = text.find("/resourcegroups/")
    return text[index:] if index >= 0 else text


def workspace_key(res: PolicyResource) -> str:
    rg = dig(res.props, "resourceGroupName", "")
    name = dig(res.props, "workspaceName") or res.name
    return arm_key(dig(res.props, "id") or f"/resourceGroups/{rg}/providers/Microsoft.Databricks/workspaces/{name}")


def vnet_of_subnet(subnet_id: Any) -> str:
    key = arm_key(subnet_id)
    return key.split("/subnets/")[0]


def is_serverless(props: Any) -> bool:
    return str(dig(props, "computeMode", "")).lower() == "serverless"


def endpoint_groups(props: Any) -> list[tuple[str, str]]:
    """(groupId, target key) for every connection of a private endpoint."""
    found = []
    for conn in [*as_list(dig(props, "privateLinkServiceConnections")), *as_list(dig(props, "manualPrivateLinkServiceConnections"))]:
        for group in as_list(dig(conn, "groupIds")):
            found.append((str(group), arm_key(dig(conn, "privateLinkServiceId"))))
    return found


def port_ranges(values: Iterable[Any]) -> list[tuple[int, int]]:
    ranges = []
    for value in values:
        text = str(value).strip()
        if text in ("*", ""):
            ranges.append((0, 65535))
            continue
        low, _, high = text.partition("-")
        try:
            ranges.append((int(low), int(high or low)))
        except ValueError:
            continue
    return ranges


def exposed_sensitive(ranges: list[tuple[int, int]]) -> list[str]:
    hits = [f"{port} ({what})" for port, what in SENSITIVE_PORTS.items() if any(lo <= port <= hi for lo, hi in ranges)]
    hits += [f"{a}-{b} ({what})" for (a, b), what in SENSITIVE_RANGES.items() if any(lo <= b and a <= hi for lo, hi in ranges)]
    return hits


def _resource(
    name: str,
    description: str,
    remediation: str,
    types: Iterable[str] | Callable[[str], bool],
    check: Callable[[ResourceValidationArgs, Say], None],
    level: EnforcementLevel = MANDATORY,
) -> ResourceValidationPolicy:
    wanted: Callable[[str], bool] = types if callable(types) else frozenset(types).__contains__

    def validate(args: ResourceValidationArgs, report: Say) -> None:
        if wanted(args.resource_type):
            check(args, report)

    return ResourceValidationPolicy(
        name=name, description=description, validate=validate, enforcement_level=level, remediation_steps=remediation,
    )


def _stack(
    name: str,
    description: str,
    remediation: str,
    check: Callable[[StackValidationArgs, Say], None],
    level: EnforcementLevel = MANDATORY,
) -> StackValidationPolicy:
    return StackValidationPolicy(
        name=name, description=description, validate=check, enforcement_level=level, remediation_steps=remediation,
    )


def of_type(args: StackValidationArgs, type_: str) -> list[PolicyResource]:
    return [r for r in args.resources if r.resource_type == type_]


# --- network -------------------------------------------------------------------------------------------------


def _security_rule_open(rule: Any, where: str, report: Say) -> None:
    if str(dig(rule, "direction", "")).lower() != "inbound" or str(dig(rule, "access", "")).lower() != "allow":
        return
    sources = [dig(rule, "sourceAddressPrefix"), *as_list(dig(rule, "sourceAddressPrefixes"))]
    open_sources = sorted({str(s) for s in sources if s is not None and str(s).lower() in OPEN_SOURCES})
    if not open_sources:
        return
    ports = [p for p in [dig(rule, "destinationPortRange"), *as_list(dig(rule, "destinationPortRanges"))] if p is not None]
    ranges = port_ranges(ports) or [(0, 65535)]
    sensitive = exposed_sensitive(ranges)
    detail = f"; exposes {', '.join(sensitive)}" if sensitive else ""
    message = (f"{where} allows inbound traffic from {', '.join(open_sources)} to port(s) {', '.join(map(str, ports)) or '*'}{detail}")
    report(message)


def _check_security_rule(args: ResourceValidationArgs, report: Say) -> None:
    _security_rule_open(args.props, f"security rule {dig(args.props, 'securityRuleName') or args.name!r}", report)


NSG_NO_INTERNET_INBOUND = _resource(
    "nsg-no-internet-inbound",
    "No NSG security rule allows inbound traffic from the Internet, * or 0.0.0.0/0 "
    "(SSH 22, RDP 3389, HTTPS 443, control plane 5557 and 8443-8451 included).",
    "Restrict sourceAddressPrefix(es) to the VNet, a named CIDR or a service tag, or make the rule Deny; Databricks "
    "secure cluster connectivity needs no inbound rule from the Internet.",
    ["azure-native:network:SecurityRule"],
    _check_security_rule,
)


def _check_nsg_inline(args: ResourceValidationArgs, report: Say) -> None:
    rules = as_list(dig(args.props, "securityRules"))
    if rules:
        names = ", ".join(str(dig(r, "name", "?")) for r in rules)
        report(f"network security group carries {len(rules)} inline security rule(s) ({names})")
        for rule in rules:
            _security_rule_open(rule, f"inline security rule {dig(rule, 'name', '?')!r}", report)


NSG_NO_INLINE_RULES = _resource(
    "nsg-no-inline-rules",
    "Network security groups carry no inline securityRules, so the rules Databricks injects are never fought or deleted.",
    "Move each rule to a standalone azure-native:network:SecurityRule resource and drop securityRules from the NSG.",
    ["azure-native:network:NetworkSecurityGroup"],
    _check_nsg_inline,
)


def _check_vnet_inline(args: ResourceValidationArgs, report: Say) -> None:
    subnets = as_list(dig(args.props, "subnets"))
    if subnets:
        report(f"virtual network declares {len(subnets)} inline subnet(s) ({', '.join(str(dig(s, 'name', '?')) for s in subnets)})")


VNET_NO_INLINE_SUBNETS = _resource(
    "vnet-no-inline-subnets",
    "Virtual networks declare no inline subnets: inline and standalone subnets replace each other on every update.",
    "Declare every subnet as a standalone azure-native:network:Subnet resource and drop subnets from the VNet.",
    ["azure-native:network:VirtualNetwork"],
    _check_vnet_inline,
)


def _check_delegated_subnet(args: ResourceValidationArgs, report: Say) -> None:
    delegations = as_list(dig(args.props, "delegations"))
    if delegations and not dig(args.props, "networkSecurityGroup.id"):
        services = ", ".join(str(dig(d, "serviceName", "?")) for d in delegations)
        report(f"subnet {dig(args.props, 'subnetName') or args.name!r} is delegated to {services} without a network security group")


DELEGATED_SUBNET_HAS_NSG = _resource(
    "delegated-subnet-has-nsg",
    "Every delegated subnet (Databricks host/container) has a network security group associated.",
    "Set networkSecurityGroup.id on the subnet to the workspace NSG.",
    ["azure-native:network:Subnet"],
    _check_delegated_subnet,
)


# --- Databricks workspace ------------------------------------------------------------------------------------


def _check_workspace_premium(args: ResourceValidationArgs, report: Say) -> None:
    if is_serverless(args.props):
        return
    sku = str(dig(args.props, "sku.name", ""))
    if sku.lower() != "premium":
        report(f"workspace SKU is {sku or 'unset'!r}, not premium (Private Link, IP access lists and cluster policies need premium)")


WORKSPACE_PREMIUM = _resource(
    "databricks-workspace-premium",
    "Databricks workspaces use the premium SKU.",
    "Set sku.name to 'premium'.",
    [WORKSPACE],
    _check_workspace_premium,
)


def _check_workspace_no_public_ip(args: ResourceValidationArgs, report: Say) -> None:
    if is_serverless(args.props):
        return
    value = dig(args.props, "parameters.enableNoPublicIp.value")
    if value is not True:
        report(f"parameters.enableNoPublicIp.value is {value!r}: cluster nodes get public IPs (secure cluster connectivity off)")


WORKSPACE_NO_PUBLIC_IP = _resource(
    "databricks-workspace-no-public-ip",
    "Databricks workspaces use secure cluster connectivity (parameters.enableNoPublicIp.value true).",
    "Set parameters.enableNoPublicIp = {value: true}.",
    [WORKSPACE],
    _check_workspace_no_public_ip,
)


def _check_workspace_public_access(args: ResourceValidationArgs, report: Say) -> None:
    if is_serverless(args.props):
        return
    tier = tier_of(args.urn, args.get_config())
    access = dig(args.props, "publicNetworkAccess", "Enabled")
    if tier != "dev" and str(access).lower() != "disabled":
        report(f"publicNetworkAccess is {access!r} in tier {tier}: the workspace front end is reachable from the Internet")


WORKSPACE_PRIVATE_FRONT_END = _resource(
    "databricks-workspace-no-public-access",
    "Outside dev, Databricks workspaces have publicNetworkAccess Disabled (unset means Enabled).",
    "Set publicNetworkAccess to 'Disabled' and requiredNsgRules to 'NoAzureDatabricksRules', with front-end, back-end "
    "and browser-authentication private endpoints.",
    [WORKSPACE],
    _check_workspace_public_access,
)


def _check_workspace_protected(args: ResourceValidationArgs, report: Say) -> None:
    if tier_of(args.urn, args.get_config()) == "prod" and not args.opts.protect:
        report("workspace is not protected in prod: a `pulumi destroy` or a replacement would delete it and its data")


WORKSPACE_PROTECTED = _resource(
    "databricks-workspace-protected-in-prod",
    "Databricks workspaces are protected (`protect=True`) in prod.",
    "Pass ResourceOptions(protect=True, retain_on_delete=True) to the workspace.",
    [WORKSPACE],
    _check_workspace_protected,
)


def _check_backend_endpoint(args: StackValidationArgs, report: Say) -> None:
    endpoints = [(r, endpoint_groups(r.props)) for r in of_type(args, PRIVATE_ENDPOINT)]
    for ws in of_type(args, WORKSPACE):
        if str(dig(ws.props, "requiredNsgRules", "")) != "NoAzureDatabricksRules":
            continue
        key = workspace_key(ws)
        vnet = arm_key(dig(ws.props, "parameters.customVirtualNetworkId.value", ""))
        found = [
            pe for pe, groups in endpoints
            if ("databricks_ui_api", key) in groups and (not vnet or vnet_of_subnet(dig(pe.props, "subnet.id")) == vnet)
        ]
        if not found:
            report("requiredNsgRules is NoAzureDatabricksRules but no databricks_ui_api private endpoint in the workspace VNet "
                   "targets this workspace: clusters cannot reach the control plane", ws.urn)


NSG_RULES_NEED_BACKEND = _stack(
    "databricks-no-nsg-rules-needs-backend-endpoint",
    "A workspace with requiredNsgRules NoAzureDatabricksRules has a back-end (databricks_ui_api) private endpoint in its VNet.",
    "Add a private endpoint with groupIds ['databricks_ui_api'] targeting the workspace in the workspace VNet's "
    "endpoint subnet, or set requiredNsgRules to 'AllRules'.",
    _check_backend_endpoint,
)


def _check_browser_auth(args: StackValidationArgs, report: Say) -> None:
    has_webauth = any(g == "browser_authentication" for pe in of_type(args, PRIVATE_ENDPOINT) for g, _ in endpoint_groups(pe.props))
    if has_webauth:
        return
    for ws in of_type(args, WORKSPACE):
        if not is_serverless(ws.props) and str(dig(ws.props, "publicNetworkAccess", "Enabled")).lower() == "disabled":
            report("publicNetworkAccess is Disabled but the stack has no browser_authentication private endpoint: "
                   "browser single sign-on to the private front end fails", ws.urn)


PRIVATE_FRONT_END_NEEDS_WEBAUTH = _stack(
    "private-front-end-needs-browser-auth",
    "A workspace with a private front end (publicNetworkAccess Disabled) has a browser_authentication private endpoint.",
    "Add a private endpoint with groupIds ['browser_authentication'] (on this workspace or a dedicated "
    "WEBAUTH_DO_NOT_DELETE_<REGION> workspace) in the transit VNet, with its DNS zone group.",
    _check_browser_auth,
)


# --- private endpoints and DNS -------------------------------------------------------------------------------


def _zone_groups_by_endpoint(args: StackValidationArgs) -> dict[tuple[str, str], list[PolicyResource]]:
    groups: dict[tuple[str, str], list[PolicyResource]] = {}
    for zg in of_type(args, ZONE_GROUP):
        key = (str(dig(zg.props, "resourceGroupName", "")).lower(), str(dig(zg.props, "privateEndpointName", "")).lower())
        groups.setdefault(key, []).append(zg)
    return groups


def _endpoint_key(pe: PolicyResource) -> tuple[str, str]:
    return (str(dig(pe.props, "resourceGroupName", "")).lower(), str(dig(pe.props, "privateEndpointName") or pe.name).lower())


def _check_zone_groups(args: StackValidationArgs, report: Say) -> None:
    groups = _zone_groups_by_endpoint(args)
    for pe in of_type(args, PRIVATE_ENDPOINT):
        if _endpoint_key(pe) not in groups:
            report(f"private endpoint {_endpoint_key(pe)[1]!r} has no private DNS zone group: its name resolves to the public IP", pe.urn)


ENDPOINT_HAS_ZONE_GROUP = _stack(
    "private-endpoint-has-dns-zone-group",
    "Every private endpoint has a private DNS zone group, so its FQDN resolves to the private IP.",
    "Add an azure-native:network:PrivateDnsZoneGroup for the endpoint pointing at the matching privatelink.* zone.",
    _check_zone_groups,
)


def _check_zone_links(args: StackValidationArgs, report: Say) -> None:
    zones = {
        (str(dig(z.props, "resourceGroupName", "")).lower(), str(dig(z.props, "privateZoneName") or z.name).lower()): z
        for z in of_type(args, PRIVATE_ZONE)
    }
    links = {
        (str(dig(link.props, "resourceGroupName", "")).lower(), str(dig(link.props, "privateZoneName", "")).lower(),
         arm_key(dig(link.props, "virtualNetwork.id")))
        for link in of_type(args, VNET_LINK)
    }
    groups = _zone_groups_by_endpoint(args)
    for pe in of_type(args, PRIVATE_ENDPOINT):
        vnet = vnet_of_subnet(dig(pe.props, "subnet.id"))
        for zg in groups.get(_endpoint_key(pe), []):
            for config in as_list(dig(zg.props, "privateDnsZoneConfigs")):
                zone_id = arm_key(dig(config, "privateDnsZoneId"))
                match = re.match(r"/resourcegroups/([^/]+)/providers/microsoft\.network/privatednszones/([^/]+)$", zone_id)
                if not match or (match.group(1), match.group(2)) not in zones:
                    continue  # a zone this stack does not manage: its links are someone else's
                if (match.group(1), match.group(2), vnet) not in links:
                    report(f"private DNS zone {match.group(2)!r} (resource group {match.group(1)}) used by private endpoint "
                           f"{_endpoint_key(pe)[1]!r} has no virtual network link to {vnet.rsplit('/', 1)[-1]!r}",
                           zones[(match.group(1), match.group(2))].urn)


ZONE_LINKED_TO_ENDPOINT_VNETS = _stack(
    "private-dns-zone-linked-to-endpoint-vnets",
    "Every private DNS zone is linked to each VNet whose private endpoints register in it.",
    "Add an azure-native:privatedns:VirtualNetworkLink from the zone to the endpoint's VNet (registrationEnabled false).",
    _check_zone_links,
)


# --- Databricks workspace configuration ----------------------------------------------------------------------

WORKSPACE_CONF = "databricks:index/workspaceConf:WorkspaceConf"


def _check_ip_lists_enabled(args: ResourceValidationArgs, report: Say) -> None:
    value = dig(args.props, "customConfig.enableIpAccessLists")
    if str(value).lower() != "true":
        report(f"customConfig.enableIpAccessLists is {value!r}: IP access lists are stored but not enforced")


IP_ACCESS_LISTS_ENABLED = _resource(
    "databricks-ip-access-lists-enabled",
    "The workspace conf turns IP access lists on (enableIpAccessLists 'true').",
    "Set customConfig.enableIpAccessLists to 'true' (spec access.ip_access.enabled).",
    [WORKSPACE_CONF],
    _check_ip_lists_enabled,
)


def _check_token_lifetime(args: ResourceValidationArgs, report: Say) -> None:
    tier = tier_of(args.urn, args.get_config())
    limit = MAX_TOKEN_LIFETIME_DAYS[tier]
    value = dig(args.props, "customConfig.maxTokenLifetimeDays")
    if value is None:
        if str(dig(args.props, "customConfig.enableTokensConfig", "true")).lower() == "true":
            report(f"maxTokenLifetimeDays is unset: personal access tokens never expire (tier {tier} allows at most {limit} days)")
        return
    try:
        days = int(float(str(value)))
    except ValueError:
        report(f"maxTokenLifetimeDays is {value!r}, not a number of days")
        return
    if days <= 0 or days > limit:
        report(f"maxTokenLifetimeDays is {days}: tier {tier} allows at most {limit} days")


TOKEN_LIFETIME = _resource(
    "databricks-token-lifetime-within-tier-limit",
    "Personal access tokens expire within the tier's limit (dev 180, staging 90, prod 90 days).",
    "Set customConfig.maxTokenLifetimeDays (spec access.settings.max_token_lifetime_days) at or below the tier's limit.",
    [WORKSPACE_CONF],
    _check_token_lifetime,
)


def _check_ip_list_open(args: ResourceValidationArgs, report: Say) -> None:
    tier = tier_of(args.urn, args.get_config())
    if tier == "dev" or str(dig(args.props, "listType", "")).upper() != "ALLOW" or dig(args.props, "enabled", True) is False:
        return
    wide = [str(a) for a in as_list(dig(args.props, "ipAddresses")) if str(a) in ("0.0.0.0/0", "0.0.0.0", "::/0", "*")]
    if wide:
        report(f"ALLOW list {dig(args.props, 'label') or args.name!r} admits {', '.join(wide)} in tier {tier}: every address may reach the workspace")


IP_LIST_NOT_OPEN = _resource(
    "databricks-ip-access-list-not-open",
    "Outside dev, no enabled ALLOW IP access list admits 0.0.0.0/0.",
    "List the operators', CI and office egress ranges instead of 0.0.0.0/0.",
    ["databricks:index/ipAccessList:IpAccessList"],
    _check_ip_list_open,
)

INIT_SCRIPT_KINDS = ("abfss", "dbfs", "file", "volumes", "workspace")
LOCKED_TYPES = {"fixed", "forbidden", "regex", "allowlist"}
UNSAFE_SECURITY_MODES = {"NONE", "NO_ISOLATION", "LEGACY_PASSTHROUGH", "LEGACY_TABLE_ACL", "LEGACY_SINGLE_USER"}


def _check_cluster_policy(args: ResourceValidationArgs, report: Say) -> None:
    raw = dig(args.props, "definition")
    if raw is None or is_secret(raw):
        return
    try:
        definition = json.loads(str(raw))
    except ValueError:
        report("the cluster policy definition is not valid JSON")
        return
    problems = []
    mode = definition.get("data_security_mode") or {}
    allowed = {str(mode.get("value"))} if mode.get("type") == "fixed" else {str(v) for v in mode.get("values", [])}
    if mode.get("type") not in ("fixed", "allowlist") or mode.get("isOptional") or allowed & UNSAFE_SECURITY_MODES or not allowed:
        problems.append("data_security_mode is not fixed to an isolating access mode")
    auto = definition.get("autotermination_minutes") or {}
    if auto.get("type") == "fixed":
        if not isinstance(auto.get("value"), (int, float)) or auto["value"] <= 0:
            problems.append("autotermination_minutes is fixed to no termination")
    elif auto.get("type") == "range":
        if not isinstance(auto.get("maxValue"), (int, float)) or auto.get("minValue", 0) <= 0 or auto.get("isOptional"):
            problems.append("autotermination_minutes range lets clusters run forever (needs minValue > 0 and a maxValue)")
    else:
        problems.append("autotermination_minutes is not locked")
    if (definition.get("init_scripts") or {}).get("type") != "forbidden":
        unlocked = [k for k in INIT_SCRIPT_KINDS if (definition.get(f"init_scripts.*.{k}.destination") or {}).get("type") not in LOCKED_TYPES]
        if unlocked:
            problems.append(f"init scripts from {', '.join(unlocked)} are not locked")
    if problems:
        report(f"cluster policy {dig(args.props, 'name') or args.name!r}: {'; '.join(problems)}")


CLUSTER_POLICY_LOCKS = _resource(
    "databricks-cluster-policy-locks-security",
    "Cluster policies lock data_security_mode, autotermination_minutes and every init-script source.",
    "In the definition: data_security_mode {type: fixed, value: USER_ISOLATION|SINGLE_USER}; autotermination_minutes "
    "as a range with minValue > 0 and maxValue; init_scripts.*.<abfss|dbfs|file|volumes|workspace>.destination forbidden "
    "or pinned (fixed/regex/allowlist).",
    ["databricks:index/clusterPolicy:ClusterPolicy"],
    _check_cluster_policy,
)


def _check_databricks_provider(args: StackValidationArgs, report: Say) -> None:
    for res in args.resources:
        if not res.resource_type.startswith("databricks:"):
            continue
        provider = res.provider
        if provider is None or provider.name.startswith("default"):
            report(f"{res.resource_type} {res.name!r} uses the default Databricks provider (ambient DATABRICKS_* settings decide the workspace)",
                   res.urn)


DATABRICKS_EXPLICIT_PROVIDER = _stack(
    "databricks-explicit-provider",
    "Every databricks: resource names the workspace's explicit provider.",
    "Pass ResourceOptions(provider=<the workspace's pulumi_databricks.Provider>) and keep "
    "pulumi:disable-default-providers ['*'] in the stack file.",
    _check_databricks_provider,
)


# --- Kubernetes / ingress -------------------------------------------------------------------------------------


def _owned_by_ingress(res: PolicyResource) -> bool:
    return INGRESS_TIER in res.urn.split("::")[-2] or dig(res.props, "metadata.labels", {}).get("app.kubernetes.io/part-of") == INGRESS_PART_OF


def _is_default_deny(policy: PolicyResource) -> set[str]:
    """The directions ({"Ingress", "Egress"}) this NetworkPolicy denies by default for every pod of its namespace."""
    spec = dig(policy.props, "spec", {})
    selector = dig(spec, "podSelector", {}) or {}
    if dig(selector, "matchLabels") or dig(selector, "matchExpressions"):
        return set()
    types = {str(t) for t in as_list(dig(spec, "policyTypes"))} or {"Ingress"}
    denied = set()
    if "Ingress" in types and not as_list(dig(spec, "ingress")):
        denied.add("Ingress")
    if "Egress" in types and not as_list(dig(spec, "egress")):
        denied.add("Egress")
    return denied


def _check_default_deny(args: StackValidationArgs, report: Say) -> None:
    denied: dict[str, set[str]] = {}
    for policy in of_type(args, NETWORK_POLICY):
        denied.setdefault(str(dig(policy.props, "metadata.namespace", "default")), set()).update(_is_default_deny(policy))
    for ns in of_type(args, NAMESPACE):
        if not _owned_by_ingress(ns):
            continue
        name = str(dig(ns.props, "metadata.name") or ns.name)
        missing = {"Ingress", "Egress"} - denied.get(name, set())
        if missing:
            report(f"namespace {name!r} has no default-deny NetworkPolicy for {' and '.join(sorted(missing))}", ns.urn)


INGRESS_DEFAULT_DENY = _stack(
    "ingress-namespace-default-deny",
    "Every namespace the ingress tier owns has a default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules).",
    "Add a NetworkPolicy 'default-deny' with podSelector {} and policyTypes [Ingress, Egress] to the namespace; allow "
    "traffic with narrower policies.",
    _check_default_deny,
)


HOST_RE = re.compile(r"Host\(([^)]*)\)")


def _route_hosts(match: str) -> list[str]:
    hosts: list[str] = []
    for group in HOST_RE.findall(match):
        hosts += [h.strip().strip("`\"'") for h in group.split(",") if h.strip()]
    return hosts


def _check_route_tls(args: ResourceValidationArgs, report: Say) -> None:
    tls = dig(args.props, "spec.tls")
    if not isinstance(tls, Mapping) or not (dig(tls, "secretName") or dig(tls, "certResolver")):
        report(f"IngressRoute {dig(args.props, 'metadata.name') or args.name!r} terminates no TLS (spec.tls without secretName)")
    entry_points = [str(e) for e in as_list(dig(args.props, "spec.entryPoints"))]
    if entry_points and entry_points != ["websecure"]:
        report(f"IngressRoute {dig(args.props, 'metadata.name') or args.name!r} listens on entry points {entry_points}, not only websecure")


ROUTE_TLS = _resource(
    "ingress-route-tls",
    "Traefik IngressRoutes terminate TLS (spec.tls.secretName) on the websecure entry point only.",
    "Set spec.tls.secretName to the route's cert-manager certificate secret and spec.entryPoints to ['websecure'].",
    [INGRESS_ROUTE],
    _check_route_tls,
)


def _check_route_host(args: ResourceValidationArgs, report: Say) -> None:
    for i, route in enumerate(as_list(dig(args.props, "spec.routes"))):
        match = str(dig(route, "match", ""))
        hosts = _route_hosts(match)
        if "HostRegexp" in match or "HostSNIRegexp" in match:
            report(f"route {i} matches hosts by regular expression ({match!r}): name exact hosts")
        elif not hosts:
            report(f"route {i} ({match!r}) matches any host: add Host(`<exact name>`)")
        elif any("*" in h or not h for h in hosts):
            report(f"route {i} matches wildcard host(s) {', '.join(hosts)}: name exact hosts")


ROUTE_EXACT_HOST = _resource(
    "ingress-route-exact-host",
    "Every IngressRoute route matches exact host names (no wildcard, no HostRegexp, no missing Host).",
    "Write match as Host(`app.example.com`) && PathPrefix(`/...`) with one exact host per route.",
    [INGRESS_ROUTE],
    _check_route_host,
)


def _check_route_allowlist(args: StackValidationArgs, report: Say) -> None:
    middlewares = {
        (str(dig(m.props, "metadata.namespace", "default")), str(dig(m.props, "metadata.name") or m.name)): m
        for m in of_type(args, MIDDLEWARE)
    }
    for route in of_type(args, INGRESS_ROUTE):
        if tier_of(route.urn, args.get_config()) != "prod":
            continue
        namespace = str(dig(route.props, "metadata.namespace", "default"))
        for i, r in enumerate(as_list(dig(route.props, "spec.routes"))):
            refs = [(str(dig(m, "namespace") or namespace), str(dig(m, "name", ""))) for m in as_list(dig(r, "middlewares"))]
            allow = [ref for ref in refs if ref in middlewares and (
                dig(middlewares[ref].props, "spec.ipAllowList.sourceRange") or dig(middlewares[ref].props, "spec.ipWhiteList.sourceRange"))]
            if not allow:
                report(f"IngressRoute {dig(route.props, 'metadata.name') or route.name!r} route {i} has no IPAllowList middleware in prod", route.urn)


ROUTE_ALLOWLIST = _stack(
    "ingress-route-ip-allowlist-in-prod",
    "In prod every IngressRoute route passes through an IPAllowList middleware with source ranges.",
    "Create a traefik Middleware with spec.ipAllowList.sourceRange for the route's clients and list it first in the "
    "route's middlewares.",
    _check_route_allowlist,
)

TLS_VERSIONS = {"VersionTLS10": 10, "VersionTLS11": 11, "VersionTLS12": 12, "VersionTLS13": 13}


def _check_tls_option(args: ResourceValidationArgs, report: Say) -> None:
    name = str(dig(args.props, "metadata.name") or args.name)
    version = dig(args.props, "spec.minVersion")
    if version is None:
        if name == "default":
            report("the default TLSOption sets no minVersion")
        return
    if TLS_VERSIONS.get(str(version), 0) < 12:
        report(f"TLSOption {name!r} allows {version}: the minimum is VersionTLS12")


TLS_MIN_VERSION = _resource(
    "traefik-tls-min-version",
    "Traefik TLSOptions (the default one explicitly) require TLS 1.2 or later.",
    "Set spec.minVersion to 'VersionTLS12' (or 'VersionTLS13').",
    ["kubernetes:traefik.io/v1alpha1:TLSOption"],
    _check_tls_option,
)


def _check_aks_network_policy(args: ResourceValidationArgs, report: Say) -> None:
    policy = dig(args.props, "networkProfile.networkPolicy")
    if policy is None or str(policy).lower() in ("none", ""):
        report(f"networkProfile.networkPolicy is {policy!r}: Kubernetes NetworkPolicies (default deny included) are not enforced")


AKS_NETWORK_POLICY = _resource(
    "aks-network-policy-enforced",
    "AKS clusters enforce Kubernetes NetworkPolicies (networkProfile.networkPolicy set, not 'none').",
    "Set networkProfile.networkPolicy to 'calico', 'azure' or 'cilium'.",
    ["azure-native:containerservice:ManagedCluster"],
    _check_aks_network_policy,
)


def _check_secret_values(args: ResourceValidationArgs, report: Say) -> None:
    if not args.get_config().get("secretMarkers"):
        args.not_applicable("pulumi-policy's analyzer strips secret markers; run `python -m brickwall check` for this rule")
    for field in ("data", "stringData"):
        value = dig(args.props, field)
        if value is None or is_secret(value):
            continue
        plain = sorted(str(k) for k, v in value.items() if not is_secret(v)) if isinstance(value, Mapping) else ["<whole field>"]
        if plain:
            report(f"Secret {dig(args.props, 'metadata.name') or args.name!r} has plain-text {field} key(s): {', '.join(plain)}")


K8S_SECRET_IS_PULUMI_SECRET = _resource(
    "kubernetes-secret-values-are-pulumi-secrets",
    "Kubernetes Secret data/stringData are Pulumi secrets, so they are encrypted in state and never printed.",
    "Wrap the values with pulumi.Output.secret(...) or read them with config.require_secret(...).",
    ["kubernetes:core/v1:Secret"],
    _check_secret_values,
)


def _check_tags(args: ResourceValidationArgs, report: Say) -> None:
    tags = dig(args.props, "tags") or {}
    missing = [t for t in REQUIRED_TAGS if not (isinstance(tags, Mapping) and tags.get(t))]
    if missing:
        report(f"{args.resource_type} {args.name!r} is missing required tag(s): {', '.join(missing)}")


REQUIRED_TAGS_POLICY = _resource(
    "azure-required-tags",
    f"Taggable azure-native resources carry the tags {', '.join(REQUIRED_TAGS)}.",
    "Pass the environment's common tags (components' `tags` argument) to the resource.",
    lambda t: t.startswith("azure-native:") and t not in UNTAGGABLE,
    _check_tags,
    level=ADVISORY,
)


ALL: list[Policy] = [
    NSG_NO_INTERNET_INBOUND,
    NSG_NO_INLINE_RULES,
    VNET_NO_INLINE_SUBNETS,
    DELEGATED_SUBNET_HAS_NSG,
    WORKSPACE_PREMIUM,
    WORKSPACE_NO_PUBLIC_IP,
    WORKSPACE_PRIVATE_FRONT_END,
    WORKSPACE_PROTECTED,
    NSG_RULES_NEED_BACKEND,
    PRIVATE_FRONT_END_NEEDS_WEBAUTH,
    ENDPOINT_HAS_ZONE_GROUP,
    ZONE_LINKED_TO_ENDPOINT_VNETS,
    IP_ACCESS_LISTS_ENABLED,
    TOKEN_LIFETIME,
    IP_LIST_NOT_OPEN,
    CLUSTER_POLICY_LOCKS,
    DATABRICKS_EXPLICIT_PROVIDER,
    INGRESS_DEFAULT_DENY,
    ROUTE_TLS,
    ROUTE_EXACT_HOST,
    ROUTE_ALLOWLIST,
    TLS_MIN_VERSION,
    AKS_NETWORK_POLICY,
    K8S_SECRET_IS_PULUMI_SECRET,
    REQUIRED_TAGS_POLICY,
]
