"""Identity rules: who administers the workspace and who holds personal access tokens, by tier.

Registered in components.spec.rules.RULES; each rule reads only `spec.tier` and `spec.access`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.spec.errors import Problem

if TYPE_CHECKING:
    from components.spec.models import EnvironmentSpec

GROUPS = ("access", "groups")


def standing_admins(spec: EnvironmentSpec) -> list[Problem]:
    """Prod has no standing human workspace admins: the deploying service principal administers it, and a person
    becomes admin only by a just-in-time membership of a break-glass group (Entra PIM for Groups)."""
    problems = []
    prod = spec.tier.value == "prod"
    break_glass = []
    for i, group in enumerate(spec.access.groups):
        if group.break_glass_reason is not None and not group.workspace_admin:
            problems.append(Problem((*GROUPS, i, "break_glass_reason"),
                                    "only a workspace_admin group is break-glass; drop the reason or make the group admin"))
        if not group.workspace_admin:
            continue
        if group.break_glass_reason is None:
            if prod:
                problems.append(Problem((*GROUPS, i, "workspace_admin"),
                                        "prod has no standing human workspace admins: the deploying service principal "
                                        "administers the workspace; mark a break-glass group whose membership is "
                                        "just-in-time (Entra PIM for Groups) with break_glass_reason, or drop workspace_admin"))
            continue
        break_glass.append(i)
        if group.can_use_tokens:
            problems.append(Problem((*GROUPS, i, "can_use_tokens"),
                                    "a break-glass group holds no personal access tokens: they would outlive its "
                                    "just-in-time membership"))
    if prod and len(break_glass) > 1:
        problems += [Problem((*GROUPS, i, "break_glass_reason"),
                             f"prod has one break-glass admin group; groups {', '.join(map(str, break_glass))} are all marked")
                     for i in break_glass[1:]]
    return problems


def human_tokens(spec: EnvironmentSpec) -> list[Problem]:
    """Personal access tokens for people: dev allows them, staging only with access.allow_human_tokens, prod never
    (a token there belongs to a named service principal)."""
    access, tier = spec.access, spec.tier.value
    if tier == "prod":
        problems = [
            Problem((*GROUPS, i, "can_use_tokens"),
                    "prod gives people no personal access tokens: tokens belong to named service principals "
                    "(access.service_principals with authentication 'personal_access_token')")
            for i, group in enumerate(access.groups) if group.can_use_tokens and group.break_glass_reason is None
        ]
        if access.allow_human_tokens:
            problems.append(Problem(("access", "allow_human_tokens"),
                                    "prod makes no exception for people's personal access tokens; remove it"))
        return problems
    if tier == "staging" and not access.allow_human_tokens:
        return [Problem((*GROUPS, i, "can_use_tokens"),
                        "staging gives people personal access tokens only with access.allow_human_tokens set")
                for i, group in enumerate(access.groups) if group.can_use_tokens and group.break_glass_reason is None]
    return []


IDENTITY_RULES = (standing_admins, human_tokens)


def identity_advisories(spec: EnvironmentSpec) -> list[str]:
    """Notes on a valid spec's identities (components.spec.rules.advisories gathers them)."""
    notes = []
    if spec.access.identity_sync == "scim":
        # Entra's provisioning service runs incremental cycles about every 40 minutes
        # (https://learn.microsoft.com/entra/identity/app-provisioning/how-provisioning-works, "Incremental cycles").
        notes.append("groups come from the Entra SCIM connector: a removal in Entra ID reaches Databricks at the next "
                     "provisioning cycle (about 40 minutes), not at once; automatic identity management reads Entra ID itself")
    return notes
