"""Every import of our own code names a module and a name that exist.

Imports inside functions (used to break start-up order) only fail when the
function runs; a module moved or a name renamed must fail here instead.
"""

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def own_imports():
    for path in sorted((ROOT / "espace_sante").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        package = path.relative_to(ROOT).with_suffix("").parts[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom):
                continue
            module = node.module or ""
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                module = ".".join(base + ([module] if module else []))
            if module.startswith("espace_sante"):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                yield where, module, [alias.name for alias in node.names]


def test_every_import_of_our_code_resolves():
    broken = []
    for where, module, names in own_imports():
        try:
            found = importlib.import_module(module)
        except ImportError as error:
            broken.append(f"{where} {module}: {error}")
            continue
        for name in names:
            if name == "*" or hasattr(found, name):
                continue
            try:
                importlib.import_module(f"{module}.{name}")
            except ImportError:
                broken.append(f"{where} {module}.{name}")
    assert broken == []
