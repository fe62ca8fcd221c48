"""The patient's activity history, in plain French (access.md, "What the patient is shown").

Three tabs: the patient's own actions; what people and connected services did
(professionals, apps, representatives, aidants, support), so that an access by
a person is never buried; and the service's own automatic work (the system). Each entry of the audit
trail becomes one sentence: who, did what, on what, when, and why —
« Dr Claire Martin, médecin, Cabinet médical du Parc, a consulté « Bilan
sanguin » le 3 mars 2026 à 14 h 05 — accès en tant que médecin traitant ».

Only the titulaire sees their history. Document titles are decrypted only for
them, only for the documents the policy still lets them see, and only for
the page shown; the rest reads « un document ».
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from . import audit, documents, events, policy
from .dates import french_datetime
from .models import AccessReport, AuditEntry

if TYPE_CHECKING:
    from espace_sante.identity.models import Organization, Professional

PER_PAGE = 20

TAB_MINE = "mes-actions"
TAB_OTHERS = "professionnels"
TAB_SERVICE = "traitements-automatiques"
TABS = {
    TAB_OTHERS: "Professionnels et services",
    TAB_MINE: "Mes actions",
    TAB_SERVICE: "Traitements automatiques",
}

PERIODS = {
    "": ("Toute la période", None),
    "7j": ("7 derniers jours", 7),
    "1m": ("30 derniers jours", 30),
    "3m": ("3 derniers mois", 92),
    "12m": ("12 derniers mois", 366),
}


def kinds() -> dict[str, tuple[str, Q]]:
    """The history filters: one per event category of the registry, and two more."""
    found = {"": ("Toutes les actions", Q())}
    for category, label in events.CATEGORIES.items():
        query = Q(action__in=events.codes(category=category))
        if category == events.EMERGENCIES:
            # Reads under an emergency access count as emergencies too.
            query |= Q(mode__in=("emergency_btg", "emergency_samu"))
        found[category] = (label, query)
        if category == events.SIGN_INS:
            found["refus"] = ("Accès refusés", Q(outcome=AuditEntry.Outcome.DENIED))
    return found


def kind_choices() -> list[tuple[str, str]]:
    return [(code, label) for code, (label, _) in kinds().items()]


# Why an access was allowed, as the patient reads it.
# The acting_for of the service reading a person's calendar feed for their calendar app.
CALENDAR_APP = "calendrier"

MODE_LABELS = {
    "consent": "accès avec votre consentement",
    "care_team": "accès au titre de l'équipe de soins",
    "medecin_traitant": "accès en tant que médecin traitant",
    "administrateur": "accès en tant qu'administrateur de votre dossier",
    "emergency_samu": "accès d'urgence : régulation du SAMU",
    "author": "en tant qu'auteur du document",
    "deposit": "dépôt par un professionnel qui vous soigne",
    "caregiver": "en tant qu'aidant",
    "representative": "en tant que représentant légal",
    "app": "avec l'autorisation que vous avez donnée à cette application",
}
BTG_LABEL = "accès d'urgence (bris de glace)"
DENIED_LABEL = "accès refusé"

# Entries whose reason is the client id of the app they are about (access.grants).
APP_EVENTS = ("app_grant", "app_revoke")

UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def mine_q(patient_id: policy.Id) -> Q:
    return Q(actor_kind="patient", actor_person_id=patient_id)


def entries(
    patient_id: policy.Id, tab: str = TAB_OTHERS, period: str = "", kind: str = ""
) -> QuerySet[AuditEntry]:
    """One patient's entries for a tab and filters, newest first (an index on patient_id)."""
    queryset = AuditEntry.objects.filter(patient_id=patient_id)
    service = Q(actor_kind=policy.ActorKind.SYSTEM)
    if tab == TAB_MINE:
        queryset = queryset.filter(mine_q(patient_id))
    elif tab == TAB_SERVICE:
        queryset = queryset.filter(service)
    else:
        queryset = queryset.exclude(mine_q(patient_id)).exclude(service)
    days = PERIODS.get(period, PERIODS[""])[1]
    if days:
        queryset = queryset.filter(at__gte=timezone.now() - timedelta(days=days))
    filters = kinds()
    queryset = queryset.filter(filters.get(kind, filters[""])[1])
    return queryset.order_by("-sequence")


@dataclass
class HistoryItem:
    entry: AuditEntry
    sentence: str
    mine: bool
    denied: bool
    reported_at: datetime | None = None

    @property
    def reportable(self) -> bool:
        """« Je ne reconnais pas cet accès » is for someone else's act, not the service's."""
        return not self.mine and self.entry.actor_kind != policy.ActorKind.SYSTEM


