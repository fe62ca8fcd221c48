"""Typed audit events: one registry every reader of the trail derives from.

An audit entry's ``action`` column holds an event code. Each code is
registered once, by the app that writes it, with everything the rest of the
service needs to know about it:

- ``phrase``: the French past participle and complement the patient's history
  shows (« consulté {thing} »); ``{thing}`` is what the entry is about,
  ``{pro}`` the professional named in the entry, ``{role}`` a role's label,
  ``{app}`` the connected app named in the entry;
- ``category``: the history filter it belongs to (``CATEGORIES``);
- ``balp``: the FHIR AuditEvent ``action`` and restful-interaction subtype
  (IHE Basic Audit Log Patterns) the API gives back;
- ``notifies``: an allowed use by a professional tells the patient (and, in
  an emergency, the médecin traitant);
- ``reads``: a pure read, which cannot change what the policy remembers for
  the current request.

``audit.record`` refuses a code that is not registered, so a typo or a new
event nobody described cannot reach the trail.
"""

from collections.abc import Iterable
from dataclasses import dataclass

# History filters (access.md, "What the patient is shown"): code -> label.
CONSULTATIONS = "consultations"
CHANGES = "modifications"
EMERGENCIES = "urgences"
SETTINGS = "parametres"
SIGN_INS = "connexions"
REPORTS = "signalements"
CATEGORIES = {
    CONSULTATIONS: "Consultations",
    CHANGES: "Ajouts, modifications et suppressions",
    EMERGENCIES: "Accès d'urgence",
    SETTINGS: "Paramètres, consentements et rôles",
    SIGN_INS: "Connexions",
    REPORTS: "Signalements",
}

# FHIR AuditEvent.action (http://hl7.org/fhir/audit-event-action) and subtype
# (http://hl7.org/fhir/restful-interaction).
BALP_READ = ("R", "read")
BALP_SEARCH = ("R", "search-type")
BALP_CREATE = ("C", "create")
BALP_UPDATE = ("U", "update")
BALP_DELETE = ("D", "delete")
BALP_EXECUTE = ("E", "")


class UnknownEvent(ValueError):
    """An audit event code nobody registered: a programming error, refused at write time."""


@dataclass(frozen=True)
class Event:
    code: str
    phrase: str
    category: str = ""
    balp: tuple[str, str] = BALP_EXECUTE
    notifies: bool = False
    reads: bool = False
    # A different phrase when the entry's reason is one of these (« démasqué »).
    phrase_by_reason: tuple[tuple[str, str], ...] = ()
    # Health data itself was used: the history says why the access was allowed.
    data: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", str(self.code))  # an enum member is stored as its text
        if not 0 < len(self.code) <= 32:  # AuditEntry.action's max_length
            raise ValueError(f"Audit event code {self.code!r} must have 1 to 32 characters")
        if self.category and self.category not in CATEGORIES:
            raise ValueError(f"Unknown history category {self.category!r} for {self.code!r}")

    def __str__(self) -> str:
        return self.code

    def phrase_for(self, reason: str) -> str:
        return dict(self.phrase_by_reason).get(reason or "", self.phrase)


_REGISTRY: dict[str, Event] = {}


def register(*events: Event) -> None:
    """Declare events; registering the same code twice with another meaning is an error."""
    for event in events:
        known = _REGISTRY.get(event.code)
        if known is not None and known != event:
            raise ValueError(f"Audit event {event.code!r} is already registered differently")
        _REGISTRY[event.code] = event


def get(code: str | Event) -> Event:
    """The registered event for ``code`` (an Event, an enum member or a string)."""
    if isinstance(code, Event):
        return code
    try:
        return _REGISTRY[str(code)]
    except KeyError:
        raise UnknownEvent(f"Unregistered audit event {code!r}") from None


def registered() -> Iterable[Event]:
    return tuple(_REGISTRY.values())


