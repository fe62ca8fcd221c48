"""What each profile section accepts, and the French sentence when it does not.

The services validate through these forms whatever the door (web page, API,
demo), so a rule and its message are written once. Field names are the
attribute names of the models in ``models``. The forms of measures are in
``measure_forms``.

Length (about 420 lines): one form per section, each short; kept in one file so
that the rules and their French messages read side by side.
"""

from typing import TYPE_CHECKING, Any, ClassVar, cast

from django import forms
from django.utils import timezone
from stdnum import ean

from .reference import (
    ALLERGY_SEVERITIES,
    BLOOD_GROUPS,
    CONTACT_KINDS,
    DISABILITY_KINDS,
    DISABILITY_RATES,
    FAMILY_RELATIONS,
    ORGAN_DONATION,
    PREVENTION_EXAMS,
    VACCINATION_ROUTES,
    VACCINATION_SITES,
)

if TYPE_CHECKING:
    from espace_sante.identity.models import Person

TEXT_MAX = 200
NOTE_MAX = 1000
DATE_INVALID = "Saisissez une date valide, par exemple 14/03/2025."


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def date_field(
    label: str, *, required: bool = False, help_text: str = "", required_msg: str = ""
) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=DateInput(),
        error_messages={"invalid": DATE_INVALID, "required": required_msg or DATE_INVALID},
    )


def text_field(
    label: str,
    *,
    required: bool = False,
    help_text: str = "",
    required_msg: str = "",
    textarea: bool = False,
) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=NOTE_MAX if textarea else TEXT_MAX,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 3}) if textarea else forms.TextInput(),
        error_messages={
            "required": required_msg,
            "max_length": f"Ce texte est trop long : {NOTE_MAX if textarea else TEXT_MAX} "
            "caractères au maximum.",
        },
    )


def choice_field(
    label: str,
    choices: dict[str, str],
    *,
    required: bool = True,
    radio: bool = False,
    blank: str = "",
    required_msg: str = "",
) -> forms.ChoiceField:
    options = list(choices.items())
    if blank and not radio:
        options = [("", blank), *[(k, v) for k, v in options if k]]
    return forms.ChoiceField(
        label=label,
        required=required,
        choices=options,
        widget=forms.RadioSelect if radio else forms.Select,
        error_messages={
            "required": required_msg,
            "invalid_choice": "Choisissez une réponse de la liste.",
        },
    )


class ProfileForm(forms.Form):
    """Base of the section forms: DSFR classes, and the date rules every section shares."""

    # Names of the (start, end) date fields and the sentence when end < start.
    period: ClassVar[tuple[str, str] | None] = None
    period_error: ClassVar[str] = "La date de fin ne peut pas être avant la date de début."
    # Date fields that may not be in the future, with their message.
    not_future: ClassVar[dict[str, str]] = {}

    def __init__(self, *args: Any, patient: "Person | None" = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.patient = patient
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect):
                continue
            css = "fr-select" if isinstance(widget, forms.Select) else "fr-input"
            widget.attrs["class"] = css

    def full_clean(self) -> None:
        super().full_clean()
        # DSFR shows a field in error by a class on the input itself.
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                css = widget.attrs.get("class", "")
                if css:
                    widget.attrs["class"] = f"{css} {css}--error"

    def clean(self) -> dict[str, Any]:
        # Form.clean() returns cleaned_data, never None (the stubs allow None for overrides).
        cleaned = cast(dict[str, Any], super().clean())
        today = timezone.localdate()
        birth = getattr(self.patient, "birth_date", None)
        for name, field in self.fields.items():
            value = cleaned.get(name)
            if not isinstance(field, forms.DateField) or value is None:
                continue
            if name in self.not_future and value > today:
                self.add_error(name, self.not_future[name])
            elif birth and value < birth:
                self.add_error(
                    name,
                    f"Cette date est antérieure à la date de naissance ({birth:%d/%m/%Y}). "
                    "Vérifiez l'année.",
                )
        if self.period:
            start, end = (cleaned.get(name) for name in self.period)
            if start and end and end < start and self.period[1] not in self.errors:
                self.add_error(self.period[1], self.period_error)
        return cleaned


class ConditionForm(ProfileForm):
    name = text_field(
        "Maladie ou sujet de santé",
        required=True,
        help_text="Par exemple « Diabète de type 2 », « Asthme » ou « Grossesse ».",
        required_msg="Indiquez la maladie ou le sujet de santé.",
    )
    start_date = date_field("Date de début", help_text="Facultatif. Une date approximative suffit.")
    end_date = date_field("Date de fin", help_text="Laissez vide si c'est toujours d'actualité.")
    period = ("start_date", "end_date")
    not_future = {"start_date": "La date de début ne peut pas être dans le futur."}


