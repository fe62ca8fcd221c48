"""Tool-enforced guards on health data (architecture rules 1 and 2).

1. Web modules never query health-data models directly: views and API
   modules go through the services, which ask access.policy and write the
   audit trail. A direct ``Model.objects`` on a patient-owned model in such a
   module fails ``test_no_view_queries_health_data_around_the_policy``.
2. Every query on a patient-owned table names one patient
   (``test_every_query_on_a_patient_table_names_its_patient``), services
   included, unless ``UNSCOPED`` lists the function with its reason.

The patient-owned models are ``access.owned.patient_owned_models()``.

Limits of the second guard, an AST heuristic: it follows the call chain that
starts at ``<Model>.objects`` (or ``._default_manager``) where ``<Model>`` is
the class name of a patient-owned model, and looks for a keyword argument
naming the patient column (``patient``, ``patient_id``, ``patient__…`` or the
model's ``patient_field``), also inside ``Q(...)`` arguments, on any call of
that chain. It does not see queries through a variable holding a model
(``model.objects``), related managers (``person.documents``, scoped by
construction), raw SQL, nor a queryset built in one statement and filtered by
patient in the next; ``**kwargs`` filters count as unscoped. ``create``,
``bulk_create`` and ``bulk_update`` write rows that carry their own patient and
are not queries. A look-up by a primary key that comes from outside (an id in
a URL) needs an ``UNSCOPED`` entry: the heuristic cannot see the decision
that follows it.
"""

import ast
from pathlib import Path

from django.apps import apps  # noqa: F401 (the registry is ready when tests run)

from espace_sante.access.owned import patient_owned_models

ROOT = Path(__file__).resolve().parent.parent / "espace_sante"


def health_models() -> set[str]:
    return {model.__name__ for model in patient_owned_models()}


