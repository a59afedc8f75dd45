"""Conventions every component keeps, checked on the source itself."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pulumi
import pytest

ROOT = Path(__file__).resolve().parent.parent
COMPONENT_FILES = sorted(p for p in (ROOT / "components").glob("*.py") if p.name != "__init__.py")
PROVIDER_PACKAGES = ("pulumi_azure_native", "pulumi_databricks", "pulumi_kubernetes")
PURE_DIRS = [ROOT / "components" / "planning", ROOT / "components" / "spec"]


def _component_classes(tree: ast.Module) -> list[ast.ClassDef]:
    return [
        node for node in tree.body
        if isinstance(node, ast.ClassDef)
        and any(isinstance(b, ast.Attribute) and b.attr == "ComponentResource" for b in node.bases)
    ]


def _init(cls: ast.ClassDef) -> ast.FunctionDef:
    return next(n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "__init__")


@pytest.mark.parametrize("path", COMPONENT_FILES, ids=lambda p: p.name)
def test_components_register_outputs_last_and_use_brickwall_tokens(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for cls in _component_classes(tree):
        body = _init(cls).body
        last = body[-1]
        assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call), f"{cls.name}: register_outputs must be last"
        func = last.value.func
        assert isinstance(func, ast.Attribute) and func.attr == "register_outputs", f"{cls.name}: register_outputs must be last"
        calls = [n for n in ast.walk(_init(cls)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                 and n.func.attr == "register_outputs"]
        assert len(calls) == 1, f"{cls.name}: register_outputs exactly once"
        supers = [n for n in ast.walk(body[0]) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert supers and supers[0].value.startswith("brickwall:"), f"{cls.name}: type token brickwall:<module>:<Type>"
        assert supers[0].value.split(":")[-1] == cls.name


def _provider_modules(tree: ast.Module) -> dict[str, str]:
    """The local names a file gives the provider SDKs and their modules (`from pulumi_azure_native import storage`),
    mapped to the module they import."""
    names = {}
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update({a.asname or a.name: a.name for a in node.names if a.name.split(".")[0] in PROVIDER_PACKAGES})
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PROVIDER_PACKAGES:
            names.update({a.asname or a.name: f"{node.module}.{a.name}" for a in node.names})
    return names


def _is_resource(module: str, attr: str) -> bool:
    """Whether `module.attr` is a resource class (not an enum, an Args class or a function)."""
    cls = getattr(importlib.import_module(module), attr, None)
    return isinstance(cls, type) and issubclass(cls, pulumi.Resource)


def test_the_options_check_sees_every_provider_module() -> None:
    """Every component that creates cloud resources is covered by the options check below."""
    seen = {path.name: _provider_modules(ast.parse(path.read_text())) for path in COMPONENT_FILES}
    assert {"storage", "sql", "authorization", "keyvault", "monitor"} <= set().union(*seen.values())
    assert all(seen[name] for name in ("audit.py", "data_sources.py", "keys.py", "locks.py", "bastion.py"))
    assert _is_resource("pulumi_azure_native.storage", "StorageAccount") and _is_resource("pulumi_kubernetes.core.v1", "Secret")
    assert not _is_resource("pulumi_azure_native.keyvault", "SkuName") and not _is_resource("pulumi_azure_native.storage", "SkuArgs")


@pytest.mark.parametrize("path", COMPONENT_FILES, ids=lambda p: p.name)
def test_every_resource_is_created_with_options(path: Path) -> None:
    """A resource constructed without opts would escape its parent (and its provider)."""
    tree = ast.parse(path.read_text())
    modules = _provider_modules(tree)
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if isinstance(owner, ast.Name) and owner.id in modules and _is_resource(modules[owner.id], node.func.attr):
            assert any(k.arg == "opts" for k in node.keywords), f"{path.name}:{node.lineno} {node.func.attr} without opts"


def test_components_never_read_config_and_only_the_environment_creates_providers() -> None:
    for path in COMPONENT_FILES:
        source = path.read_text()
        assert "pulumi.Config" not in source and "get_stack" not in source, path.name
        if path.name != "environment.py":
            assert "Provider(" not in source, f"{path.name} creates a provider"


@pytest.mark.parametrize("folder", PURE_DIRS, ids=lambda p: p.name)
def test_specs_and_planners_are_pure(folder: Path) -> None:
    for path in folder.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n.split(".")[0].startswith("pulumi") for n in names), f"{path} imports Pulumi"


# --- the import graph of brickwall/ (issue #16: imports point one way) --------------------------------------------

BRICKWALL = ROOT / "brickwall"
CLI_SHARED = {"brickwall.cli.errors", "brickwall.cli.loading", "brickwall.cli.output", "brickwall.cli.parsing"}


def _module(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, known: set[str]) -> set[str]:
    """Every module `path` imports, at module level or inside a function or a TYPE_CHECKING block: `from a import b`
    is `a.b` when that is a module of `known`, else `a` (a package's own __init__ is not counted as imported by its
    submodules: importing a.b runs a/__init__.py, but that is Python's, not an arrow of the code)."""
    package = _module(path) if path.name == "__init__.py" else _module(path).rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names)
    return found


