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


def test_channels_mail_runs_in_its_quick_mode(tmp_path):
    """bench/channels_mail.py --quick (50 mails each way, a 1 MiB attachment, ~15 s): every figure
    there, every mail in a ticket and every mail out sent. Needs PostgreSQL, as the script does."""
    import json
    import os
    import subprocess
    import sys

    paths = [str(ROOT / part) for part in ("plumbing", "services/ticketing", "services/channels", "bench")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths + [os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(BENCH / "channels_mail.py"), "--quick", "--out", str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "inbound: 50/50" in done.stdout  # progress shown while it runs
    figures = json.loads((tmp_path / "channels_mail_quick.json").read_text())
    assert sum(figures["inbound"]["outcomes"].values()) == 50
    assert set(figures["inbound"]["outcomes"]) <= {"opened", "replied"}
    assert figures["outbound"]["sent"] == 50
    assert figures["attachment"]["outcome"] == "opened" and figures["attachment"]["peak_rss_delta_bytes"] > 0
    for way in ("inbound", "outbound"):
        assert figures[way]["per_second"] > 0 and figures[way]["baseline_per_second"] > 0
