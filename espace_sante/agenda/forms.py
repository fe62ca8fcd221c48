"""The agenda's web forms: what a person types, turned into what the services take."""

from datetime import datetime
from typing import Any

from django import forms

from .services import PARIS


class AppointmentForm(forms.Form):
    """An appointment as a person types it: a Paris date and time, a duration, free text."""

    date = forms.DateField(
        label="Date",
        help_text="Format attendu : JJ/MM/AAAA, par exemple 14/12/2026",
        # Typed as text: a browser's date field orders day and month by its own locale.
        input_formats=["%d/%m/%Y", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"autocomplete": "off"}, format="%d/%m/%Y"),
        error_messages={
            "required": "Indiquez la date du rendez-vous.",
            "invalid": "Indiquez une date valide, par exemple 14/12/2026.",
        },
    )
    time = forms.TimeField(
        label="Heure",
        help_text="Heure de Paris, par exemple 14:30",
        input_formats=["%H:%M", "%Hh%M", "%H h %M", "%Hh"],
        widget=forms.TimeInput(attrs={"autocomplete": "off"}, format="%H:%M"),
        error_messages={
            "required": "Indiquez l'heure du rendez-vous.",
            "invalid": "Indiquez une heure valide, par exemple 14:30.",
        },
    )
    duration = forms.IntegerField(
        label="Durée (en minutes)",
        initial=30,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        error_messages={
            "required": "Indiquez la durée en minutes, par exemple 30.",
            "invalid": "Indiquez la durée en minutes, par exemple 30.",
        },
    )
    with_whom = forms.CharField(
        label="Avec qui",
        help_text="Le professionnel ou l'établissement, par exemple « Dr Martin »",
        required=False,
    )
    place = forms.CharField(label="Lieu", help_text="L'adresse ou le nom du lieu", required=False)
    reason = forms.CharField(label="Motif", required=False)

    # The services' field names → this form's.
    FIELDS = {"starts_at": "date", "duration_minutes": "duration"}

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            # Typed in Paris time; stored in UTC by the service.
            "starts_at": datetime.combine(data["date"], data["time"]).replace(tzinfo=PARIS),
            "time_zone": "Europe/Paris",
            "duration_minutes": data["duration"],
            "with_whom": data["with_whom"],
            "place": data["place"],
            "reason": data["reason"],
        }

    def add_service_errors(self, errors: dict[str, str]) -> None:
        for name, message in errors.items():
            field = self.FIELDS.get(name, name)
            self.add_error(field if field in self.fields else None, message)


class DayForm(forms.Form):
    """One date, for « C'est fait » and the pregnancy (today by default)."""

    on = forms.DateField(
        error_messages={
            "required": "Indiquez une date.",
            "invalid": "Indiquez une date valide, par exemple 14/12/2026.",
        }
    )