def door_modules() -> list[Path]:
    return sorted(
        path
        for path in ROOT.rglob("*.py")
        if path.name in ("views.py", "api.py")
        or path.name.endswith(("_views.py", "_api.py"))
        or "views" in path.parts  # an app's views/ package (one module per audience)
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


# Doors that may query a patient-owned model of their own app: "path model" -> reason.
DOOR_EXCEPTIONS = {
    "espace_sante/fhir/views.py SubmissionSet": (
        "the FHIR app's own table (ITI-65 sets: ids and dates, no health content), read for one "
        "open patient; which sets a reader sees is decided by record.visible_document_ids"
    ),
    "espace_sante/fhir/transactions.py SubmissionSet": (
        "written in the ITI-65 transaction, after record.deposit authorised every document "
        "of the set for the same patient"
    ),
}


def test_no_view_queries_health_data_around_the_policy():
    forbidden = health_models()
    modules = door_modules()
    assert modules, "aucun module de vues trouvé"
    offences = [
        hit
        for path in modules
        for hit in direct_queries(path, forbidden)
        if f"{hit.split(':')[0]} {hit.rsplit(' ', 1)[1].split('.')[0]}" not in DOOR_EXCEPTIONS
    ]
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


# --- Rule 2: every query on a patient-owned table names its patient ---------

# Functions allowed to query a patient-owned table without naming a patient:
# "module:function" -> reason. Keep each reason true; remove an entry when its
# function changes.
BY_OPAQUE_ID = (
    "resolves an opaque id the caller sent (URL, FHIR) to its row; the policy then decides "
    "on that row's patient"
)
BY_TASK_ID = "claims or reloads a task's row by its id (the task was enqueued with that id only)"
UNSCOPED = {
    # Background sweeps and maintenance across patients.
    "espace_sante.access.verification:verify": (
        "the audit verification walks every patient's chain (it lists the patients first)"
    ),
    "espace_sante.access.seals:current_heads": (
        "a seal signs every patient's chain head (the whole trail's state)"
    ),
    "espace_sante.access.audit_keys:_create_keyring": (
        "refuses a new audit HMAC key while any keyed entry exists"
    ),
    "espace_sante.crypto.kek:_create": "refuses a new KEK while any patient key exists",
    "espace_sante.crypto.rotation:rotate_kek": "KEK rotation counts the keys it cannot unwrap",
    "espace_sante.crypto.rotation:_rewrap_batch": "KEK rotation re-wraps every key, by batches",
    "espace_sante.crypto.rotation:kek_status": "operator statistics: keys per KEK (counts only)",
    "espace_sante.messaging.retention:apply_retention": "retention sweep of inactive conversations",
    "espace_sante.messaging.retention:warn_before_retention": "retention sweep: warnings due",
    "espace_sante.messaging.retention:_attached": (
        "orphan blob sweep: which stored names (under one patient's folder) have a row"
    ),
    "espace_sante.record.documents.idempotency:purge_deposit_keys": (
        "purge of the idempotency keys older than RECORD_IDEMPOTENCY_HOURS"
    ),
    "espace_sante.record.documents.deposit:sweep_orphan_blobs": (
        "orphan blob sweep: which stored names (under one patient's folder) have a row"
    ),
    # Tasks that hold only a row id.
    "espace_sante.access.emails:deliver": BY_TASK_ID,
    "espace_sante.messaging.notices:deliver_notification": BY_TASK_ID,
    "espace_sante.messaging.notices:notification_for": (
        "the conversation of a message in hand (same patient, by its foreign key)"
    ),
    # Entry points by an opaque id: the id is all the caller gives.
    "espace_sante.record.documents.reading:access_document": BY_OPAQUE_ID,
    "espace_sante.record.documents.reading:patient_of_document": BY_OPAQUE_ID,
    "espace_sante.agenda.services:patient_of_appointment": BY_OPAQUE_ID,
    "espace_sante.messaging.writing:access_conversation": BY_OPAQUE_ID,
    "espace_sante.messaging.writing:conversation_of_message": BY_OPAQUE_ID,
    "espace_sante.messaging.attachments:_open_attachment": BY_OPAQUE_ID,
    "espace_sante.pharmacy.services:access_order": BY_OPAQUE_ID,
    # Lists of the professionals' side, across patients by nature (see the indexes
    # excused in access.owned.ALLOWED_EXCEPTIONS).
    "espace_sante.messaging.reading:_professional_conversations": (
        "a professional's or an organisation's inbox (conv_pro, conv_organization)"
    ),
    "espace_sante.pharmacy.services:pharmacy_inbox": "a pharmacy's orders (rx_pharmacy_status)",
    "espace_sante.messaging.rules:check_rate": (
        "rate limit: what one author wrote in the last hour (msg_rate_pro, msg_rate_person)"
    ),
    "espace_sante.access.services:invite_caregiver": (
        "limit of people one aidant helps: counts the aidant's links across patients"
    ),
    "espace_sante.access.caseload:patients_of": (
        "the portal's home: a professional's consents and roles, his organisation's care "
        "teams (their foreign-key indexes)"
    ),
    "espace_sante.access.digest:send_digests": (
        "the digest job: who has unsent notifications (partial index on the unsent rows)"
    ),
    # The agenda's daily job (docs/agenda.md).
    "espace_sante.agenda.reminders:remind_appointments": (
        "tomorrow's booked appointments, all patients (agenda_appt_reminder)"
    ),
    # Known limit (docs/decisions/0008): a conditional PATCH may name no patient.
    "espace_sante.record.documents.deposit:find_own_deposit": (
        "conditional PATCH by masterIdentifier without a patient: five rows at most, "
        "kept to the caller's own deposits; scoped when the request names the patient"
    ),
    # Demo data.
    "espace_sante.demo.messaging:_backdate": "demo loader: the messages of a conversation in hand",
}

WRITES = {"create", "bulk_create", "bulk_update", "none"}


def owned_fields() -> dict[str, set[str]]:
    """Class name of each patient-owned model -> the keywords that name its patient."""
    fields = {}
    for model in patient_owned_models():
        fields[model.__name__] = {"patient", "patient_id", model.patient_field}
        if model._meta.pk.name == model.patient_field:  # keyed by patient: pk= names them
            fields[model.__name__] |= {"pk"}
    return fields


# Functions that scope the queryset they are given to one patient.
SCOPING_FUNCTIONS = {"visible_documents"}  # access.policy: filter(patient_id=…) first


def _names_patient(call: ast.Call, fields: set[str]) -> bool:
    for node in ast.walk(call):
        if isinstance(node, ast.keyword) and node.arg is not None:
            if node.arg in fields or node.arg.startswith("patient__"):
                return True
            # The row in hand (``pk=document.pk``): fetched, and decided on, before.
            if (
                node.arg in ("pk", "id")
                and isinstance(node.value, ast.Attribute)
                and node.value.attr in ("pk", "id")
            ):
                return True
    return False


def _passed_to_scoping_function(node: ast.AST, parents: dict) -> bool:
    call = parents.get(node)
    return (
        isinstance(call, ast.Call)
        and node in call.args
        and _model_name(call.func) in SCOPING_FUNCTIONS
    )


def _model_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def unscoped_queries(path: Path, owned: dict[str, set[str]]) -> list[str]:
    """``module:function line Model`` for each query chain on an owned model without a patient."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative = path.relative_to(ROOT.parent) if path.is_relative_to(ROOT.parent) else path
    module = ".".join(relative.with_suffix("").parts)
    parents: dict[ast.AST, ast.AST] = {}
    scopes: dict[ast.AST, str] = {}

    def visit(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            parents[child] = node
            inner = scope
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                inner = f"{scope}.{child.name}" if scope else child.name
            scopes[child] = inner
            visit(child, inner)

    visit(tree, "")
    found = []
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Attribute)
            and node.attr in ("objects", "_default_manager")
            and _model_name(node.value) in owned
        ):
            continue
        fields = owned[_model_name(node.value)]
        methods, scoped, top = [], False, node
        while top in parents:
            parent = parents[top]
            if isinstance(parent, ast.Attribute) and parent.value is top:
                methods.append(parent.attr)
            elif isinstance(parent, ast.Call) and parent.func is top:
                scoped = scoped or _names_patient(parent, fields)
            elif not (isinstance(parent, ast.Subscript) and parent.value is top):
                break
            top = parent
        if (
            (methods and methods[0] in WRITES)
            or scoped
            or _passed_to_scoping_function(top, parents)
        ):
            continue
        function = scopes.get(node, "") or "<module>"
        found.append(f"{module}:{function} {node.lineno} {_model_name(node.value)}")
    return found


def test_every_query_on_a_patient_table_names_its_patient():
    owned = owned_fields()
    modules = sorted(path for path in ROOT.rglob("*.py") if "migrations" not in path.parts)
    hits = [hit for path in modules for hit in unscoped_queries(path, owned)]
    offences = [hit for hit in hits if hit.split(" ", 1)[0] not in UNSCOPED]
    assert offences == [], (
        "Requête sur une table de patient sans filtre patient (ajoutez-le, ou une entrée "
        "motivée dans UNSCOPED) :\n" + "\n".join(offences)
    )
    used = {hit.split(" ", 1)[0] for hit in hits}
    assert set(UNSCOPED) <= used, f"Entrées UNSCOPED inutiles : {sorted(set(UNSCOPED) - used)}"


def test_the_scope_guard_sees_a_missing_patient(tmp_path):
    sample = tmp_path / "services.py"
    sample.write_text(
        "def good(person, pk):\n"
        "    Document.objects.filter(patient=person).get(pk=pk)\n"
        "    Document.objects.select_related('x').filter(Q(patient_id=person.pk))[:5]\n"
        "    AuditEntry.objects.filter(patient_id=person.pk).count()\n"
        "    Document.objects.create(patient=person)\n"
        "def bad(value):\n"
        "    Document.objects.filter(master_identifier=value)[:5]\n"
        "    return models.Measure.objects.get(pk=value)\n"
    )
    owned = {"Document": {"patient", "patient_id"}, "Measure": {"patient", "patient_id"}}
    owned["AuditEntry"] = {"patient_id"}
    hits = unscoped_queries(sample, owned)
    assert [hit.split(" ", 1)[0].rsplit(":", 1)[1] for hit in hits] == ["bad", "bad"]
