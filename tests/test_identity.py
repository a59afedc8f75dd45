"""Identity follows Entra ID, proven on the recorded plans: account groups assigned to the workspace, no
workspace-local groups, no standing human admins in prod, and a deployment that stops when the account's group is
not the Entra group the spec names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import stacks
from brickwall import planfile, project, render
from brickwall.engine import ProgramError, Recording, account_group_id
from components.access.identities import IdentityMismatch
from components.spec import EnvironmentSpec
from tests.docs import doc

D = "databricks:index/"
GROUP, MEMBER = D + "group:Group", D + "groupMember:GroupMember"
ASSIGN, ENT = D + "mwsPermissionAssignment:MwsPermissionAssignment", D + "entitlements:Entitlements"
PERMS = D + "permissions:Permissions"
ROOT = Path(__file__).resolve().parent.parent


def assignments(rec: Recording) -> dict[str, list[str]]:
    return {r.inputs["principalId"]: r.inputs["permissions"] for r in rec.of_type(ASSIGN)}


def test_prod_has_no_workspace_local_group(prod: Recording) -> None:
    """No databricks Group at all, least of all through the workspace provider, and no admins-group membership."""
    workspace_provider = prod.one("pulumi:providers:databricks", "prod-databricks").urn
    assert [r for r in prod.registrations if r.type == GROUP and r.provider.startswith(workspace_provider)] == []
    assert prod.of_type(GROUP) == [] and prod.of_type(MEMBER) == []


def test_every_declared_group_is_assigned_through_the_account_provider(rec: Recording, spec: EnvironmentSpec) -> None:
    account = rec.one("pulumi:providers:databricks", f"{spec.name}-databricks-account")
    ws = rec.one("azure-native:databricks:Workspace", f"{spec.name}-workspace-workspace")
    assigned = {r.inputs["principalId"]: r for r in rec.of_type(ASSIGN)}
    # The offline tenant resolves each group by its Entra object id (engine.account_group_id is its account id).
    assert set(assigned) == {account_group_id(g.entra_object_id) for g in spec.access.groups}
    for g in spec.access.groups:
        reg = assigned[account_group_id(g.entra_object_id)]
        assert reg.provider.startswith(account.urn + "::")
        assert reg.inputs["workspaceId"] == rec.stack_outputs["workspaceId"]
        assert reg.inputs["permissions"] == ["ADMIN" if g.workspace_admin else "USER"]
        assert reg.deleted_with == ws.urn
        # Entitlements are set in the workspace on the assigned group, after the assignment.
        ent = next(e for e in rec.of_type(ENT) if e.inputs.get("groupId") == account_group_id(g.entra_object_id))
        assert reg.urn in ent.dependencies
        assert ent.inputs["databricksSqlAccess"] is g.databricks_sql_access
        assert ent.inputs["allowClusterCreate"] is g.allow_cluster_create is False


def test_no_human_group_is_admin_in_prod(prod: Recording) -> None:
    spec = stacks.load("prod")
    admins = [pid for pid, perms in assignments(prod).items() if "ADMIN" in perms]
    break_glass = [g for g in spec.access.groups if g.break_glass_reason is not None]
    assert len(break_glass) == 1 and admins == [account_group_id(break_glass[0].entra_object_id)]
    assert all(not g.workspace_admin for g in spec.access.groups if g.break_glass_reason is None)


def test_permissions_by_group_name_wait_for_the_assignments(prod: Recording) -> None:
    """Cluster-policy and token permissions name groups by display name: they come after the groups are assigned."""
    assign_urns = {r.urn for r in prod.of_type(ASSIGN)}
    named = [p for p in prod.of_type(PERMS) if any("groupName" in ac for ac in p.inputs.get("accessControls", []))]
    assert named
    for perm in named:
        assert assign_urns <= set(perm.dependencies), perm.urn


def test_the_plan_shows_assignments_and_entitlements(prod: Recording) -> None:
    text = render.render(planfile.to_plan(prod))
    spec = stacks.load("prod")
    bg = next(g for g in spec.access.groups if g.workspace_admin)
    assert f"principal={account_group_id(bg.entra_object_id)}" in text and "permissions=ADMIN" in text
    assert "permissions=USER" in text and "sqlAccess=True" in text


@pytest.fixture(scope="module")
def scim_dev(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, EnvironmentSpec]:
    data = stacks.load("dev").model_dump(mode="json")
    data["access"]["identity_sync"] = "scim"
    path = tmp_path_factory.mktemp("dev-scim") / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    return path, stacks.load_file(path)


def test_scim_groups_are_found_by_display_name_and_assigned(scim_dev: tuple[Path, EnvironmentSpec]) -> None:
    path, spec = scim_dev
    rec = project.run("dev", spec_file=path)
    assert rec.of_type(GROUP) == []
    assert assignments(rec) == {account_group_id(g.entra_object_id): ["ADMIN" if g.workspace_admin else "USER"]
                                for g in spec.access.groups}
    # The program says that removals then wait for the provisioning cycle.
    assert any(level == "warning" and "next provisioning cycle (about 40 minutes)" in msg for level, msg in rec.diagnostics)


def test_a_scim_group_with_another_external_id_stops_the_deployment(scim_dev: tuple[Path, EnvironmentSpec]) -> None:
    """A same-named account group that is not the Entra group (created by hand, or another group) is refused."""
    path, spec = scim_dev
    tenant = {g.entra_object_id: g.name for g in spec.access.groups}
    impostor = "0f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f"
    tenant[impostor] = tenant.pop(spec.access.groups[0].entra_object_id)
    with pytest.raises(ProgramError) as caught:
        project.run("dev", spec_file=path, directory=tenant)
    message = str(caught.value)
    assert "access.groups 'data-engineers'" in message
    assert f"its external id is '{impostor}', not the Entra object id {spec.access.groups[0].entra_object_id}" in message
    assert not [r for r in caught.value.registrations if r.type == ASSIGN and "data-engineers" in r.name]


def test_an_entra_group_named_otherwise_stops_the_deployment() -> None:
    """Under automatic identity management the group is found by object id; its Entra display name must be the
    spec's name, which permissions address it by."""
    spec = stacks.load("dev")
    tenant = {g.entra_object_id: g.name for g in spec.access.groups}
    tenant[spec.access.groups[0].entra_object_id] = "Data Engineers (EU)"
    with pytest.raises(ProgramError) as caught:
        project.run("dev", directory=tenant)
    assert isinstance(caught.value.original, IdentityMismatch)  # a RunError: Pulumi prints it without a traceback
    assert "its display name is 'Data Engineers (EU)': set access.groups name to the Entra group's display name" in str(caught.value)


def test_the_docs_say_how_groups_admins_and_tokens_work() -> None:
    text = doc("access-control")
    for fact in ("identity_sync", "MwsPermissionAssignment", "break_glass_reason", "PIM for Groups",
                 "databricks token-management list", "expiry_time", "databricks token-management delete"):
        assert fact in text, fact


def test_making_a_group_admin_replaces_its_assignment(prod_plan: dict) -> None:  # type: ignore[type-arg]
    """The assignment has no update (every field ForceNew): the offline diff says a new permission replaces it, which
    is why the component deletes it before replacing (the replacement addresses the same workspace and principal)."""
    import copy

    from brickwall import diff

    new = copy.deepcopy(prod_plan)
    entry = next(r for r in new["resources"] if r["name"] == "prod-access-assign-analysts")
    entry["inputs"]["permissions"] = ["ADMIN"]
    [change] = diff.compare(prod_plan, new).changes
    assert change.action == "replace" and "ForceNew" in change.replace_reasons["permissions.0"]
