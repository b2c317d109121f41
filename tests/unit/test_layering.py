"""The layering rules of docs/architecture.md, read from the source with `ast` (nothing is
imported): between domain packages only `service` and `schemas` are imported, shared modules
import no domain package, and no two packages import each other, directly or around a loop."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "memory_service"

DOMAIN = {
    "handoffs",
    "inbox",
    "learnings",
    "recall",
    "admin",
    "audit",
    "auth",
    "health",
    "feedback",
    "usage",
    "forgetting",
    "console",
    "insights",
    "review",
}
SHARED = {
    "vocabulary",
    "models",
    "db",
    "tenancy",
    "deps",
    "errors",
    "config",
    "embeddings",
    "vectors",
    "names",
    "ids",
    "projects",
    "hygiene",
    "embedded_handles",
    "onnx_backend",
}
PUBLIC = {"service", "schemas"}

# (importing package or module, imported module): each with why it may.
ALLOWED = {
    # The app composes the packages: it mounts their routers (and the handoff body schema the
    # handoff route reads itself).
    *{("app", f"memory_service.{p}.routes") for p in DOMAIN - {"auth"}},
    # ... and builds the state every request reads: the database's liveness (for /healthz)
    # and the row counts search plans with, which state.py names for their types only.
    ("app", "memory_service.health.liveness"),
    ("app", "memory_service.recall.stats"),
    ("state", "memory_service.health.liveness"),
    ("state", "memory_service.recall.stats"),
    # Who may manage keys, teams and the audit trail is auth's published policy: the admin and
    # audit services apply the same rules the routes' `Admin` dependency names.
    ("admin", "memory_service.auth.policy"),
    ("audit", "memory_service.auth.policy"),
    # ... and so does the forgetting policy's service (a team-wide setting and deletion).
    ("forgetting", "memory_service.auth.policy"),
    # The CLI parses the scopes the operator typed the way keys store them.
    ("cli", "memory_service.auth.keys"),
}
# Shared modules that cannot do without a domain package's public module, and why.
SHARED_EXCEPTIONS = {
    # Every authenticated endpoint depends on the key's principal.
    ("deps", "memory_service.auth.service"),
    # The per-project access rule is the principal's (`Principal.may_access`).
    ("projects", "memory_service.auth.service"),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _exists(module: str) -> bool:
    base = ROOT.parent.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_only(tree: ast.Module) -> set[ast.AST]:
    """The import statements under `if TYPE_CHECKING:`, which never run."""
    return {
        stmt
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING")
        for stmt in node.body
    }


def _imports(path: Path, module: str, *, typing: bool = True) -> Iterator[str]:
    """Every memory_service module `path` imports (`from pkg import mod` names `pkg.mod`);
    without `typing`, only those imported when the module runs."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = set() if typing else _type_only(tree)
    for node in ast.walk(tree):
        if node in skip:
            continue
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("memory_service"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            if not base.startswith("memory_service"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield sub if _exists(sub) else base


def _package(module: str) -> str:
    """`memory_service.recall.brief` -> `recall`; a top-level module is its own package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _edges(*, typing: bool = True) -> list[tuple[str, str]]:
    """(importing module, imported module) across packages; without `typing`, the imports
    under `if TYPE_CHECKING:` left out."""
    edges = []
    for path in sorted(ROOT.rglob("*.py")):
        module = _module_name(path)
        for target in _imports(path, module, typing=typing):
            if _package(target) != _package(module) and target != "memory_service":
                edges.append((module, target))
    return edges


def _violations(edges: list[tuple[str, str]]) -> list[str]:
    found = []
    for source, target in edges:
        src, dst = _package(source), _package(target)
        if dst not in DOMAIN:
            continue
        if src in SHARED:
            if (src, target) not in SHARED_EXCEPTIONS:
                found.append(f"shared {source} imports domain {target}")
            continue
        if target.split(".")[-1] in PUBLIC and target.count(".") == 2:
            continue
        if (src, target) not in ALLOWED:
            found.append(f"{source} imports {target}, internal to {dst}")
    return found


def _cycles(edges: list[tuple[str, str]]) -> list[list[str]]:
    graph: dict[str, set[str]] = {}
    for source, target in edges:
        graph.setdefault(_package(source), set()).add(_package(target))
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    return cycles


def test_the_scan_sees_the_packages() -> None:
    packages = {_package(m) for _, m in _edges()}
    assert not DOMAIN - packages
    assert ("memory_service.app", "memory_service.handoffs.routes") in _edges()


def test_packages_import_only_each_others_service_and_schemas() -> None:
    assert _violations(_edges()) == []


def test_no_import_cycles_between_packages() -> None:
    # An import for type annotations only never runs, so it cannot close a loop.
    assert _cycles(_edges(typing=False)) == []


def test_a_new_violation_is_caught() -> None:
    edges = [
        ("memory_service.inbox.service", "memory_service.handoffs.queries"),
        ("memory_service.vectors", "memory_service.recall.service"),
        ("memory_service.handoffs.service", "memory_service.audit.service"),
        ("memory_service.audit.service", "memory_service.handoffs.service"),
    ]
    assert len(_violations(edges)) == 2
    assert _cycles(edges) == [["audit", "handoffs", "audit"]]


def test_no_two_server_classes_share_a_name() -> None:
    """A table and its response shape, or a service's result and a schema, under one name
    make every module that needs both alias one of them: names are distinct (HandoffRow is the
    table's, Handoff the API's)."""
    seen: dict[str, list[str]] = {}
    for path in ROOT.rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ClassDef):
                seen.setdefault(node.name, []).append(str(path.relative_to(ROOT)))
    assert {name: where for name, where in seen.items() if len(where) > 1} == {}
