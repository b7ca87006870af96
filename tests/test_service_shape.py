"""Every backend service of plumbing.services has the one shape (docs/adding-a-service.md).

Each failure names the file and the rule it breaks:
- the package's top level holds only __init__, service, contract, models, events, metrics
  and migrations/; everything else lives in a feature package, which has handlers.py;
- service.py holds one class, the one plumbing.services runs, whose only base is
  PlatformService and whose members are the service's name, dependency providers and
  entrypoints, each a few statements that hand the call to a handler;
- no other class of the package defines entrypoints (no mixins);
- rules.py modules are pure: no nameko, no SQLAlchemy, not the service's models or handlers;
- contract.py imports only the standard library, marshmallow and plumbing.{schemas,privacy,text}.
"""
import ast
import importlib
import importlib.util
import inspect
import pkgutil
import sys
from pathlib import Path

import pytest
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR, DependencyProvider

from plumbing.service import PlatformService
from plumbing.services import BACKENDS
from tests.conftest import ROOT

TOP_LEVEL = {"__init__.py", "service.py", "contract.py", "models.py", "events.py", "metrics.py", "migrations"}
ENTRYPOINT_STATEMENTS = 3
CONTRACT_MAY_IMPORT = ("marshmallow", "plumbing.schemas", "plumbing.privacy", "plumbing.text")
SERVICES = {process.name: process for process in BACKENDS}


def package_dir(service):
    return Path(importlib.util.find_spec(service).submodule_search_locations[0])


def shown(path):
    path = Path(path)
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def features(service):
    """The feature packages: every subpackage but migrations/."""
    return sorted(path.parent for path in package_dir(service).glob("*/__init__.py") if path.parent.name != "migrations")


def modules(service):
    """Every module of the package but its migrations, by dotted name."""
    return [service] + [info.name for info in pkgutil.walk_packages([str(package_dir(service))], f"{service}.")
                        if ".migrations" not in info.name]


def imported(path, package):
    """Every name ``path`` imports, dotted (``from a import b`` is a.b), relative imports resolved against
    ``package`` (the dotted package the module is in)."""
    found = set()
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(module, prefix):
    return module == prefix or module.startswith(prefix + ".")


def stray_imports(path, package, stray, rule):
    """One line naming what ``path`` imports that ``stray(module)`` refuses, and the rule."""
    strays = [module for module in sorted(imported(path, package)) if stray(module)]
    return [f"{shown(path)}: imports {', '.join(strays)}; {rule}"] if strays else []


def no_strays(problems):
    assert not problems, "\n".join(["strays from the shape of docs/adding-a-service.md:", *problems])


def statements(function):
    """Statements in ``function``'s body (nested ones too), its docstring left out."""
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    return sum(isinstance(node, ast.stmt) for statement in body for node in ast.walk(statement))


@pytest.mark.parametrize("service", SERVICES)
def test_the_top_level_holds_only_the_fixed_modules(service):
    top = package_dir(service)
    strays = [f"{shown(path)}: not one of the top-level modules ({', '.join(sorted(TOP_LEVEL))}); move it into "
              "the feature package it belongs to" for path in sorted(top.glob("*.py")) if path.name not in TOP_LEVEL]
    missing = [f"{shown(top / name)}: missing (every service has it)" for name in sorted(TOP_LEVEL)
               if not (top / name).exists()]
    no_strays(strays + missing)


@pytest.mark.parametrize("service", SERVICES)
def test_every_feature_package_has_handlers_and_says_what_it_is(service):
    problems = []
    for feature in features(service):
        if not (feature / "handlers.py").exists():
            problems.append(f"{shown(feature)}/: a feature package without handlers.py (its use cases)")
        if not ast.get_docstring(ast.parse((feature / "__init__.py").read_text())):
            problems.append(f"{shown(feature / '__init__.py')}: no docstring saying what the feature is")
    no_strays(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_service_py_is_one_class_of_dependencies_and_short_entrypoints(service):
    path = package_dir(service) / "service.py"
    tree = ast.parse(path.read_text())
    module_name, class_name = SERVICES[service].service_class.split(":")
    problems = [f"{shown(path)}:{node.lineno}: class {node.name}; service.py holds one class, {class_name} "
                "(the one plumbing.services runs)" for node in tree.body
                if isinstance(node, ast.ClassDef) and node.name != class_name]
    [body] = [node.body for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name]
    cls = getattr(importlib.import_module(module_name), class_name)
    if cls.__bases__ != (PlatformService,):
        problems.append(f"{shown(path)}: {class_name}'s bases are {', '.join(base.__name__ for base in cls.__bases__)}; "
                        "its only base is PlatformService (no mixins)")
    for node in body:
        where = f"{shown(path)}:{node.lineno} {class_name}"
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and node is body[0]:
            continue  # the docstring
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                name = getattr(target, "id", ast.unparse(target))
                value = cls.__dict__.get(name)
                if not (isinstance(value, DependencyProvider) or (name == "name" and value == service)):
                    problems.append(f"{where}.{name}: neither a dependency provider nor the service's name "
                                    "(the class holds no other state)")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not getattr(cls.__dict__.get(node.name), ENTRYPOINT_EXTENSIONS_ATTR, None):
                problems.append(f"{where}.{node.name}: not an entrypoint (helpers go in a feature's handlers)")
            elif statements(node) > ENTRYPOINT_STATEMENTS:
                problems.append(f"{where}.{node.name}: {statements(node)} statements; an entrypoint hands the call "
                                f"to a handler in at most {ENTRYPOINT_STATEMENTS}")
        else:
            problems.append(f"{where}: {type(node).__name__} in the class body (only dependencies and entrypoints)")
    no_strays(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_no_other_class_defines_entrypoints(service):
    own_class = SERVICES[service].service_class.replace(":", ".")
    problems = []
    for name in modules(service):
        module = importlib.import_module(name)
        for cls_name, cls in vars(module).items():
            if not inspect.isclass(cls) or cls.__module__ != name or f"{name}.{cls_name}" == own_class:
                continue
            entrypoints = sorted(attr for attr, value in vars(cls).items()
                                 if getattr(value, ENTRYPOINT_EXTENSIONS_ATTR, None))
            if entrypoints:
                problems.append(f"{shown(module.__file__)}: {cls_name} defines entrypoints ({', '.join(entrypoints)}); "
                                "every entrypoint is in service.py (no mixins)")
    no_strays(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_rules_are_pure(service):
    forbidden = ("nameko", "sqlalchemy", f"{service}.models")
    problems = []
    for path in sorted(package_dir(service).rglob("rules.py")):
        package = ".".join((service, *path.parent.relative_to(package_dir(service)).parts))
        problems += stray_imports(
            path, package, lambda module: any(within(module, prefix) for prefix in forbidden)
            or "handlers" in module.split("."), "the rules import no nameko, no SQLAlchemy, not the models nor the handlers")
    no_strays(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_the_contract_imports_only_the_standard_library_marshmallow_and_plumbing_schemas(service):
    path = package_dir(service) / "contract.py"
    assert path.exists(), f"{shown(path)}: missing"
    # and the service's own pure rules, for a validator that needs one (monitoring's watch-rule query language)
    no_strays(stray_imports(
        path, service, lambda module: not (module.split(".")[0] in sys.stdlib_module_names
                                           or any(within(module, allowed) for allowed in CONTRACT_MAY_IMPORT)
                                           or (within(module, service) and module.endswith(".rules"))),
        f"a contract imports only the standard library, {', '.join(CONTRACT_MAY_IMPORT)} and its own rules"))
