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
        items.append({"url": url, "label": label, "active": request.path.startswith(url)})
    return {"nav_items": items}