@dataclass
class HistoryPage:
    items: list[HistoryItem]
    number: int
    pages: int
    count: int
    page_range: list[int | str] = field(default_factory=list)


# --- Looking up the names an entry refers to, one query per kind per page ---------


class _Lookups:
    def __init__(
        self, actor: policy.Actor | None, patient_id: policy.Id, rows: list[AuditEntry]
    ) -> None:
        from espace_sante.identity.models import Organization, Person, Professional

        self.patient_id = patient_id
        pro_ids = {row.actor_professional_id for row in rows if row.actor_professional_id}
        for row in rows:
            if row.action in ("block", "unblock", "revoke_consent", "role", "remove_role"):
                pro_ids.update(UUID_RE.findall(row.reason or ""))
        self.professionals = {
            str(pro.id): pro for pro in Professional.objects.filter(id__in=pro_ids)
        }
        org_ids = {row.actor_organization_id for row in rows if row.actor_organization_id}
        self.organizations = {
            str(org.id): org for org in Organization.objects.filter(id__in=org_ids)
        }
        person_ids = {
            row.actor_person_id
            for row in rows
            if row.actor_person_id and str(row.actor_person_id) != str(patient_id)
        }
        self.people = {str(p.id): p for p in Person.objects.filter(id__in=person_ids)}
        # Connected apps, and the software a professional acted through (FHIR API);
        # a grant or its withdrawal names its app by client id in the reason.
        self.apps = self._apps(
            {row.acting_for for row in rows if row.actor_kind in ("app", "professional")}
            | {row.reason for row in rows if row.action in APP_EVENTS}
        )
        self.titles = self._titles(actor, patient_id, rows)
        self.justifications = self._justifications(patient_id, rows)

    @staticmethod
    def _apps(client_ids: Iterable[str]) -> dict[str, str]:
        wanted = {c for c in client_ids if c}
        if not wanted:
            return {}
        from oauth2_provider.models import get_application_model

        return dict(
            get_application_model()
            .objects.filter(client_id__in=wanted)
            .values_list("client_id", "name")
        )

    @staticmethod
    def _titles(
        actor: policy.Actor | None, patient_id: policy.Id, rows: list[AuditEntry]
    ) -> dict[str, str]:
        """Titles of the page's documents the titulaire may still see (policy filter in SQL)."""
        if not policy.is_titulaire(actor, patient_id):
            return {}
        ids = {row.object_id for row in rows if row.object_type == "document" and row.object_id}
        titles = documents.visible_titles(actor, patient_id, ids)
        if titles:
            # Titles are health content: showing them is a read, traced like the
            # Documents page's list.
            audit.record(actor, "list", patient_id, object_type="history")
        return titles

    @staticmethod
    def _justifications(
        patient_id: policy.Id, rows: list[AuditEntry]
    ) -> dict[str, list[tuple[int, str]]]:
        """For reads under bris de glace: the justification of the emergency access opened."""
        pros = {
            row.actor_professional_id
            for row in rows
            if row.mode == "emergency_btg" and " : " not in (row.reason or "")
        }
        if not pros:
            return {}
        found: dict[str, list[tuple[int, str]]] = {}
        opened = AuditEntry.objects.filter(
            patient_id=patient_id,
            action="emergency",
            outcome=AuditEntry.Outcome.ALLOWED,
            actor_professional_id__in=pros,
        ).order_by("-sequence")
        for row in opened.only("sequence", "actor_professional_id", "reason")[:200]:
            found.setdefault(str(row.actor_professional_id), []).append(
                (row.sequence, row.reason.split(" : ", 1)[-1])
            )
        return found

    def justification(self, row: AuditEntry) -> str:
        if " : " in (row.reason or ""):
            return row.reason.split(" : ", 1)[1].strip()
        for sequence, text in self.justifications.get(str(row.actor_professional_id), []):
            if sequence <= row.sequence:
                return text.strip()
        return ""


# --- Sentences -----------------------------------------------------------------


