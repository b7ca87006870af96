"""bench/: one script per scenario, sharing only bench/kit/, each named in bench/README.md."""
import ast

from tests.conftest import ROOT

BENCH = ROOT / "bench"
SCRIPTS = sorted(BENCH.glob("*.py"))


def imported_modules(path):
    tree = ast.parse(path.read_text())
    return {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names} \
        | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_no_script_imports_another():
    scripts = {path.stem for path in SCRIPTS}
    assert {path.name: sorted(imported_modules(path) & scripts) for path in SCRIPTS
            if imported_modules(path) & scripts} == {}


def test_the_kit_imports_no_script():
    scripts = {path.stem for path in SCRIPTS}
    assert {path.name: sorted(imported_modules(path) & scripts) for path in sorted((BENCH / "kit").glob("*.py"))
            if imported_modules(path) & scripts} == {}


def test_the_readme_says_what_each_script_measures():
    readme = (BENCH / "README.md").read_text()
    assert [path.name for path in SCRIPTS if f"| `{path.name}`" not in readme] == []
