from django.urls import reverse

from espace_sante.identity.models import User

# The citizen's sections, in the order of the official service. The Catalogue
# comes between Agenda and Paramètres once it has pages: until then the menu
# does not offer it as if it worked.
CITIZEN_SECTIONS = [
    ("documents", "Documents"),
    ("profil", "Profil médical"),
    ("messagerie", "Messagerie"),
    ("agenda", "Agenda"),
    ("parametres", "Paramètres"),
]
# Sections that have their own pages; the others show the "not yet" page.
BUILT_SECTIONS = {
    "documents": "record:document_list",
    "profil": "profile:home",
    "parametres": "access:settings",
    "patients": "portal:find_patient",
    "compte-pro": "portal:account",
    "messagerie": "messaging:inbox",
    "agenda": "agenda:index",
    "messagerie-pro": "messaging_pro:inbox",
}

PROFESSIONAL_SECTIONS = [
    ("patients", "Mes patients"),
    ("messagerie-pro", "Messagerie"),
    ("compte-pro", "Mon compte"),
]

# The operator's console (no health data): URL names and labels.
OPERATOR_SECTIONS = [
    ("operator:campaigns", "Campagnes"),
    ("operator:person", "Rechercher une personne"),
]


def section_url(slug: str) -> str:
    if slug in BUILT_SECTIONS:
        return reverse(BUILT_SECTIONS[slug])
    return reverse("web:section", args=[slug])


def navigation(request):
    from espace_sante.access.http import acting_professional
    from espace_sante.messaging import services as messaging
    from espace_sante.messaging.models import Conversation

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    # (url, label, unread conversations) of each menu item; the counts carry no health content.
    if user.kind == User.Kind.CITIZEN:
        person = getattr(user, "person", None)
        unread = messaging.unread_for_patient(person.id) if person is not None else 0
        entries = [
            (section_url(slug), label, unread if slug == "messagerie" else 0)
            for slug, label in CITIZEN_SECTIONS
        ]
    elif user.kind == User.Kind.PROFESSIONAL:
        actor = acting_professional(request)
        entries = [
            (
                section_url(slug),
                label,
                messaging.unread_for_professional(actor, kind=Conversation.Kind.CARE)
                if slug == "messagerie-pro"
                else 0,
            )
            for slug, label in PROFESSIONAL_SECTIONS
        ]
        # A pharmacy's prescriptions have their own list, next to the Messagerie.
        entries[2:2] = [
            (
                reverse(pages.inbox_url),
                pages.inbox_label,
                messaging.unread_for_professional(actor, kind=pages.kind),
            )
            for pages in _organization_inboxes(actor)
        ]
    elif user.kind == User.Kind.OPERATOR:
        entries = [(reverse(name), label, 0) for name, label in OPERATOR_SECTIONS]
    else:
        return {}
    # One item is current: the one whose address is the longest prefix of the page's
    # (« Mes patients » is /pro/, which every portal address starts with).
    matching = [url for url, _, _ in entries if request.path.startswith(url)]
    current = max(matching, key=len) if matching else None
    return {
        "nav_items": [
            {"url": url, "label": label, "active": url == current, "badge": badge}
            for url, label, badge in entries
        ]
    }


def _organization_inboxes(actor) -> list:
    from espace_sante.identity.models import Organization
    from espace_sante.messaging import extensions

    organization = Organization.objects.filter(pk=actor.organization_id).first()
    return extensions.for_organization_kind(organization.kind) if organization else []
