"""The gateway knows the services by their contracts only (issue 15): importing it
loads no service's models, handlers or service class, and nothing of the
machine learning the services use."""
import json
import os
import subprocess
import sys

from plumbing.services import BACKEND_NAMES

FORBIDDEN_PACKAGES = ("sklearn", "numpy", "datasketch")


def modules_loaded_by(statement):
    """``sys.modules`` of a fresh interpreter (this one's path) after ``statement``."""
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout)


def within(module, package):
    return module == package or module.startswith(f"{package}.")


def test_importing_the_gateway_loads_only_the_services_contracts():
    loaded = modules_loaded_by("import gateway.service")
    heavy = sorted({module.split(".")[0] for module in loaded} & set(FORBIDDEN_PACKAGES))
    of_backends = [module for module in loaded if any(within(module, backend) for backend in BACKEND_NAMES)]
    layers = [module for module in of_backends if module.rsplit(".", 1)[-1] in ("models", "service", "handlers")]
    # of a backend package, the package itself and its contract; a module a contract needs moves into it
    allowed = {*BACKEND_NAMES, *(f"{backend}.contract" for backend in BACKEND_NAMES)}
    beyond_contracts = [module for module in of_backends if module not in allowed]
    assert not (heavy or layers or beyond_contracts), (
        f"importing gateway.service loads {heavy}; models, service classes or handlers: {layers}; "
        f"service modules besides the contracts: {beyond_contracts}")
