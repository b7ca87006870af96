"""A Python client of the API as an integrator makes one: openapi-python-client, with the
settings README's "Generate a client" gives (gateway/openapi-python-client.yaml)."""
import importlib
import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

GENERATOR = Path(sys.executable).parent / "openapi-python-client"
GENERATOR_CONFIG = Path(__file__).resolve().parents[2] / "gateway" / "openapi-python-client.yaml"


def generate(document: dict, directory: Path, package="csops_client"):
    """Generate the client of ``document`` into ``directory``/``package``: (its folder, the
    generator's warnings)."""
    (directory / "openapi.json").write_text(json.dumps(document))
    config = yaml.safe_load(GENERATOR_CONFIG.read_text())
    config["post_hooks"] = []  # formatting the code (ruff) is the integrator's choice, not what is tested
    (directory / "config.yaml").write_text(yaml.safe_dump(config))
    run = subprocess.run([str(GENERATOR), "generate", "--path", "openapi.json", "--config", "config.yaml",
                          "--meta", "none", "--output-path", package],
                         cwd=directory, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    return directory / package, warnings(run.stdout + run.stderr)


def warnings(output):
    """The generator's complaints: blocks after its "Warning(s) encountered" line."""
    _, _, rest = output.partition("Warning(s) encountered")
    return [block.strip() for block in re.split(r"\n\s*\n", rest.partition("\n")[2])
            if re.match(r"(WARNING|Unable|Cannot|Found)", block.strip())]


def load(package: Path):
    """Import the generated package (from its folder)."""
    sys.path.insert(0, str(package.parent))
    try:
        return importlib.import_module(package.name)
    finally:
        sys.path.remove(str(package.parent))
