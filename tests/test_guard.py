"""A tool-enforced guard: web modules never query health-data models directly.

Views and (later) API modules must go through the services, which ask
access.policy and write the audit trail. A direct ``Model.objects`` on a
health-data model in such a module fails this test.
"""

import ast
from pathlib import Path

from django.apps import apps

ROOT = Path(__file__).resolve().parent.parent / "espace_sante"
HEALTH_APPS = ("record", "crypto", "messaging", "pharmacy")


def health_models() -> set[str]:
    names = set()
    for label in HEALTH_APPS:
        names |= {model.__name__ for model in apps.get_app_config(label).get_models()}
    names.add("AuditEntry")
    return names


def door_modules() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if path.name in ("views.py", "api.py")
        or path.name.endswith(("_views.py", "_api.py"))
        or "fhir" in path.parts
    )


def direct_queries(path: Path, forbidden: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(ROOT.parent) if path.is_relative_to(ROOT.parent) else path
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr in ("objects", "_default_manager")
            and isinstance(node.value, ast.Name)
            and node.value.id in forbidden
        ):
            found.append(f"{where}:{node.lineno} {node.value.id}.objects")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("get_object_or_404", "get_list_or_404")
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in forbidden
        ):
            found.append(f"{where}:{node.lineno} {node.func.id}")
    return found


def test_no_view_queries_health_data_around_the_policy():
    forbidden = health_models()
    modules = door_modules()
    assert modules, "aucun module de vues trouvé"
    offences = [hit for path in modules for hit in direct_queries(path, forbidden)]
    assert offences == [], "Accès direct à des données de santé hors des services :\n" + "\n".join(
        offences
    )


def test_the_guard_catches_a_direct_query(tmp_path):
    sample = tmp_path / "views.py"
    sample.write_text(
        "def view(request, pk):\n"
        "    document = Document.objects.get(pk=pk)\n"
        "    return get_object_or_404(Measure, pk=pk)\n"
    )
    hits = direct_queries(sample, {"Document", "Measure"})
    assert sorted(hit.rsplit(" ", 1)[1] for hit in hits) == [
        "Document.objects",
        "get_object_or_404",
    ]
