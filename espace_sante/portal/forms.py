from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms

from espace_sante.record.documents.forms import DateInput
from espace_sante.record.documents.reference import document_types
from espace_sante.record.profile.measure_forms import TimeInput


class FindPatientForm(forms.Form):
    matricule = forms.CharField(
        label="Matricule INS (numéro de sécurité sociale)",
        max_length=21,
        help_text="15 caractères, clé comprise, tel qu'il figure sur la carte Vitale.",
        error_messages={"required": "Saisissez le matricule INS du patient."},
    )
    birth_date = forms.DateField(
        label="Date de naissance",
        widget=DateInput(),
        error_messages={
            "required": "Saisissez la date de naissance du patient.",
            "invalid": "Saisissez une date valide, par exemple 14/03/1988.",
        },
    )
    birth_name = forms.CharField(
        label="Nom de naissance",
        max_length=100,
        error_messages={"required": "Saisissez le nom de naissance du patient."},
    )


class EmergencyForm(forms.Form):
    justification = forms.CharField(
        label="Justification de l'accès d'urgence",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Obligatoire. Elle sera montrée au patient et à son médecin traitant.",
        error_messages={"required": "Écrivez pourquoi l'accès d'urgence est nécessaire."},
    )


def _type_choices():
    return [("", "Choisissez le type de document")] + sorted(
        (
            (t.code, f"{t.label}")
            for t in document_types().values()
            if not t.code.startswith("DOCPAT")
        ),
        key=lambda choice: choice[1],
    )


class DepositForm(forms.Form):
    file = forms.FileField(
        label="Document (PDF)",
        error_messages={"required": "Choisissez le document à déposer."},
    )
    type_code = forms.ChoiceField(
        label="Type de document",
        choices=_type_choices,
        error_messages={"required": "Choisissez le type de document."},
    )
    title = forms.CharField(
        label="Titre",
        max_length=200,
        error_messages={"required": "Donnez un titre au document."},
    )
    document_date = forms.DateField(
        label="Date de l'acte",
        required=False,
        widget=DateInput(),
        error_messages={"invalid": "Saisissez une date valide."},
    )
    replaces = forms.ChoiceField(
        label="Nouvelle version de",
        required=False,
        help_text="Facultatif : le document que vous avez déposé et que celui-ci remplace.",
    )

    def __init__(self, *args, own_documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["replaces"].choices = [("", "Aucun : c'est un nouveau document")] + [
            (str(item.document.id), f"{item.title} ({item.document.document_date:%d/%m/%Y})")
            for item in own_documents
        ]


PARIS = ZoneInfo("Europe/Paris")


class AppointmentForm(forms.Form):
    """An appointment a professional gives a patient; the day and time are Paris time."""

    day = forms.DateField(
        label="Date",
        widget=DateInput(),
        error_messages={
            "required": "Indiquez la date du rendez-vous.",
            "invalid": "Saisissez une date valide, par exemple 14/03/2027.",
        },
    )
    time = forms.TimeField(
        label="Heure",
        widget=TimeInput(),
        help_text="Heure de Paris.",
        error_messages={
            "required": "Indiquez l'heure du rendez-vous.",
            "invalid": "Saisissez une heure valide, par exemple 14:30.",
        },
    )
    duration_minutes = forms.IntegerField(
        label="Durée (minutes)",
        initial=30,
        error_messages={
            "required": "Indiquez la durée en minutes, par exemple 30.",
            "invalid": "Indiquez la durée en minutes, par exemple 30.",
        },
    )
    with_whom = forms.CharField(label="Avec", max_length=200)
    place = forms.CharField(label="Lieu", max_length=200, required=False)
    reason = forms.CharField(
        label="Motif",
        max_length=200,
        required=False,
        help_text="Facultatif. Le patient le voit ; il est chiffré dans son espace.",
    )

    def appointment(self) -> dict[str, object]:
        """What ``agenda.services.add_appointment`` takes."""
        data = self.cleaned_data
        return {
            "starts_at": datetime.combine(data["day"], data["time"], tzinfo=PARIS),
            "time_zone": "Europe/Paris",
            "duration_minutes": data["duration_minutes"],
            "with_whom": data["with_whom"],
            "place": data["place"],
            "reason": data["reason"],
        }