def _who(row: AuditEntry, lookups: _Lookups) -> str:
    kind = row.actor_kind
    if kind == "professional":
        pro = lookups.professionals.get(str(row.actor_professional_id))
        if pro is None:
            return "Un professionnel de santé"
        parts = [pro.display_name, pro.profession_label.lower()]
        org = lookups.organizations.get(str(row.actor_organization_id))
        if org is not None:
            parts.append(org.name)
        who = ", ".join(parts)
        if row.acting_for:
            software = lookups.apps.get(row.acting_for, "")
            who += f" (par le logiciel {software})" if software else " (par son logiciel)"
        return who
    if kind == "patient":
        person = lookups.people.get(str(row.actor_person_id))
        name = person.display_name if person else "Une personne"
        if row.mode == "caregiver":
            return f"{name}, votre aidant"
        if row.mode == "representative":
            return f"{name}, votre représentant légal"
        return name
    if kind == "app":
        # access.md calls them connected services; the patient knows them by name.
        name = lookups.apps.get(row.acting_for, "")
        return f"L'application « {name} »" if name else "Une application connectée"
    if kind == "system":
        if row.acting_for == CALENDAR_APP:
            return "Votre application de calendrier"
        return "espace-santé (traitement automatique)"
    if kind in ("operator", "support"):
        return "L'assistance d'espace-santé"
    return "Une personne non identifiée"


def _section_label(object_type: str) -> str:
    key = object_type.split(":", 1)[1] if ":" in object_type else ""
    if key == "measures":
        return "vos mesures de santé"
    if key == "summary":
        return "la synthèse de votre profil médical"
    label = documents.section_label(key)
    return f"votre profil médical ({label})" if label else "votre profil médical"


def _thing(row: AuditEntry, lookups: _Lookups) -> str:
    """What the entry is about, as a noun phrase."""
    if row.object_type == "document":
        if row.action == "list" or row.object_id is None:
            return "la liste de vos documents"
        title = lookups.titles.get(str(row.object_id))
        return f"« {title} »" if title else "un document"
    if row.object_type.startswith("profile:"):
        label = _section_label(row.object_type)
        if row.action == "list" or row.object_id is None:
            return label
        return f"une information de {label}"
    if row.object_type == "agenda:appointment":
        if row.action == "list" or row.object_id is None:
            return "votre agenda"
        return "un rendez-vous de votre agenda"
    if row.object_type == "agenda:prevention":
        return "vos rappels de prévention"
    if row.object_type == "agenda:feed":
        return "le lien de votre agenda pour une application de calendrier"
    if row.object_type == "history":
        return "votre historique d'activité"
    if row.object_type == "agenda:questionnaire":
        if row.action == "list" or row.object_id is None:
            return "vos questionnaires Mon bilan prévention"
        return "vos réponses au questionnaire Mon bilan prévention"
    if row.object_type in MESSAGING_THINGS:
        return MESSAGING_THINGS[row.object_type]
    if row.object_type == "patient":
        return "votre identité"
    return "votre dossier"


def _named_professional(row: AuditEntry, lookups: _Lookups) -> str:
    for found in UUID_RE.findall(row.reason or ""):
        pro = lookups.professionals.get(found)
        if pro is not None:
            return pro.display_name
    return "un professionnel"


def _phrase(row: AuditEntry, lookups: _Lookups) -> str:
    """The past participle and its complement: « consulté « Bilan sanguin » »."""
    action, thing = row.action, _thing(row, lookups)
    if row.outcome == AuditEntry.Outcome.DENIED:
        if action == "emergency":
            return "tenté d'ouvrir un accès d'urgence à votre dossier"
        return (
            f"tenté d'accéder à {thing}"
            if action in ("read", "list")
            else ("tenté une action sur " + thing)
        )
    try:
        event = events.get(action)
    except events.UnknownEvent:  # an entry older than the registry
        return "effectué une action sur votre espace"
    role_kind = (row.reason or "").split(":", 1)[0]
    role = ROLES.get(role_kind, "professionnel référent" if action == "role" else "référent")
    app = lookups.apps.get(row.reason, "") if action in APP_EVENTS else ""
    return event.phrase_for(row.reason).format(
        thing=thing,
        pro=_named_professional(row, lookups),
        role=role,
        app=f"« {app} »" if app else "connectée",
    )


ROLES = {
    "administrateur": "administrateur de votre dossier",
    "sage_femme_referente": "sage-femme référente",
    "pharmacien_correspondant": "pharmacien correspondant",
}


# What messaging entries are about (titles stay out of the history).
MESSAGING_THINGS = {
    "conversation": "une conversation de votre messagerie",
    "message": "un message de votre messagerie",
    "attachment": "une pièce jointe de votre messagerie",
    "prescription": "une ordonnance envoyée à une pharmacie",
}