def clean_cip(value: str) -> str:
    """A CIP code: 7 digits (CIP7) or 13 digits (CIP13, EAN-13 starting with 3400)."""
    digits = "".join(value.split())
    if not digits:
        return ""
    if digits.isdigit() and (
        len(digits) == 7
        or (len(digits) == 13 and digits.startswith("3400") and ean.is_valid(digits))
    ):
        return digits
    raise forms.ValidationError(
        "Le code CIP compte 7 ou 13 chiffres (par exemple 3400930000000). "
        "Recopiez-le depuis la boîte, ou laissez ce champ vide."
    )


class TreatmentForm(ProfileForm):
    name = text_field(
        "Nom du médicament",
        help_text="Par exemple « Metformine 1000 mg ».",
    )
    cip_code = forms.CharField(
        label="Code CIP",
        required=False,
        max_length=20,
        help_text="Facultatif : les 7 ou 13 chiffres inscrits sur la boîte après « CIP ».",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    dosage = text_field("Posologie", help_text="Par exemple « 1 comprimé matin et soir ».")
    start_date = date_field("Date de début", help_text="Facultatif.")
    end_date = date_field("Date de fin", help_text="Laissez vide si vous le prenez toujours.")
    period = ("start_date", "end_date")
    not_future = {"start_date": "La date de début ne peut pas être dans le futur."}

    def clean_cip_code(self) -> str:
        return clean_cip(self.cleaned_data.get("cip_code") or "")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (
            not cleaned.get("name")
            and not cleaned.get("cip_code")
            and "cip_code" not in self.errors
        ):
            self.add_error("name", "Indiquez le nom du médicament ou son code CIP.")
        return cleaned


class AllergyForm(ProfileForm):
    substance = text_field(
        "Substance",
        required=True,
        help_text="Le médicament, l'aliment ou le produit en cause, par exemple « Pénicilline ».",
        required_msg="Indiquez la substance, par exemple « Pénicilline ».",
    )
    reaction = text_field(
        "Réaction", help_text="Facultatif. Par exemple « plaques rouges », « gonflement »."
    )
    severity = choice_field("Gravité", ALLERGY_SEVERITIES, radio=True, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["severity"].initial = "inconnue"

    def clean_severity(self) -> str:
        # Not knowing is an answer too; an API client may leave it out.
        return self.cleaned_data.get("severity") or "inconnue"


class VaccinationForm(ProfileForm):
    vaccine = text_field(
        "Vaccin",
        required=True,
        help_text="Le nom du vaccin ou la maladie qu'il prévient, par exemple « ROR ».",
        required_msg="Indiquez le vaccin, par exemple « Grippe saisonnière ».",
    )
    vaccinated_on = date_field(
        "Date de la vaccination",
        required=True,
        required_msg="Indiquez la date de la vaccination, par exemple 14/03/2025.",
    )
    lot_number = text_field(
        "Numéro de lot", help_text="Facultatif : il figure sur l'étiquette du carnet de santé."
    )
    route = choice_field(
        "Voie d'administration", VACCINATION_ROUTES, required=False, blank="Je ne sais pas"
    )
    site = choice_field(
        "Site d'injection", VACCINATION_SITES, required=False, blank="Je ne sais pas"
    )
    performer = text_field(
        "Vacciné par",
        help_text="Facultatif. Par exemple « Dr Martin » ou « Pharmacie des Carmes ».",
    )
    not_future = {"vaccinated_on": "La date de vaccination ne peut pas être dans le futur."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Suggestions from the French calendar (the page holds the <datalist>).
        self.fields["vaccine"].widget.attrs["list"] = "vaccins-suggeres"


class ScreeningForm(ProfileForm):
    exam = choice_field("Examen", PREVENTION_EXAMS, required=True)
    done_on = date_field(
        "Date de l'examen",
        required=True,
        required_msg="Indiquez la date de l'examen, par exemple 14/03/2025.",
    )
    place = text_field(
        "Fait par ou à",
        help_text="Facultatif. Par exemple « Centre d'imagerie du Parc » ou « Dr Martin ».",
    )
    not_future = {"done_on": "La date de l'examen ne peut pas être dans le futur."}


class HospitalisationForm(ProfileForm):
    place = text_field(
        "Établissement",
        required=True,
        help_text="Par exemple « CHU de Toulouse, service de cardiologie ».",
        required_msg="Indiquez l'hôpital ou la clinique.",
    )
    reason = text_field("Motif", help_text="Facultatif. Par exemple « opération du genou ».")
    start_date = date_field(
        "Date d'entrée", required=True, required_msg="Indiquez la date d'entrée."
    )
    end_date = date_field(
        "Date de sortie", help_text="Laissez vide si vous êtes encore hospitalisé."
    )
    period = ("start_date", "end_date")
    period_error = "La date de sortie ne peut pas être avant la date d'entrée."
    not_future = {"start_date": "La date d'entrée ne peut pas être dans le futur."}


class FamilyHistoryForm(ProfileForm):
    relation = choice_field(
        "Lien de parenté",
        FAMILY_RELATIONS,
        blank="Choisissez dans la liste",
        required_msg="Choisissez le lien de parenté.",
    )
    condition = text_field(
        "Maladie",
        required=True,
        help_text="Par exemple « cancer du sein », « infarctus avant 55 ans ».",
        required_msg="Indiquez la maladie de ce parent.",
    )


class DisabilityForm(ProfileForm):
    kind = choice_field(
        "Type de handicap",
        DISABILITY_KINDS,
        blank="Choisissez dans la liste",
        required_msg="Choisissez le type de handicap.",
    )
    rate = choice_field(
        "Taux d'incapacité reconnu",
        DISABILITY_RATES,
        required=False,
        blank="Non renseigné",
    )
    technical_help = text_field(
        "Aides techniques",
        textarea=True,
        help_text="Facultatif. Par exemple fauteuil roulant, appareil auditif, canne.",
    )
    human_help = text_field(
        "Aides humaines",
        textarea=True,
        help_text="Facultatif. Par exemple auxiliaire de vie 2 heures par jour.",
    )


def clean_phone(value: str) -> str:
    compact = "".join(ch for ch in value if ch not in " .-/()")
    if not compact:
        return ""
    digits = compact[1:] if compact.startswith("+") else compact
    if digits.isdigit() and (
        len(digits) == 10 or (compact.startswith("+") and 8 <= len(digits) <= 15)
    ):
        return value.strip()
    raise forms.ValidationError("Saisissez un numéro de téléphone, par exemple 06 12 34 56 78.")


class ContactForm(ProfileForm):
    kind = choice_field(
        "Rôle de cette personne",
        CONTACT_KINDS,
        radio=True,
        required_msg="Choisissez le rôle de cette personne.",
    )
    name = text_field(
        "Nom et prénom", required=True, required_msg="Indiquez le nom de cette personne."
    )
    relation = text_field(
        "Lien avec vous", help_text="Facultatif. Par exemple « fille », « voisin »."
    )
    phone = forms.CharField(
        label="Téléphone",
        required=False,
        max_length=30,
        help_text="Par exemple 06 12 34 56 78.",
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
    )
    email = forms.EmailField(
        label="Adresse électronique",
        required=False,
        max_length=TEXT_MAX,
        help_text="Facultatif. Par exemple nom@exemple.fr.",
        error_messages={
            "invalid": "Saisissez une adresse électronique valide, par exemple nom@exemple.fr."
        },
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def clean_phone(self) -> str:
        return clean_phone(self.cleaned_data.get("phone") or "")


class LifestyleForm(ProfileForm):
    food = text_field(
        "Alimentation", textarea=True, help_text="Par exemple régime sans sel, végétarien."
    )
    physical_activity = text_field(
        "Activité physique", textarea=True, help_text="Par exemple marche 30 minutes par jour."
    )
    sleep = text_field("Sommeil", textarea=True, help_text="Par exemple 7 heures par nuit.")
    screens = text_field(
        "Écrans", textarea=True, help_text="Le temps passé chaque jour devant les écrans."
    )
    alcohol = text_field(
        "Alcool", textarea=True, help_text="Par exemple un verre de vin le week-end."
    )
    tobacco = text_field(
        "Tabac", textarea=True, help_text="Par exemple non-fumeur, ou ancien fumeur depuis 2015."
    )


class BloodGroupForm(ProfileForm):
    group = choice_field(
        "Groupe sanguin",
        BLOOD_GROUPS,
        radio=True,
        required_msg="Choisissez votre groupe sanguin.",
    )


class WishesForm(ProfileForm):
    organ_donation = choice_field(
        "Votre position sur le don d'organes",
        ORGAN_DONATION,
        radio=True,
        required_msg="Choisissez une réponse.",
    )
