"""Workspace settings and IP access lists: what the workspace admits, and from where."""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_databricks as databricks

from components.planning.naming import slug
from components.planning.workspace_settings import workspace_conf
from components.spec.access import AccessSpec

Kid = Callable[..., pulumi.ResourceOptions]


def settings_and_lists(name: str, access: AccessSpec, token_principals: int, kid: Kid) -> tuple[databricks.WorkspaceConf, list[pulumi.Resource]]:
    conf = databricks.WorkspaceConf(
        f"{name}-conf",
        custom_config=workspace_conf(access.settings, access.ip_access.enabled, token_principals),
        opts=kid(),
    )

    # Lists come after the switch: the API then refuses any list that would block the caller's own
    # address (INVALID_STATE), a second guard behind the spec's lockout rules.
    ip = access.ip_access
    lists: list[pulumi.Resource] = []
    for label, cidrs in ip.allow_lists():
        lists.append(databricks.IpAccessList(
            f"{name}-allow-{slug(label)}", label=label, list_type="ALLOW",
            ip_addresses=list(cidrs), enabled=True, opts=kid(conf),
        ))
    for lst in ip.block:
        lists.append(databricks.IpAccessList(
            f"{name}-block-{slug(lst.label)}", label=lst.label, list_type="BLOCK",
            ip_addresses=list(lst.cidrs), enabled=True, opts=kid(conf),
        ))
    return conf, lists
