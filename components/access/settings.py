"""Workspace settings and IP access lists: what the workspace admits, and from where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_databricks as databricks

from components.planning.naming import slug
from components.planning.workspace_settings import IP_ACCESS, TOKENS, conf_groups, resource_suffix
from components.spec.access import AccessSpec

Kid = Callable[..., pulumi.ResourceOptions]


@dataclass
class Settings:
    conf: dict[str, databricks.WorkspaceConf]  # by group (components.planning.workspace_settings.GROUPS)
    ip_access_lists: list[pulumi.Resource]

    @property
    def tokens(self) -> databricks.WorkspaceConf:
        return self.conf[TOKENS]


def settings_and_lists(name: str, access: AccessSpec, token_principals: int, kid: Kid) -> Settings:
    conf: dict[str, databricks.WorkspaceConf] = {}
    for group, keys in conf_groups(access.settings, access.ip_access.enabled, token_principals).items():
        # Every group after the IP switch waits for it: see components/planning/workspace_settings.py.
        after = () if group == IP_ACCESS else (conf[IP_ACCESS],)
        conf[group] = databricks.WorkspaceConf(f"{name}-{resource_suffix(group)}", custom_config=keys, opts=kid(*after))

    # The switch comes first: the API then refuses any list that would block the caller's own address
    # (INVALID_STATE). Creating the first ALLOW list blocks every address outside it, so the first list is
    # the deployer's own (ci-egress; break-glass when the deployer is an operator), and every other list
    # waits for it: no list can ever be the one that locks the running `pulumi up` out.
    ip = access.ip_access
    switch = conf[IP_ACCESS]
    lists: list[pulumi.Resource] = []
    first: pulumi.Resource | None = None
    for label, cidrs in ip.allow_lists():
        resource = databricks.IpAccessList(
            f"{name}-allow-{slug(label)}", label=label, list_type="ALLOW",
            ip_addresses=list(cidrs), enabled=True, opts=kid(switch, *([first] if first else [])),
        )
        first = first or resource
        lists.append(resource)
    for lst in ip.block:
        lists.append(databricks.IpAccessList(
            f"{name}-block-{slug(lst.label)}", label=lst.label, list_type="BLOCK",
            ip_addresses=list(lst.cidrs), enabled=True, opts=kid(switch, *([first] if first else [])),
        ))
    return Settings(conf, lists)
