"""Imports inside an app run one way: from a higher layer (subpackage) to a lower one, never back up.

Every import is walked, including those inside functions, so a lazy import cannot hide an upward one.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Highest first. A top-level module or package of the app not named here fails the test, so a new
# one has to be given its layer.
LAYERS = {
    "calls": [
        {"admin", "apps", "urls", "routing", "tasks", "demo_call", "management", "migrations"},
        {"edges"},
        {"registry"},
        {"verification"},
        {"tools"},
        {"session"},
        {"models", "outcomes", "contract"},
    ],
    "ehr_integrations": [
        {"admin", "apps", "urls", "views", "tasks", "management", "migrations"},
        {"setup"},
        {"scheduling"},
        {"fhir"},
        {"normalize"},
        {"auth"},
        {"transport"},
        {"models", "errors", "presets", "identity", "query_plans", "address_policy", "scope_grammar"},
    ],
}
# The sandbox EHR is a stand-in for a vendor's server: it imports nothing of the gateway, and only the
# entry points (its management command) import it.
APART = {"ehr_integrations": {"sandbox"}}
ENTRY = 0  # index in LAYERS of the entry points


def _rank(app: str, name: str) -> int:
    for rank, names in enumerate(reversed(LAYERS[app])):
        if name in names:
            return rank
    raise AssertionError(f"{app}.{name} has no layer in tests/architecture/test_layers.py")


def _top(module: str) -> str:
    return module.split(".")[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def _violations(app: str) -> list[str]:
    problems = []
    for path in sorted((ROOT / app).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if len(parts) < 2 or parts[1] == "__init__":
            continue
        own = parts[1]
        apart = own in APART.get(app, set())
        for line, target in _imports(path):
            if not target.startswith(f"{app}.") or target.count(".") < 1:
                continue
            other = _top(target)
            if other == own:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if other in APART.get(app, set()) and own in LAYERS[app][ENTRY]:
                continue
            if apart or other in APART.get(app, set()):
                problems.append(f"{where} (the sandbox stands apart)")
            elif _rank(app, other) > _rank(app, own):
                problems.append(f"{where} (upward)")
    return problems


@pytest.mark.parametrize("app", sorted(LAYERS))
def test_imports_run_from_higher_layers_to_lower_ones(app: str) -> None:
    assert _violations(app) == []


def test_every_top_level_module_has_a_layer() -> None:
    for app in LAYERS:
        for path in (ROOT / app).iterdir():
            if path.name.startswith(("_", ".")) or (path.is_file() and path.suffix != ".py"):
                continue
            if path.is_dir() and not any(path.rglob("*.py")):  # templates, static: no code to layer
                continue
            if path.name in APART.get(app, set()):
                continue
            _rank(app, path.stem)
