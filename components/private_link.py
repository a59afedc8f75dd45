"""PrivateLink: back-end, front-end and browser-authentication endpoints, storage endpoints, private DNS.

Two privatelink.azuredatabricks.net zones, one per side: the back-end and front-end endpoints
register the same workspace host name with different addresses, so one shared zone would let
one side's record overwrite the other's. Each zone is linked to every VNet that resolves it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
from pulumi_azure_native import databricks, network, privatedns

from components._base import child
from components._private_endpoints import private_endpoint, private_zone
from components.planning.data_paths import BACKEND, WORKSPACE_STORAGE
from components.planning.naming import NamePlan

DATABRICKS_ZONE = "privatelink.azuredatabricks.net"
DFS_ZONE = "privatelink.dfs.core.windows.net"
BLOB_ZONE = "privatelink.blob.core.windows.net"

UI_API = "databricks_ui_api"
BROWSER_AUTH = "browser_authentication"


@dataclass(frozen=True)
class TransitSide:
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    # Further VNets (hub, peered, DNS resolver) that must resolve the private front end.
    extra_dns_link_vnet_ids: Sequence[str] = ()


@dataclass(frozen=True)
class PrivateLinkArgs:
    location: str
    tags: Mapping[str, str]
    # The endpoints' names (backend, dfs, blob, frontend, webauth) and the dedicated web-auth workspace's.
    names: NamePlan
    workspace_resource_id: pulumi.Input[str]
    resource_group_name: pulumi.Input[str]
    vnet_id: pulumi.Input[str]
    endpoint_subnet_id: pulumi.Input[str]
    backend: bool
    storage_account_id: pulumi.Input[str] | None
    transit: TransitSide | None
    frontend: bool
    browser_authentication: Literal["none", "this_workspace", "dedicated_workspace"]
    protect: bool
    # Workspace operations every endpoint waits for (the customer-managed key grants that follow the workspace):
    # an encryption update and an endpoint change on the same workspace collide while it is "updating".
    depends_on: Sequence[pulumi.Resource] = ()
    # Application security group id per endpoint class ("backend", "workspace-storage") for the endpoints in the
    # workspace VNet (components/planning/data_paths.py); the transit VNet's endpoints join none.
    endpoint_asg_ids: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


class PrivateLink(pulumi.ComponentResource):
    endpoints: dict[str, network.PrivateEndpoint]
    zones: dict[str, privatedns.PrivateZone]

    def __init__(self, name: str, args: PrivateLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("brickwall:network:PrivateLink", name, {}, opts)
        self._name, self._args = name, args
        self.endpoints, self.zones = {}, {}
        self.webauth_workspace: databricks.Workspace | None = None
        # Azure puts a workspace in "updating" while it approves an endpoint connection, and a second
        # connection arriving then fails, so endpoints on workspaces are created one after another.
        self._last_workspace_endpoint: network.PrivateEndpoint | None = None

        if args.backend:
            zone = self._zone("backend-dbx", DATABRICKS_ZONE, args.resource_group_name, {"workspace-vnet": args.vnet_id})
            self._endpoint("backend", args.names.backend_endpoint, args.resource_group_name, args.endpoint_subnet_id,
                           args.workspace_resource_id, UI_API, zone, args.endpoint_asg_ids.get(BACKEND))
        if args.storage_account_id is not None:
            for group, zone_name, pe_name in (("dfs", DFS_ZONE, args.names.dfs_endpoint), ("blob", BLOB_ZONE, args.names.blob_endpoint)):
                zone = self._zone(group, zone_name, args.resource_group_name, {"workspace-vnet": args.vnet_id})
                self._endpoint(group, pe_name, args.resource_group_name, args.endpoint_subnet_id,
                               args.storage_account_id, group, zone, args.endpoint_asg_ids.get(WORKSPACE_STORAGE))

        transit = args.transit
        if transit is not None and (args.frontend or args.browser_authentication != "none"):
            links: dict[str, pulumi.Input[str]] = {"transit-vnet": transit.vnet_id}
            links.update({f"extra-{i}": vnet for i, vnet in enumerate(transit.extra_dns_link_vnet_ids)})
            zone = self._zone("frontend-dbx", DATABRICKS_ZONE, transit.resource_group_name, links)
            if args.frontend:
                self._endpoint("frontend", args.names.frontend_endpoint, transit.resource_group_name,
                               transit.endpoint_subnet_id, args.workspace_resource_id, UI_API, zone)
            webauth_target = self._webauth_target(transit)
            if webauth_target is not None:
                self._endpoint("webauth", args.names.webauth_endpoint, transit.resource_group_name,
                               transit.endpoint_subnet_id, webauth_target, BROWSER_AUTH, zone)

        self.register_outputs({
            "endpoints": {k: pe.id for k, pe in self.endpoints.items()},
            "zones": {k: z.id for k, z in self.zones.items()},
        })

    def _webauth_target(self, transit: TransitSide) -> pulumi.Input[str] | None:
        args = self._args
        if args.browser_authentication == "this_workspace":
            return args.workspace_resource_id
        if args.browser_authentication == "dedicated_workspace":
            # Serverless: it exists only to serve SSO redirects for the region, so it needs no VNet.
            self.webauth_workspace = databricks.Workspace(
                f"{self._name}-webauth-workspace",
                workspace_name=args.names.webauth_workspace,
                resource_group_name=transit.resource_group_name,
                location=args.location,
                sku=databricks.SkuArgs(name="premium"),
                compute_mode="Serverless",
                public_network_access="Disabled",
                tags=dict(args.tags),
                opts=child(self, protect=args.protect),
            )
            return self.webauth_workspace.id
        return None

    def _zone(self, key: str, zone_name: str, resource_group_name: pulumi.Input[str],
              links: Mapping[str, pulumi.Input[str]]) -> privatedns.PrivateZone:
        zone = private_zone(self, f"{self._name}-{key}", zone_name=zone_name, resource_group_name=resource_group_name,
                            links=links, tags=self._args.tags)
        self.zones[key] = zone
        return zone

    def _endpoint(self, key: str, endpoint_name: str, resource_group_name: pulumi.Input[str],
                  subnet_id: pulumi.Input[str], target_id: pulumi.Input[str], group_id: str,
                  zone: privatedns.PrivateZone, asg_id: pulumi.Input[str] | None = None) -> network.PrivateEndpoint:
        on_workspace = group_id in (UI_API, BROWSER_AUTH)
        previous = [self._last_workspace_endpoint] if on_workspace and self._last_workspace_endpoint else []
        pe = private_endpoint(
            self, f"{self._name}-{key}", endpoint_name=endpoint_name, resource_group_name=resource_group_name,
            location=self._args.location, subnet_id=subnet_id, target_id=target_id, group_id=group_id, zone=zone,
            zone_config_name=zone_label(group_id), tags=self._args.tags, depends_on=[*self._args.depends_on, *previous],
            application_security_group_id=asg_id,
        )
        if on_workspace:
            self._last_workspace_endpoint = pe
        self.endpoints[key] = pe
        return pe


def zone_label(group_id: str) -> str:
    return group_id.replace("_", "-")