def codes(*, category: str | None = None, notifies: bool | None = None) -> tuple[str, ...]:
    """The codes of the events in a history category, or that notify."""
    return tuple(
        event.code
        for event in _REGISTRY.values()
        if (category is None or event.category == category)
        and (notifies is None or event.notifies == notifies)
    )


# --- The kernel's own events: health data verbs, access settings, sign-ins --------

READ = Event(
    "read", "consulté {thing}", CONSULTATIONS, BALP_READ, notifies=True, reads=True, data=True
)
LIST = Event(
    "list", "consulté {thing}", CONSULTATIONS, BALP_SEARCH, notifies=True, reads=True, data=True
)
CREATE = Event("create", "ajouté {thing}", CHANGES, BALP_CREATE, data=True)
UPDATE = Event("update", "modifié {thing}", CHANGES, BALP_UPDATE, data=True)
DELETE = Event("delete", "supprimé {thing}", CHANGES, BALP_DELETE, data=True)
REPLACE = Event("replace", "remplacé {thing}", CHANGES, BALP_CREATE, data=True)
WITHDRAW = Event("withdraw", "retiré {thing}", CHANGES, BALP_UPDATE, data=True)
MASK = Event(
    "mask",
    "masqué {thing} aux professionnels",
    CHANGES,
    BALP_UPDATE,
    phrase_by_reason=(("démasqué", "rendu {thing} de nouveau visible aux professionnels"),),
)
EMERGENCY = Event(
    "emergency", "ouvert un accès d'urgence à votre dossier", EMERGENCIES, notifies=True, data=True
)
LOOKUP = Event("lookup", "vérifié que vous avez un espace santé", "", ("E", "search-type"))
# A professional's page naming the patient (name, sex, birth date, INS) without
# the document list, which would be traced as a consultation itself.
IDENTITY = Event(
    "identity",
    "consulté votre identité (nom, date de naissance, INS)",
    CONSULTATIONS,
    BALP_READ,
    reads=True,
)
SIGN_IN = Event("sign_in", "connecté à votre espace", SIGN_INS)
REPORT = Event("report", "signalé un accès que vous ne reconnaissiez pas", REPORTS)

register(READ, LIST, CREATE, UPDATE, DELETE, REPLACE, WITHDRAW, MASK, EMERGENCY, LOOKUP, IDENTITY)
register(SIGN_IN, REPORT)
register(
    Event("settings", "modifié vos paramètres de confidentialité", SETTINGS, BALP_UPDATE),
    Event(
        "notification_settings", "modifié vos préférences de notification", SETTINGS, BALP_UPDATE
    ),
    Event("block", "bloqué l'accès de {pro} à votre dossier", SETTINGS),
    Event("unblock", "débloqué l'accès de {pro} à votre dossier", SETTINGS),
    Event("consent", "enregistré votre consentement à l'accès à votre dossier", SETTINGS),
    Event("revoke_consent", "retiré votre consentement à {pro}", SETTINGS),
    Event("role", "désigné {pro} comme {role}", SETTINGS),
    Event("remove_role", "retiré à {pro} son rôle de {role}", SETTINGS),
    Event("care_team", "indiqué que sa structure vous prend en charge (équipe de soins)", SETTINGS),
    Event("care_team_objection", "refusé l'accès d'une équipe de soins à votre dossier", SETTINGS),
    Event("caregiver_invite", "invité un aidant", SETTINGS),
    Event("caregiver_answer", "répondu à une invitation d'aidant", SETTINGS),
    Event("caregiver_revoke", "retiré un aidant", SETTINGS),
    Event(
        "list_access",
        "consulté la liste des professionnels qui ont accès à votre dossier",
        SETTINGS,
        BALP_SEARCH,
        reads=True,
    ),
    # Connected apps (services.md, app catalogue): {app} is the app's name.
    Event("app_grant", "autorisé l'application {app} à accéder à votre dossier", SETTINGS),
    Event("app_revoke", "retiré l'autorisation de l'application {app}", SETTINGS),
)