def _graph(folder: Path) -> dict[str, set[str]]:
    files = {_module(p): p for p in folder.rglob("*.py")}
    known = set(files)
    return {name: _imported(path, known) - {name} for name, path in files.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each a cycle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v] & graph.keys()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while (w := stack.pop()) != v:
                component.append(w)
            if component:
                found.append(sorted([v, *component]))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_a_cycle_is_found() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_of_brickwall_has_no_cycle() -> None:
    """Function-level imports count: an import moved into a function to dodge a cycle is still the cycle."""
    graph = _graph(BRICKWALL)
    assert {"brickwall.cli", "brickwall.cli.audit", "brickwall.engine"} <= graph.keys()
    assert "brickwall.cli.errors" in graph["brickwall.cli.plan"] | graph["brickwall.cli.export"]
    assert _cycles(graph) == []


def test_nothing_below_the_cli_imports_it() -> None:
    """The engine (engine, planfile, render, report, export, diff, check, audit*, reach, runners, stamps, driver,
    ledger) never imports the command line; only `python -m brickwall` (brickwall/__main__.py) starts it."""
    graph = _graph(BRICKWALL)
    upward = {name: sorted(t for t in targets if t == "brickwall.cli" or t.startswith("brickwall.cli."))
              for name, targets in graph.items()
              if name not in ("brickwall.__main__", "brickwall.cli") and not name.startswith("brickwall.cli.")}
    assert {name: found for name, found in upward.items() if found} == {}


def test_the_cli_commands_import_only_the_shared_cli_modules() -> None:
    """A command module imports the shared ones (errors, loading, output, parsing), never another command or the
    package root; the shared ones import no command."""
    graph = _graph(BRICKWALL)
    cli = {name for name in graph if name.startswith("brickwall.cli.")}
    for name in sorted(cli):
        inside = {t for t in graph[name] if t == "brickwall.cli" or t.startswith("brickwall.cli.")}
        allowed = CLI_SHARED - {name} if name not in CLI_SHARED else {"brickwall.cli.errors", "brickwall.cli.output"}
        assert inside <= allowed, f"{name} imports {sorted(inside - allowed)}"
    assert cli > CLI_SHARED


@pytest.mark.parametrize("folder", [ROOT / "components", ROOT / "policies"], ids=lambda p: p.name)
def test_components_and_policies_never_import_brickwall(folder: Path) -> None:
    for path in folder.rglob("*.py"):
        imported = _imported(path, set())
        assert not {m for m in imported if m.split(".")[0] == "brickwall"}, f"{path.relative_to(ROOT)} imports brickwall"


# --- the import graph of components/: spec -> planning -> components, one way (issue 16) ----------------------------
# facts (dependency-free) <- planning (pure, plain values) <- spec (validates with the planners) <- components.
# Every import counts, at module level or inside a function; those under `if TYPE_CHECKING:` are annotations only and
# are left out of the cycle check (a rule module may name EnvironmentSpec in a signature), not out of the layer checks.

