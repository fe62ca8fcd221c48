import re
import secrets
from datetime import date
from typing import Any, cast

from django import forms
from django.http import QueryDict
from django.utils import timezone

from .reference import CATEGORIES, PATIENT_CATEGORY_TYPES

PATIENT_CATEGORY_CHOICES = [("", "Choisissez une catégorie")] + [
    (code, CATEGORIES[code]) for code in PATIENT_CATEGORY_TYPES
]

PERIODS = [
    ("", "Toutes les dates"),
    ("3m", "Les 3 derniers mois"),
    ("12m", "Les 12 derniers mois"),
    ("5a", "Les 5 dernières années"),
]


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Fichier",
        help_text="PDF, image (JPEG, PNG, TIFF), texte ou RTF ; 5 Mo au maximum.",
        error_messages={"required": "Choisissez le fichier à ajouter."},
    )
    title = forms.CharField(
        label="Titre",
        max_length=200,
        help_text="Par exemple « Ordonnance du Dr Martin ».",
        error_messages={"required": "Donnez un titre au document."},
    )
    category = forms.ChoiceField(
        label="Catégorie",
        choices=PATIENT_CATEGORY_CHOICES,
        error_messages={"required": "Choisissez une catégorie."},
    )
    document_date = forms.DateField(
        label="Date du document",
        required=False,
        widget=DateInput(),
        help_text="Facultatif : la date écrite sur le document.",
        error_messages={"invalid": "Saisissez une date valide, par exemple 14/03/2025."},
    )

    # A one-time token, new on every page shown: the same form sent twice (a double
    # click, a retry after a lost connection) adds one document (an idempotency key).
    once = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean_document_date(self) -> date | None:
        value: date | None = self.cleaned_data["document_date"]
        if value and value > timezone.localdate():
            raise forms.ValidationError("La date du document ne peut pas être dans le futur.")
        return value

    def clean_once(self) -> str:
        """The token, or "" for a missing or malformed one (the form then works without it)."""
        value: str = self.cleaned_data["once"]
        return value if ONE_TIME_TOKEN.fullmatch(value) else ""

    def renew_token(self) -> str:
        """A new token for the form shown again (its old one already served)."""
        token = new_token()
        data = cast(QueryDict, self.data).copy()  # a bound form's request.POST
        data["once"] = token
        self.data = data
        return token


ONE_TIME_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_token() -> str:
    return secrets.token_urlsafe(24)


class EditForm(forms.Form):
    title = forms.CharField(
        label="Titre", max_length=200, error_messages={"required": "Donnez un titre au document."}
    )
    category = forms.ChoiceField(label="Catégorie", choices=PATIENT_CATEGORY_CHOICES)
    document_date = forms.DateField(
        label="Date du document",
        widget=DateInput(),
        error_messages={
            "required": "Saisissez la date du document.",
            "invalid": "Saisissez une date valide, par exemple 14/03/2025.",
        },
    )

    def clean_document_date(self) -> date:
        value: date = self.cleaned_data["document_date"]
        if value > timezone.localdate():
            raise forms.ValidationError("La date du document ne peut pas être dans le futur.")
        return value


class FilterForm(forms.Form):
    category = forms.ChoiceField(
        label="Catégorie",
        required=False,
        choices=[("", "Toutes les catégories")] + list(CATEGORIES.items()),
    )
    period = forms.ChoiceField(label="Période", required=False, choices=PERIODS)
    q = forms.CharField(label="Rechercher dans les titres", required=False, max_length=100)
