"""The protocol library keeps its documentation contract.

Every public function of every ``protocol`` module shows how it is called: its docstring holds a
usage example (``>>>``), the README names it, and every example runs (doctest) and gives what it
shows. Public means listed in the module's ``__all__``, or, without one, defined in the module
under a name without a leading underscore.
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import re
from pathlib import Path
from types import FunctionType, ModuleType

import pytest

import protocol

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _modules() -> list[ModuleType]:
    found: list[ModuleType] = []
    todo = [(list(protocol.__path__), "protocol.")]
    while todo:
        paths, prefix = todo.pop()
        for info in pkgutil.iter_modules(paths, prefix):
            if info.name.rsplit(".", 1)[1].startswith("_"):
                continue
            module = importlib.import_module(info.name)
            found.append(module)
            if info.ispkg:
                todo.append((list(module.__path__), info.name + "."))
    return sorted(found, key=lambda m: m.__name__)


MODULES = _modules()


def _public_functions() -> list[tuple[str, FunctionType]]:
    found = []
    for module in MODULES:
        listed = getattr(module, "__all__", None)
        names = listed if listed is not None else [n for n in vars(module) if not n.startswith("_")]
        for name in names:
            value = getattr(module, name)
            if inspect.isfunction(value) and (listed is not None
                                              or value.__module__ == module.__name__):
                found.append((f"{module.__name__}.{name}", value))
    return found


FUNCTIONS = _public_functions()


def test_the_public_functions_are_found() -> None:
    names = {name for name, _ in FUNCTIONS}
    assert {"protocol.keys.generate_rsa", "protocol.keys.load_private_pem",
            "protocol.jcs.canonicalize", "protocol.httpsig.verify_request"} <= names
    assert len(names) > 80


@pytest.mark.parametrize(("name", "function"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_every_public_function_has_a_usage_example(name: str, function: FunctionType) -> None:
    assert ">>>" in (function.__doc__ or ""), f"{name} has no usage example in its docstring"


@pytest.mark.parametrize(("name", "function"), FUNCTIONS, ids=[n for n, _ in FUNCTIONS])
def test_the_readme_names_every_public_function(name: str, function: FunctionType) -> None:
    assert re.search(rf"\b{function.__name__}\b", README), f"README.md does not name {name}"


@pytest.mark.parametrize("module", MODULES, ids=[m.__name__ for m in MODULES])
def test_the_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0