PACKAGE = ROOT / "components"
PROJECT = ("components", "brickwall", "policies", "stacks", "scripts", "tests")


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_of(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(path: Path) -> list[tuple[str, bool, bool]]:
    """(module, under TYPE_CHECKING, inside a function) for every import of `path`; `from pkg import mod` names the
    module `pkg.mod` when that is one of ours."""
    found: list[tuple[str, bool, bool]] = []

    def visit(node: ast.AST, typing_only: bool, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    visit_stmt(stmt, True, in_function)
                for stmt in child.orelse:
                    visit_stmt(stmt, typing_only, in_function)
                continue
            visit_stmt(child, typing_only, in_function)

    def visit_stmt(child: ast.AST, typing_only: bool, in_function: bool) -> None:
        if isinstance(child, ast.Import):
            found.extend((a.name, typing_only, in_function) for a in child.names)
        elif isinstance(child, ast.ImportFrom):
            assert child.level == 0, f"{path}: relative import"
            base = child.module or ""
            for a in child.names:
                full = f"{base}.{a.name}"
                found.append((full if full in MODULES else base, typing_only, in_function))
        else:
            visit(child, typing_only, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda))

    visit(ast.parse(path.read_text()), False, False)
    return found


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_the_import_scan_sees_every_kind_of_import(tmp_path: Path) -> None:
    """The scanner's own check: a module-level, a function-level and a TYPE_CHECKING import are each seen as such."""
    spec_plan = _imports(PACKAGE / "spec" / "plan.py")
    assert ("components.planning.environment", False, False) in spec_plan
    assert ("components.spec.models", True, False) in spec_plan
    sample = tmp_path / "sample.py"
    sample.write_text("import typing\n\n\nclass C:\n    def f(self) -> None:\n        from components.planning import naming\n"
                      "\n        if typing.TYPE_CHECKING:\n            import pulumi\n")
    assert _imports(sample) == [("typing", False, False), ("components.planning.naming", False, True), ("pulumi", True, True)]


def test_planners_never_import_the_spec_or_pulumi() -> None:
    for module, path in MODULES.items():
        if not _in(module, "components.planning"):
            continue
        for imported, _, _ in _imports(path):
            assert not _in(imported, "components.spec"), f"{module} imports {imported}: planners take plain values"
            assert not imported.split(".")[0].startswith("pulumi"), f"{module} imports {imported}"
            if _in(imported, "components"):
                assert _in(imported, "components.planning") or imported == "components.facts", \
                    f"{module} imports {imported}: planners import only planners and the facts"


def test_the_facts_module_depends_on_nothing() -> None:
    for imported, _, _ in _imports(PACKAGE / "facts.py"):
        top = imported.split(".")[0]
        assert top in sys.stdlib_module_names and top not in PROJECT, f"components/facts.py imports {imported}"


def test_the_collector_module_depends_on_nothing() -> None:
    for imported, _, _ in _imports(PACKAGE / "collector.py"):
        assert imported.split(".")[0] in sys.stdlib_module_names, f"components/collector.py imports {imported}"


def _statements(path: Path) -> list[str]:
    """A module's top-level statements as source, the docstring left out."""
    body = ast.parse(path.read_text()).body
    return [ast.unparse(n) for n in body if not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant))]


@pytest.mark.parametrize("entry", ["__main__.py", "brickwall/__main__.py", "tests/__init__.py"])
def test_each_entry_point_sets_the_collector_before_the_sdks_load(entry: str) -> None:
    """components/collector.py: the program (as `pulumi up` runs it), the command line and the tests set the thresholds
    before anything imports pulumi or a provider SDK, since the imports allocate as the registrations do."""
    statements = _statements(ROOT / entry)
    tune = statements.index("collector.tune()")
    assert "from components import collector" in statements[:tune]
    before = [s for s in statements[:tune] if s.startswith(("import ", "from "))]
    assert all(s in ("from components import collector", "import os", "import sys") for s in before), before


def test_the_spec_imports_no_component() -> None:
    for module, path in MODULES.items():
        if not _in(module, "components.spec"):
            continue
        for imported, _, _ in _imports(path):
            assert not imported.split(".")[0].startswith("pulumi"), f"{module} imports {imported}"
            if _in(imported, "components"):
                assert any(_in(imported, p) for p in ("components.spec", "components.planning", "components.facts")), \
                    f"{module} imports the component module {imported}"


def test_components_import_only_downwards_at_module_level() -> None:
    """Nothing in components/ imports the engine or the CLI, and no project import hides inside a function."""
    for module, path in MODULES.items():
        for imported, _, in_function in _imports(path):
            assert imported.split(".")[0] not in PROJECT[1:], f"{module} imports {imported}"
            assert not (in_function and _in(imported, "components")), \
                f"{module} imports {imported} inside a function: imports go at the top, one way"


def test_no_import_cycles_in_components() -> None:
    graph = {module: sorted({i for i, typing_only, _ in _imports(path) if not typing_only and i in MODULES and i != module})
             for module, path in MODULES.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for nxt in graph[module]:
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                walk(nxt)
        stack.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module)


