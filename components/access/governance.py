"""Compute governance beyond the toolkit's own cluster policies: the built-in Personal Compute policy, SQL
warehouses, serverless egress, legacy access and DBFS, and what workspace admins may do.

Workspace-level settings go through the workspace provider (`kid`); the account-wide Personal Compute setting and
the serverless network policy with its binding to this workspace go through the account provider (`account_kid`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_databricks as databricks

from components.planning.cluster_policies import (
    PERSONAL_COMPUTE_FAMILY,
    PERSONAL_COMPUTE_NAME,
    definition_json,
    personal_compute_overrides,
)
from components.planning.naming import slug
from components.spec.compute import ComputeGovernanceSpec, ServerlessEgressSpec

Kid = Callable[..., pulumi.ResourceOptions]
PERSONAL_COMPUTE_SETTING = "features.personalCompute.enabled"
DEFAULT_NETWORK_POLICY = "default-policy"  # every account's own (provider docs, account_network_policy)


@dataclass
class Governance:
    personal_compute: databricks.ClusterPolicy
    settings: list[pulumi.Resource] = field(default_factory=list)
    warehouses: dict[str, databricks.SqlEndpoint] = field(default_factory=dict)
    network_policy: databricks.AccountNetworkPolicy | None = None


def personal_compute_definition(environment: str, cost_center: str, compute: ComputeGovernanceSpec) -> str:
    pc = compute.personal_compute
    return definition_json(personal_compute_overrides(pc.options(environment, cost_center), ship_logs=pc.cluster_log_path is not None))


def _uses(groups: Sequence[str], sp_app_ids: Sequence[str]) -> list[databricks.PermissionsAccessControlArgs]:
    return [
        *(databricks.PermissionsAccessControlArgs(group_name=g, permission_level="CAN_USE") for g in groups),
        *(databricks.PermissionsAccessControlArgs(service_principal_name=a, permission_level="CAN_USE") for a in sp_app_ids),
    ]


def governance(name: str, environment: str, cost_center: str, compute: ComputeGovernanceSpec,
               service_principals: Mapping[str, str], workspace_id: pulumi.Input[str],
               identities: Sequence[pulumi.Resource], kid: Kid, account_kid: Kid) -> Governance:
    pc = compute.personal_compute
    account_setting: list[pulumi.Resource] = []
    if pc.account_setting == "delegate":
        # Account-wide: DELEGATE makes each workspace's Personal Compute permissions decide who may use it (ON grants it
        # to all users whatever they say; databricks-sdk settings.PersonalComputeMessageEnum). Deleting the setting
        # reverts the whole account to ON, so a destroyed stack leaves it in place.
        # The setting's settings-v2 name (terraform-provider-databricks exporter/impl_settings_test.go, settings-metadata).
        account_setting.append(databricks.AccountSettingV2(
            f"{name}-personal-compute-delegate", name=PERSONAL_COMPUTE_SETTING,
            personal_compute=databricks.AccountSettingV2PersonalComputeArgs(value="DELEGATE"),
            opts=account_kid(retain_on_delete=True),
        ))

    # The built-in policy overridden with the baseline's locks (ClusterPolicy docs, "Overriding the built-in cluster
    # policies": the built-in name, its family id and policy_family_definition_overrides).
    policy = databricks.ClusterPolicy(
        f"{name}-personal-compute",
        name=PERSONAL_COMPUTE_NAME,
        policy_family_id=PERSONAL_COMPUTE_FAMILY,
        policy_family_definition_overrides=personal_compute_definition(environment, cost_center, compute),
        opts=kid(),
    )
    if pc.groups:
        # The permissions replace the policy's whole access list with the named groups (admins keep theirs).
        databricks.Permissions(
            f"{name}-personal-compute-use", cluster_policy_id=policy.id, access_controls=_uses(pc.groups, ()),
            opts=kid(*identities, *account_setting),
        )
    out = Governance(personal_compute=policy)

    for wh in compute.sql_warehouses:
        endpoint = databricks.SqlEndpoint(
            f"{name}-warehouse-{slug(wh.name)}",
            name=wh.name,
            cluster_size=wh.cluster_size,
            min_num_clusters=wh.min_clusters,
            max_num_clusters=wh.max_clusters,
            auto_stop_mins=wh.auto_stop_minutes,
            enable_serverless_compute=wh.serverless,
            # A serverless warehouse is a PRO warehouse (provider docs, sql_endpoint warehouse_type).
            warehouse_type="PRO" if wh.serverless else "CLASSIC",
            tags=databricks.SqlEndpointTagsArgs(custom_tags=[
                databricks.SqlEndpointTagsCustomTagArgs(key="environment", value=environment),
                databricks.SqlEndpointTagsCustomTagArgs(key="cost-center", value=cost_center),
            ]),
            opts=kid(),
        )
        databricks.Permissions(
            f"{name}-warehouse-{slug(wh.name)}-use", sql_endpoint_id=endpoint.id,
            access_controls=_uses(wh.groups, [service_principals[s] for s in wh.service_principals]),
            opts=kid(*identities),
        )
        out.warehouses[wh.name] = endpoint

    if compute.disable_legacy_access:
        out.settings.append(databricks.DisableLegacyAccessSetting(
            f"{name}-disable-legacy-access",
            disable_legacy_access=databricks.DisableLegacyAccessSettingDisableLegacyAccessArgs(value=True), opts=kid()))
    if compute.disable_legacy_dbfs:
        out.settings.append(databricks.DisableLegacyDbfsSetting(
            f"{name}-disable-legacy-dbfs",
            disable_legacy_dbfs=databricks.DisableLegacyDbfsSettingDisableLegacyDbfsArgs(value=True), opts=kid()))
    if compute.restrict_workspace_admins:
        out.settings.append(databricks.RestrictWorkspaceAdminsSetting(
            f"{name}-restrict-workspace-admins",
            restrict_workspace_admins=databricks.RestrictWorkspaceAdminsSettingRestrictWorkspaceAdminsArgs(
                status="RESTRICT_TOKENS_AND_JOB_RUN_AS"),
            opts=kid()))

    out.network_policy = serverless_egress(name, compute.serverless_egress, workspace_id, account_kid)
    return out


def serverless_egress(name: str, egress: ServerlessEgressSpec, workspace_id: pulumi.Input[str],
                      account_kid: Kid) -> databricks.AccountNetworkPolicy | None:
    """An account network policy for this workspace's serverless compute, and the workspace bound to it
    (provider docs: account_network_policy, workspace_network_option; both account-level).

    The binding always exists: with "account_default" it names the account's `default-policy` (which every account
    has and which cannot be deleted), so leaving "restricted" rebinds the workspace before the old policy goes
    (Pulumi deletes last). Deleting a binding does nothing in the provider, so a destroyed environment leaves its
    network policy in the account (deletedWith the workspace): an account admin removes it."""
    if egress.mode == "account_default":
        databricks.WorkspaceNetworkOption(
            f"{name}-serverless-egress-binding", workspace_id=workspace_id, network_policy_id=DEFAULT_NETWORK_POLICY,
            opts=account_kid(),
        )
        return None
    policy_id = f"{slug(name)}-serverless-egress"
    access = databricks.AccountNetworkPolicyEgressNetworkAccessArgs(
        restriction_mode="RESTRICTED_ACCESS" if egress.mode == "restricted" else "FULL_ACCESS",
        policy_enforcement=databricks.AccountNetworkPolicyEgressNetworkAccessPolicyEnforcementArgs(
            enforcement_mode=egress.enforcement),
        allowed_internet_destinations=[
            databricks.AccountNetworkPolicyEgressNetworkAccessAllowedInternetDestinationArgs(
                destination=d, internet_destination_type="DNS_NAME") for d in egress.allowed_domains] or None,
        allowed_storage_destinations=[
            databricks.AccountNetworkPolicyEgressNetworkAccessAllowedStorageDestinationArgs(
                azure_storage_account=a, azure_storage_service="dfs", storage_destination_type="AZURE_STORAGE")
            for a in egress.allowed_storage_accounts] or None,
    )
    policy = databricks.AccountNetworkPolicy(
        f"{name}-serverless-egress", network_policy_id=policy_id,
        egress=databricks.AccountNetworkPolicyEgressArgs(network_access=access), opts=account_kid(),
    )
    databricks.WorkspaceNetworkOption(
        f"{name}-serverless-egress-binding", workspace_id=workspace_id, network_policy_id=policy.network_policy_id,
        opts=account_kid(policy),
    )
    return policy
