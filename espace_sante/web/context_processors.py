from django.urls import reverse

from espace_sante.identity.models import User

# The citizen's sections, in the order of the official service.
CITIZEN_SECTIONS = [
    ("documents", "Documents"),
    ("profil", "Profil médical"),
    ("messagerie", "Messagerie"),
    ("agenda", "Agenda"),
    ("catalogue", "Catalogue"),
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
    "messagerie-pro": "messaging_pro:inbox",
}

PROFESSIONAL_SECTIONS = [
    ("patients", "Mes patients"),
    ("messagerie-pro", "Messagerie"),
    ("compte-pro", "Mon compte"),
]


def section_url(slug: str) -> str:
    if slug in BUILT_SECTIONS:
        return reverse(BUILT_SECTIONS[slug])
    return reverse("web:section", args=[slug])


def navigation(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if user.kind == User.Kind.CITIZEN:
        sections = CITIZEN_SECTIONS
    elif user.kind == User.Kind.PROFESSIONAL:
        sections = PROFESSIONAL_SECTIONS
    else:
        return {}
    items = []
    for slug, label in sections:
        url = section_url(slug)
        items.append(
            {
                "url": url,
                "label": label,
                "active": request.path.startswith(url),
                "badge": _unread_messages(request, user) if slug.startswith("messagerie") else 0,
            }
        )
    return {"nav_items": items}


def _unread_messages(request, user) -> int:
    """Conversations with unread messages, for the navigation (a count, no health content)."""
    from espace_sante.access.policy import actor_for_user
    from espace_sante.messaging import services as messaging

    person = getattr(user, "person", None)
    if person is not None:
        return messaging.unread_for_patient(person.id)
    organization_id = request.session.get("portal_organization_id")
    return messaging.unread_for_professional(actor_for_user(user, organization_id=organization_id))