def test_brickwall_imports_the_project_at_module_level_only() -> None:
    """No project module (brickwall, components, stacks, policies) is imported inside a function in brickwall/: imports
    go at the top, where the graph above sees them. Heavy optional SDKs (databricks-sdk, the Azure SDKs, kubernetes,
    azure-monitor-query behind brickwall.audit_logs) stay lazy for start-up time; the policy pack (`brickwall_rules`)
    is loaded from its own folder, put on sys.path first."""
    lazy_ok = {"brickwall.audit_logs", "brickwall_rules"}
    found = []
    for path in sorted(BRICKWALL.rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text())):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    names = [node.module or ""] + [f"{node.module}.{a.name}" for a in node.names]
                else:
                    continue
                project = [n for n in names if n.split(".")[0] in ("brickwall", "components", "stacks", "policies")
                           and n not in lazy_ok]
                if project and not any(n in lazy_ok for n in names):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {fn.name} imports {project[0]}")
    assert found == []


# --- every component's Args: one field name and one type per concern (issue #16) ---------------------------------

def _args_dataclasses() -> list[type]:
    """Every `*Args` dataclass the components define (imported, so a renamed field cannot hide in a comment)."""
    import dataclasses
    found = []
    for module_name in sorted(MODULES):
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if (isinstance(value, type) and value.__module__ == module_name and value.__name__.endswith("Args")
                    and dataclasses.is_dataclass(value)):
                found.append(value)
    return found


ARGS = _args_dataclasses()
RESOURCES = "Sequence[pulumi.Resource]"
# One spelling per concern: the field's name, and the annotation it has wherever it appears.
ONE_SPELLING = {
    "depends_on": RESOURCES,  # and `<provider>_depends_on` for a second kind (below)
    "tags": "Mapping[str, str]",
    "protect": "bool",
    "location": "str",
    "resource_group_name": "pulumi.Input[str]",
    # Application security group id per private-endpoint class (components/planning/data_paths.py).
    "endpoint_asg_ids": "Mapping[str, pulumi.Input[str]]",
}


def _args_problems(classes: list[type]) -> list[str]:
    """The convention: dependencies are `depends_on` (a second kind `<provider>_depends_on`), never `after`/`*_after`;
    private-endpoint ASG ids are one mapping `endpoint_asg_ids`, never a single `*_asg_id`; tags, protection,
    location and resource group have one name and one type."""
    import dataclasses
    problems = []
    for cls in classes:
        for f in dataclasses.fields(cls):
            where, annotation = f"{cls.__name__}.{f.name}", str(f.type).replace(" ", "").replace(",", ", ")
            if f.name == "after" or f.name.endswith("_after"):
                problems.append(f"{where}: a dependency is `depends_on` (or `<provider>_depends_on`)")
            if "depend" in f.name and not (f.name == "depends_on" or f.name.endswith("_depends_on")):
                problems.append(f"{where}: a dependency is `depends_on` (or `<provider>_depends_on`)")
            if f.name.endswith("_depends_on") and annotation != RESOURCES:
                problems.append(f"{where}: typed {annotation}, not {RESOURCES}")
            if f.name.endswith("_asg_id") or ("asg_ids" in f.name and f.name != "endpoint_asg_ids"):
                problems.append(f"{where}: private-endpoint ASG ids are one mapping, `endpoint_asg_ids`")
            if (f.name.startswith("protect") or "tag" in f.name) and f.name not in ONE_SPELLING:
                problems.append(f"{where}: spelt `protect` or `tags` everywhere else")
            expected = ONE_SPELLING.get(f.name)
            if expected is not None and annotation != expected:
                problems.append(f"{where}: typed {annotation}, elsewhere {expected}")
    return problems


def test_every_component_args_is_found() -> None:
    names = {cls.__name__ for cls in ARGS}
    assert {"SecureWorkspaceArgs", "DatabricksNetworkArgs", "WorkspaceAccessArgs", "AksClusterArgs",
            "PrivateLinkArgs", "ServerlessConnectivityArgs"} <= names, names
    assert len(ARGS) >= 19


def test_every_component_args_spells_a_concern_one_way() -> None:
    assert _args_problems(ARGS) == []


def test_the_args_check_catches_a_concern_spelt_another_way() -> None:
    import dataclasses
    from collections.abc import Mapping, Sequence  # noqa: F401 - the annotations below name them

    @dataclasses.dataclass
    class BadArgs:
        location: str
        tags: dict[str, str]
        after: Sequence[pulumi.Resource] = ()
        databricks_after: Sequence[pulumi.Resource] = ()
        account_depends_on: list[str] = dataclasses.field(default_factory=list)
        endpoint_asg_id: str | None = None
        protect_data: bool = False

    problems = _args_problems([BadArgs])
    assert [p.split(":")[0] for p in problems] == [
        "BadArgs.tags", "BadArgs.after", "BadArgs.databricks_after", "BadArgs.account_depends_on",
        "BadArgs.endpoint_asg_id", "BadArgs.protect_data"], problems
