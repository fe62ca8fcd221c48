"""Forms of the privacy settings pages (« Qui peut voir mon dossier »).

Each form only parses what a person typed or chose; the changes themselves
are made by the verbs of ``access.services``, which check who may make them.
"""

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from espace_sante.access.consent_models import PatientRole
from espace_sante.identity.models import Professional
from espace_sante.identity.validators import validate_rpps

VISIBLE, MASKED = "visibles", "masques"
SEARCH_LIMIT = 20

ROLE_HELP = {
    PatientRole.Kind.ADMINISTRATEUR: "Il a les mêmes droits étendus que votre médecin traitant : "
    "il voit tous vos documents, y compris ceux que vous avez masqués.",
    PatientRole.Kind.SAGE_FEMME: "La sage-femme qui suit votre grossesse. Seule une sage-femme "
    "peut avoir ce rôle.",
    PatientRole.Kind.PHARMACIEN: "Le pharmacien d'officine qui suit vos traitements. Seul un "
    "pharmacien peut avoir ce rôle.",
}


class DsfrForm(forms.Form):
    """Text inputs get the DSFR classes, and the error class when they are wrong."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field.widget, forms.TextInput):
                field.widget.attrs["class"] = "fr-input"

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields and isinstance(self.fields[name].widget, forms.TextInput):
                self.fields[name].widget.attrs["class"] = "fr-input fr-input--error"


class NewDocumentsForm(forms.Form):
    """Masked or visible by default: the documents added from now on."""

    visibility = forms.ChoiceField(
        label="Par défaut, mes nouveaux documents sont :",
        choices=[
            (VISIBLE, "Visibles par les professionnels qui ont accès à mon dossier"),
            (
                MASKED,
                "Masqués : seuls mon médecin traitant, les administrateurs de mon dossier et "
                "l'auteur du document les voient",
            ),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choisissez si vos nouveaux documents sont visibles ou masqués."
        },
    )

    @property
    def mask_new_documents(self) -> bool:
        visibility: str = self.cleaned_data["visibility"]
        return visibility == MASKED


def _setting(*, label: str, help_text: str) -> forms.BooleanField:
    """A checkbox of the settings: left unticked, it turns the setting off (never an error)."""
    return forms.BooleanField(label=label, help_text=help_text, required=False)


class MaskEverythingForm(forms.Form):
    """« Tout masquer, urgences comprises »: asked once, then confirmed."""

    mask_everything = _setting(
        label="Tout masquer, urgences comprises",
        help_text="Tous mes documents sont masqués aux professionnels, même en urgence. Une "
        "confirmation vous sera demandée.",
    )
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)


class EmergencyForm(forms.Form):
    """The three emergency settings of access.md: ETREAT, BTG, MASKED."""

    emergency_samu = _setting(
        label="Le médecin régulateur du SAMU peut consulter mon dossier",
        help_text="Quand vous ou un proche appelez le 15, le médecin qui répond peut lire votre "
        "dossier pour décider des secours à envoyer. Réglage conseillé : activé.",
    )
    emergency_btg = _setting(
        label="Un professionnel peut accéder à mon dossier en urgence (bris de glace)",
        help_text="Si vous êtes hors d'état de donner votre accord (inconscient, par exemple) et "
        "que votre vie est en danger, un professionnel qui vous soigne peut ouvrir votre dossier "
        "pour quelques heures, en écrivant pourquoi. Vous et votre médecin traitant en êtes "
        "informés. Réglage conseillé : activé.",
    )
    emergency_masked = _setting(
        label="En urgence, mes documents masqués sont aussi visibles",
        help_text="Sans ce réglage, les documents que vous avez masqués restent cachés même en "
        "urgence.",
    )


class SearchForm(DsfrForm):
    """Find a professional of the directory by name."""

    name = forms.CharField(
        label="Nom du professionnel",
        help_text="Nom de famille, éventuellement précédé du prénom, par exemple « Martin ».",
        min_length=2,
        max_length=100,
        error_messages={
            "required": "Saisissez le nom du professionnel que vous cherchez.",
            "min_length": "Saisissez au moins 2 lettres du nom.",
        },
    )

    def results(self) -> list[Professional]:
        words = self.cleaned_data["name"].split()
        queryset = Professional.objects.all()
        for word in words:
            queryset = queryset.filter(Q(last_name__icontains=word) | Q(first_name__icontains=word))
        return list(queryset.order_by("last_name", "first_name")[:SEARCH_LIMIT])


class RoleForm(DsfrForm):
    """Give a role to a professional chosen by RPPS number or from the search results."""

    kind = forms.ChoiceField(
        label="Rôle",
        choices=PatientRole.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": "Choisissez le rôle à donner."},
    )
    professional = forms.UUIDField(
        label="Professionnel trouvé",
        required=False,
        error_messages={"invalid": "Choisissez un professionnel dans la liste."},
    )
    rpps = forms.CharField(
        label="Numéro RPPS du professionnel",
        help_text="11 chiffres, inscrits sur sa carte de professionnel de santé (CPS) ou dans "
        "l'annuaire santé.",
        required=False,
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_rpps(self) -> str:
        value = self.cleaned_data["rpps"]
        return validate_rpps(value) if value.strip() else ""

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean gives cleaned_data back
        if self.errors:
            return data
        if data.get("professional"):
            found = Professional.objects.filter(pk=data["professional"]).first()
            if found is None:
                self.add_error("professional", "Choisissez un professionnel dans la liste.")
        elif data.get("rpps"):
            found = Professional.objects.filter(rpps=data["rpps"]).first()
            if found is None:
                self.add_error(
                    "rpps",
                    ValidationError(
                        "Aucun professionnel ne correspond à ce numéro RPPS.", code="unknown_rpps"
                    ),
                )
        else:
            found = None
            self.add_error(
                "rpps",
                "Saisissez le numéro RPPS du professionnel, ou cherchez-le par son nom.",
            )
        data["found"] = found
        return data


class RemoveRoleForm(forms.Form):
    kind = forms.ChoiceField(choices=PatientRole.Kind.choices)
