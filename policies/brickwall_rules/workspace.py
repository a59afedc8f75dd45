"""Databricks workspace rules: premium SKU, secure cluster connectivity, private front end outside dev, protected in prod."""

from __future__ import annotations

from pulumi_policy import Policy, ResourceValidationArgs, StackValidationArgs

from brickwall_rules.base import TIER_CONFIG, WORKSPACE, Say, dig, is_serverless, of_type, resource_rule, stack_rule, tier_of


def _check_workspace_premium(args: ResourceValidationArgs, report: Say) -> None:
    if is_serverless(args.props):
        return
    sku = str(dig(args.props, "sku.name", ""))
    if sku.lower() != "premium":
        report(f"workspace SKU is {sku or 'unset'!r}, not premium (Private Link, IP access lists and cluster policies need premium)")


WORKSPACE_PREMIUM = resource_rule(
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


WORKSPACE_NO_PUBLIC_IP = resource_rule(
    "databricks-workspace-no-public-ip",
    "Databricks workspaces use secure cluster connectivity (parameters.enableNoPublicIp.value true).",
    "Set parameters.enableNoPublicIp = {value: true}.",
    [WORKSPACE],
    _check_workspace_no_public_ip,
)


def _check_workspace_public_access(args: ResourceValidationArgs, report: Say) -> None:
    if is_serverless(args.props):
        return
    tier = tier_of(args.urn, args.get_config(), args.props)
    access = dig(args.props, "publicNetworkAccess", "Enabled")
    if tier != "dev" and str(access).lower() != "disabled":
        report(f"publicNetworkAccess is {access!r} in tier {tier}: the workspace front end is reachable from the Internet")


WORKSPACE_PRIVATE_FRONT_END = resource_rule(
    "databricks-workspace-no-public-access",
    "Outside dev, Databricks workspaces have publicNetworkAccess Disabled (unset means Enabled).",
    "Set publicNetworkAccess to 'Disabled' and requiredNsgRules to 'NoAzureDatabricksRules', with front-end, back-end "
    "and browser-authentication private endpoints.",
    [WORKSPACE],
    _check_workspace_public_access,
    config_schema=TIER_CONFIG,
)


def _check_workspace_protected(args: ResourceValidationArgs, report: Say) -> None:
    if tier_of(args.urn, args.get_config(), args.props) == "prod" and not args.opts.protect:
        report("workspace is not protected in prod: a `pulumi destroy` or a replacement would delete it and its data")


WORKSPACE_PROTECTED = resource_rule(
    "databricks-workspace-protected-in-prod",
    "Databricks workspaces are protected (`protect=True`) in prod.",
    "Pass ResourceOptions(protect=True, retain_on_delete=True) to the workspace.",
    [WORKSPACE],
    _check_workspace_protected,
    config_schema=TIER_CONFIG,
)


NCC = "databricks:index/mwsNetworkConnectivityConfig:MwsNetworkConnectivityConfig"


def _check_ncc_region(args: StackValidationArgs, report: Say) -> None:
    regions = {str(dig(w.props, "location", "")).lower() for w in of_type(args, WORKSPACE) if not is_serverless(w.props)}
    regions.discard("")
    for ncc in of_type(args, NCC):
        region = str(dig(ncc.props, "region", "")).lower()
        if regions and region not in regions:
            report(f"network connectivity configuration {dig(ncc.props, 'name') or ncc.name!r} is in {region or 'no region'!r}, "
                   f"not the workspace's region ({', '.join(sorted(regions))}): it cannot be bound to the workspace", ncc.urn)


NCC_IN_WORKSPACE_REGION = stack_rule(
    "databricks-ncc-in-workspace-region",
    "A network connectivity configuration for serverless compute is in the region of the stack's workspace: an NCC "
    "serves only workspaces of its own region (databricks_mws_ncc_binding).",
    "Leave serverless.network_connectivity.region unset (it follows the environment's region) or give that region.",
    _check_ncc_region,
)


RULES: list[Policy] = [
    WORKSPACE_PREMIUM,
    WORKSPACE_NO_PUBLIC_IP,
    WORKSPACE_PRIVATE_FRONT_END,
    WORKSPACE_PROTECTED,
    NCC_IN_WORKSPACE_REGION,
]
