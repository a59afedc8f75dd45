"""The Azure type catalog (components/planning/azure_types.py) is the one table of per-type Azure facts: every
azure-native type the program registers has exactly one entry, its `taggable` agrees with Azure's ARM schema, the
readers look types up there (the export, the mocks, the diff and the pack are tested against it in test_export.py,
test_arm_schemas.py, test_diff.py and test_policies*.py), and no module of the engine or the pack keeps a table of
its own keyed by type tokens.
"""

from __future__ import annotations

import ast
import inspect
from collections import Counter
from pathlib import Path

import pulumi_azure_native as azure_native
import pytest

from brickwall.engine import Recording
from components.planning import azure_types
from components.spec import EnvironmentSpec
from tests import arm_validation

ROOT = Path(__file__).resolve().parent.parent


def _azure_types(recording: Recording) -> set[str]:
    return {r.type for r in recording.registrations if r.custom and r.type.startswith("azure-native:")}


def test_every_entry_is_defined_once() -> None:
    assert len(azure_types.CATALOG) == len(azure_types.ENTRIES)
    assert [t for t, n in Counter(e.token for e in azure_types.ENTRIES).items() if n > 1] == []
    assert [t for t, n in Counter(e.arm_type for e in azure_types.ENTRIES).items() if n > 1] == []


def test_every_registered_azure_type_has_its_entry(rec: Recording, stack: str) -> None:
    missing = sorted(_azure_types(rec) - set(azure_types.CATALOG))
    assert missing == [], f"{stack} registers azure-native types without a catalog entry: {missing}"


def test_the_catalog_holds_only_types_the_program_uses(
    dev: Recording, staging: Recording, prod: Recording, all_features_env: tuple[Recording, EnvironmentSpec]
) -> None:
    used = set().union(*(_azure_types(r) for r in (dev, staging, prod, all_features_env[0])))
    assert used - set(azure_types.CATALOG) == set()
    assert set(azure_types.CATALOG) - used == set(), "catalog entries no render registers"


@pytest.mark.parametrize("token", sorted(azure_types.CATALOG))
def test_taggable_follows_the_sdk_and_the_arm_schema(token: str) -> None:
    """An entry takes tags exactly when the pinned SDK takes a `tags` input for it (the wire input the pack's tagging
    rule reads); an untaggable one's ARM template schema has no `tags` either."""
    entry = azure_types.CATALOG[token]
    _, module, cls = token.split(":")
    sdk_inputs = inspect.signature(getattr(getattr(azure_native, module), cls)._internal_init).parameters
    assert ("tags" in sdk_inputs) is entry.taggable
    if not entry.taggable:
        definition = arm_validation.definitions()[(entry.arm_type, entry.api_version)]
        _, section, name = definition.pointer.split("/")
        assert "tags" not in arm_validation._documents()[definition.uri][section][name].get("properties", {})


def test_data_bearing_types_are_the_ones_the_diff_guards() -> None:
    bearing = {e.token for e in azure_types.ENTRIES if e.data_bearing}
    assert {azure_types.DATABRICKS_WORKSPACE.token, azure_types.STORAGE_ACCOUNT.token, azure_types.KEY_VAULT.token,
            azure_types.SQL_DATABASE.token, azure_types.LOG_ANALYTICS_WORKSPACE.token} <= bearing
    assert azure_types.SUBNET.token not in bearing


# --- no second table ---------------------------------------------------------------------------------------------

SCANNED = sorted([*(ROOT / "brickwall").rglob("*.py"), *(ROOT / "policies").rglob("*.py")])


def _spelled_tokens(tree: ast.Module) -> dict[str, str]:
    """Module-level names bound to a spelled-out azure-native token (`VNET = "azure-native:network:VirtualNetwork"`)."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str) \
                and node.value.value.startswith("azure-native:"):
            found.update({t.id: node.value.value for t in node.targets if isinstance(t, ast.Name)})
    return found


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT / "policies" if path.is_relative_to(ROOT / "policies") else ROOT)
    return ".".join(relative.with_suffix("").parts)


def _tables_keyed_by_tokens(path: Path, trees: dict[str, ast.Module]) -> list[str]:
    tree = trees[_module_name(path)]
    spelled = _spelled_tokens(tree)
    for node in tree.body:  # names imported from another scanned module that spells them
        if isinstance(node, ast.ImportFrom) and node.module in trees:
            spelled.update({a.asname or a.name: a.name for a in node.names if a.name in _spelled_tokens(trees[node.module])})
    found = []
    for node in ast.walk(tree):
        keys = [k for k in node.keys if k is not None] if isinstance(node, ast.Dict) else \
            [node.key] if isinstance(node, ast.DictComp) else []
        for key in keys:
            if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value.startswith("azure-native:"):
                found.append(f"{path.name}:{key.lineno} {key.value}")
            elif isinstance(key, ast.Name) and key.id in spelled:
                found.append(f"{path.name}:{key.lineno} {key.id}")
    return found


def test_no_module_keeps_a_table_keyed_by_spelled_out_azure_tokens() -> None:
    """Per-type Azure facts live in the catalog: a table elsewhere keyed by azure-native types refers to the
    catalog's entries (`az.SUBNET.token`), never to a token it spells itself."""
    trees = {_module_name(p): ast.parse(p.read_text()) for p in SCANNED}
    assert "brickwall.engine" in trees and "brickwall_rules.keys" in trees
    assert [hit for path in SCANNED for hit in _tables_keyed_by_tokens(path, trees)] == []


def test_the_scan_finds_a_spelled_out_table() -> None:
    """The scan above is not vacuous: a literal-keyed table and one keyed by a spelled constant are both found."""
    source = ('VNET = "azure-native:network:VirtualNetwork"\n'
              'A = {"azure-native:network:Subnet": 1}\n'
              'B = {VNET: 2}\n')
    path = ROOT / "brickwall" / "example.py"
    trees = {"brickwall.example": ast.parse(source)}
    assert _tables_keyed_by_tokens(path, trees) == ["example.py:2 azure-native:network:Subnet", "example.py:3 VNET"]