def _why(row: AuditEntry, lookups: _Lookups) -> str:
    if row.outcome == AuditEntry.Outcome.DENIED:
        return DENIED_LABEL
    try:
        if not events.get(row.action).data:
            return ""
    except events.UnknownEvent:
        return ""
    if row.mode == "emergency_btg":
        justification = lookups.justification(row)
        return f"{BTG_LABEL} : {justification}" if justification else BTG_LABEL
    return MODE_LABELS.get(row.mode, "")


def _subject(row: AuditEntry, lookups: _Lookups) -> str:
    """Who, closed by a comma after an apposition: « Dr Claire Martin, médecin, Cabinet… , »."""
    who = _who(row, lookups)
    return f"{who}," if "," in who else who


def sentence(row: AuditEntry, lookups: _Lookups, mine: bool) -> str:
    when = french_datetime(row.at)
    if row.action == "sign_in" and row.outcome == AuditEntry.Outcome.ALLOWED:
        text = f"Connexion à votre espace le {when}"
        if not mine:
            text = f"{_subject(row, lookups)} s'est connecté à votre espace le {when}"
    else:
        subject = "Vous avez" if mine else f"{_subject(row, lookups)} a"
        text = f"{subject} {_phrase(row, lookups)} le {when}"
    why = _why(row, lookups)
    return f"{text} — {why}" if why else text


def describe(
    actor: policy.Actor | None, patient_id: policy.Id, rows: list[AuditEntry]
) -> list[HistoryItem]:
    """Sentences for a page of entries (a fixed number of queries, whatever the page)."""
    lookups = _Lookups(actor, patient_id, rows)
    reports = dict(
        AccessReport.objects.filter(  # type: ignore[misc]  # id text, see policy.Id
            patient_id=patient_id, entry__in=rows
        ).values_list("entry_id", "created_at")
    )
    items: list[HistoryItem] = []
    for row in rows:
        mine = row.actor_kind == "patient" and str(row.actor_person_id) == str(patient_id)
        items.append(
            HistoryItem(
                entry=row,
                sentence=sentence(row, lookups, mine),
                mine=mine,
                denied=row.outcome == AuditEntry.Outcome.DENIED,
                reported_at=reports.get(row.id),
            )
        )
    return items


def history_page(
    actor: policy.Actor | None,
    patient_id: policy.Id,
    *,
    tab: str,
    period: str = "",
    kind: str = "",
    page: int = 1,
) -> HistoryPage:
    """What the history screen shows: one page of one tab, described. Titulaire only."""
    if not policy.is_titulaire(actor, patient_id):
        raise policy.NotAllowed
    paginator = Paginator(entries(patient_id, tab, period, kind), PER_PAGE)
    current = paginator.get_page(page)
    with transaction.atomic():
        items = describe(actor, patient_id, list(current.object_list))
    return HistoryPage(
        items=items,
        number=current.number,
        pages=paginator.num_pages,
        count=paginator.count,
        page_range=list(paginator.get_elided_page_range(current.number, on_each_side=2)),
    )


# --- The same trail for the patient's apps (FHIR AuditEvent) ------------------


@dataclass
class TrailPage:
    rows: list[AuditEntry]
    total: int
    professionals: dict[str, "Professional"]
    organizations: dict[str, "Organization"]
    apps: dict[str, str]


def audit_trail(
    actor: policy.Actor | None, patient_id: policy.Id, *, limit: int = 20, offset: int = 0
) -> TrailPage:
    """Every entry of the titulaire's own trail, newest first, with who the actors are.

    The titulaire, or an app of theirs granted ``AuditEvent`` (like the
    history page, never a representative); reading it is itself traced.
    """
    if not policy.decide_trail(actor, patient_id):
        audit.record(actor, "list", patient_id, object_type="history", allowed=False)
        raise policy.NotAllowed
    with transaction.atomic():
        queryset = AuditEntry.objects.filter(patient_id=patient_id).order_by("-sequence")
        total = queryset.count()
        rows = list(queryset[offset : offset + limit])
        audit.record(actor, "list", patient_id, object_type="history")
    from espace_sante.identity.models import Organization, Professional

    pro_ids = {row.actor_professional_id for row in rows if row.actor_professional_id}
    org_ids = {row.actor_organization_id for row in rows if row.actor_organization_id}
    return TrailPage(
        rows,
        total,
        {str(pro.id): pro for pro in Professional.objects.filter(id__in=pro_ids)},
        {str(org.id): org for org in Organization.objects.filter(id__in=org_ids)},
        _Lookups._apps({row.acting_for for row in rows if row.acting_for}),
    )
