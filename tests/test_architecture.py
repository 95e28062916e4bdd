"""The rooms and their doors, read from the source: who imports whom, who opens a unit of
work, and who changes a query's status. A new shortcut through a wall fails here first."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("classifier", "kb", "ingest", "bot", "web", "config")
#: Which of our packages each package may import.
ALLOWED = {
    "classifier": {"classifier"},
    "kb": {"kb", "classifier"},
    "ingest": {"ingest", "kb", "classifier"},
    "bot": {"bot", "kb", "classifier"},
    "web": {"web", "kb", "classifier"},
    "config": set(PACKAGES),
}


def modules():
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield package, path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def imported_packages(tree: ast.AST) -> set[str]:
    """Our packages a module imports, at the top or inside a function (lazy imports count too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in PACKAGES}
    return found


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_each_package_imports_only_what_its_room_allows():
    edges: dict[str, set[str]] = {p: set() for p in PACKAGES}
    wrong = []
    for package, path, tree in modules():
        used = imported_packages(tree)
        edges[package] |= used - {package}
        wrong += [f"{relative(path)} imports {other}" for other in sorted(used - ALLOWED[package])]
    assert wrong == []
    # The graph as it stands: adapters lean on kb, kb on classifier, and only config sees everything.
    assert edges["classifier"] == set() and edges["kb"] == {"classifier"}
    assert "config" not in edges["bot"] | edges["ingest"] | edges["web"] | edges["kb"]


def test_only_the_service_opens_a_unit_of_work():
    """Adapters and helpers get plain values from service calls; none holds a session factory."""
    offenders = []
    for package, path, tree in modules():
        name = relative(path)
        for node in ast.walk(tree):
            called = isinstance(node, ast.Call) and (
                (isinstance(node.func, ast.Name) and node.func.id in ("unit_of_work", "Session", "sessionmaker"))
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "sessions"))
            if called and name not in ("kb/db.py", "kb/service/core.py"):
                offenders.append(f"{name}:{node.lineno}")
            reads_sessions = isinstance(node, ast.Attribute) and node.attr == "sessions"
            if reads_sessions and package in ("bot", "ingest", "web"):
                offenders.append(f"{name}:{node.lineno} reaches for the service's sessions")
    assert offenders == []


def test_only_the_life_cycle_assigns_a_query_status():
    offenders = []
    for _, path, tree in modules():
        for node in ast.walk(tree):
            targets = node.targets if isinstance(node, ast.Assign) else \
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            for target in targets:
                for element in (target.elts if isinstance(target, ast.Tuple) else [target]):
                    if isinstance(element, ast.Attribute) and element.attr == "status":
                        offenders.append(f"{relative(path)}:{node.lineno}")
    assert all(o.startswith("kb/lifecycle.py:") for o in offenders), offenders
    assert offenders, "the life cycle itself must be found assigning statuses, or this test reads nothing"


@pytest.mark.parametrize("package", ["kb", "classifier"])
def test_the_inner_rooms_never_build_telegram_buttons_or_mime(package):
    for _, path, tree in modules():
        if not relative(path).startswith(package + "/"):
            continue
        text = path.read_text(encoding="utf-8")
        assert "InlineKeyboard" not in text and "EmailMessage" not in text, relative(path)
        assert '"buttons"' not in text, f"{relative(path)} puts buttons in stored data"
