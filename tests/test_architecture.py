"""The architecture of docs/architecture.md, checked on the source: which package may import
which, and how long a product function may grow. Reading the code with `ast` (nothing is
imported or run), so a rule broken anywhere fails here, not in review.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import ROOT

PRODUCT = ("zeues", "spools", "occupation", "dashboard", "supervision")
LOCAL_BACKEND = "spools/workbook/local_sheet"
GATEWAY = "spools/workbook/gateway.py"
# What speaks HTTP to a workbook (or builds its client).
WORKBOOK_CLIENTS = ("gspread", "google", "requests", "urllib3", "httpx", "http.client")
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    path: str  # the importing file, relative to the project
    line: int
    module: str  # what it imports, absolute (`spools.models`, `gspread.exceptions`)


def python_files(*tops: str) -> list[Path]:
    return sorted(p for top in tops for p in (ROOT / top).rglob("*.py"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def imports_of(path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    package = rel(path).removesuffix(".py").replace("/", ".").rsplit(".", 1)[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(rel(path), node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found += [Import(rel(path), node.lineno, f"{base}.{a.name}") for a in node.names]
    return found


def is_under(module: str, *packages: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def broken(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [
        f"{i.path}:{i.line} imports {i.module}"
        for f in files
        for i in imports_of(f)
        if is_under(i.module, *forbidden)
    ]


def test_apps_import_one_way_dashboard_then_occupation_then_spools():
    assert broken(python_files("spools"), ("occupation", "dashboard", "supervision")) == []
    assert broken(python_files("occupation"), ("dashboard", "supervision")) == []


def test_supervision_reads_only_the_record_and_only_the_dashboard_reads_it():
    """The reports stand on `spools` alone; the wall's quality panel borrows their queries."""
    assert broken(python_files("supervision"), ("occupation", "dashboard")) == []
    assert any(
        is_under(i.module, "supervision") for f in python_files("dashboard") for i in imports_of(f)
    )


def test_only_the_gateway_and_the_local_backend_reach_a_workbook():
    allowed = {GATEWAY} | {rel(p) for p in python_files(LOCAL_BACKEND)}
    others = [p for p in python_files(*PRODUCT) if rel(p) not in allowed]
    assert broken(others, WORKBOOK_CLIENTS) == []


def test_the_local_backend_imports_nothing_from_django_or_the_apps():
    assert broken(python_files(LOCAL_BACKEND), ("django", "channels")) == []
    outside = [
        f"{i.path}:{i.line} imports {i.module}"
        for f in python_files(LOCAL_BACKEND)
        for i in imports_of(f)
        if is_under(i.module, *PRODUCT) and not is_under(i.module, "spools.workbook.local_sheet")
    ]
    assert outside == []


def test_nothing_imports_the_bench_or_the_tests():
    assert broken(python_files(*PRODUCT), ("bench", "tests")) == []
    assert broken(python_files("tests"), ("bench",)) == []


def long_functions(path: Path) -> list[str]:
    """Functions over MAX_FUNCTION_LINES with no `# long: <why>` comment right above them."""
    lines = path.read_text().splitlines()
    found = []
    for node in ast.walk(ast.parse("\n".join(lines))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        length = node.end_lineno - node.lineno + 1
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        above = lines[first - 2].strip() if first >= 2 else ""
        if length > MAX_FUNCTION_LINES and not above.startswith("# long:"):
            found.append(f"{rel(path)}:{node.lineno} {node.name} ({length} lines)")
    return found


@pytest.mark.parametrize("top", PRODUCT)
def test_no_product_function_is_longer_than_a_screen(top):
    files = [p for p in python_files(top) if "/migrations/" not in rel(p)]
    assert [f for p in files for f in long_functions(p)] == []


def test_the_checks_see_the_code_they_guard():
    """A rule that finds no files would pass forever."""
    assert any(i.module.startswith("gspread") for i in imports_of(ROOT / GATEWAY))
    assert python_files(LOCAL_BACKEND)
    spools_imports = [i for f in python_files("occupation") for i in imports_of(f)]
    assert any(is_under(i.module, "spools") for i in spools_imports)
