"""What a measure and a measure goal accept: numbers typed the French way, within a range.

Each value is checked against the range of its measure type (or of each
component, for blood pressure) and rounded to the unit's decimals; the French
sentence gives the range.
"""

from datetime import datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.utils import timezone

from .forms import ProfileForm, date_field
from .reference import MeasureType, Unit, french_number


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class FrenchDecimalField(forms.Field):
    """A number typed the French way (« 72,5 ») or the English way (« 72.5 »)."""

    widget = forms.TextInput

    def __init__(self, *, example: str, **kwargs: Any) -> None:
        self.example = example
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Decimal | None:
        if isinstance(value, Decimal | int):
            return Decimal(value)
        text = "" if value is None else str(value).strip()
        if not text:
            return None
        # Spaces (and the thin ones of French typography) group thousands.
        compact = "".join(text.split()).replace("\u202f", "").replace(",", ".")
        try:
            number = Decimal(compact) if len(compact) <= 20 else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise forms.ValidationError(
                f"Saisissez un nombre, par exemple {self.example}.", code="invalid"
            )
        return number


def _range_error(subject: str, feminine: bool, unit: Unit, low: Decimal, high: Decimal) -> str:
    agreed = "comprise" if feminine else "compris"
    return (
        f"{subject} doit être {agreed} entre {french_number(low)} et {french_number(high)} "
        f"{unit.label}."
    )


class MeasureValuesForm(ProfileForm):
    """Base of the forms that hold a measure's value (two for blood pressure)."""

    def __init__(self, measure: MeasureType, *args: Any, **kwargs: Any) -> None:
        self.measure = measure
        super().__init__(*args, **kwargs)

    def clean_values(self, cleaned: dict[str, Any], unit: Unit) -> None:
        """Refuse each value outside its range, saying the range in French; round the others."""
        measure = self.measure
        if measure.components:
            ranges = [
                (name, part.minimum, part.maximum, part.subject, part.feminine)
                for name, part in zip(("value", "second_value"), measure.components, strict=True)
            ]
        else:
            ranges = [("value", unit.minimum, unit.maximum, measure.subject, measure.feminine)]
        step = Decimal(1).scaleb(-unit.decimals)
        for name, low, high, subject, feminine in ranges:
            value = cleaned.get(name)
            if value is None:
                continue
            if low <= value <= high:
                cleaned[name] = value.quantize(step)
            else:
                self.add_error(name, _range_error(subject, feminine, unit, low, high))


class MeasureForm(MeasureValuesForm):
    """A value (two for blood pressure), its unit when there is a choice, date and time."""

    def __init__(self, measure: MeasureType, *args: Any, **kwargs: Any) -> None:
        super().__init__(measure, *args, **kwargs)
        unit = measure.unit
        if measure.components:
            first, second = measure.components
            self.fields["value"] = self._value_field(f"{first.label}, en {unit.label}", first.label)
            self.fields["second_value"] = self._value_field(
                f"{second.label}, en {unit.label}", second.label
            )
        else:
            label = measure.label if len(measure.units) > 1 else f"{measure.label} ({unit.label})"
            self.fields["value"] = self._value_field(label, measure.label)
        if len(measure.units) > 1:
            self.fields["unit"] = forms.ChoiceField(
                label="Unité",
                choices=[(u.code, u.label) for u in measure.units],
                initial=unit.code,
                widget=forms.Select(attrs={"class": "fr-select"}),
                error_messages={"required": "Choisissez l'unité."},
            )
        self.fields["date"] = date_field(
            "Date de la mesure",
            required=True,
            required_msg="Indiquez la date de la mesure, par exemple 14/03/2025.",
        )
        self.fields["date"].initial = timezone.localdate()
        self.fields["date"].widget.attrs["class"] = "fr-input"
        self.fields["time"] = forms.TimeField(
            label="Heure",
            required=False,
            help_text="Facultatif, par exemple 08:30.",
            widget=TimeInput(attrs={"class": "fr-input"}),
            error_messages={"invalid": "Saisissez une heure valide, par exemple 08:30."},
        )
        if measure.hint:
            self.fields["value"].help_text = measure.hint

    def _value_field(self, label: str, short: str) -> FrenchDecimalField:
        return FrenchDecimalField(
            label=label,
            example=self.measure.example,
            widget=forms.TextInput(
                attrs={"inputmode": "decimal", "class": "fr-input", "autocomplete": "off"}
            ),
            error_messages={"required": f"Indiquez la valeur : {short.lower()}."},
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        measure = self.measure
        unit = measure.unit_for(cleaned.get("unit") or measure.unit.code)
        if unit is None:
            return cleaned
        cleaned["unit"] = unit.code
        self.clean_values(cleaned, unit)
        high, low = cleaned.get("value"), cleaned.get("second_value")
        if measure.components and high is not None and low is not None and not self.errors:
            if high <= low:
                self.add_error(
                    "second_value",
                    "La pression diastolique (le chiffre le plus bas) doit être inférieure "
                    "à la systolique. Vérifiez l'ordre des deux chiffres.",
                )
        day = cleaned.get("date")
        if day is not None:
            clock = cleaned.get("time")
            now = timezone.localtime()
            if day > now.date():
                self.add_error("date", "La date de la mesure ne peut pas être dans le futur.")
            else:
                if clock is None:
                    clock = now.time().replace(microsecond=0) if day == now.date() else time(12)
                measured_at = timezone.make_aware(datetime.combine(day, clock))
                if measured_at > now:
                    self.add_error("time", "L'heure de la mesure ne peut pas être dans le futur.")
                cleaned["measured_at"] = measured_at
        return cleaned


class MeasureTargetForm(MeasureValuesForm):
    """The patient's goal for one measure type, in its first unit."""

    def __init__(self, measure: MeasureType, *args: Any, **kwargs: Any) -> None:
        super().__init__(measure, *args, **kwargs)
        unit = measure.unit
        if measure.components:
            for name, component in zip(("value", "second_value"), measure.components, strict=True):
                self.fields[name] = FrenchDecimalField(
                    label=f"Objectif : {component.label.lower()}, en {unit.label}",
                    example=measure.example,
                    widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "fr-input"}),
                    error_messages={"required": "Indiquez la valeur de votre objectif."},
                )
        else:
            self.fields["value"] = FrenchDecimalField(
                label=f"Objectif ({unit.label})",
                example=measure.example,
                widget=forms.TextInput(attrs={"inputmode": "decimal", "class": "fr-input"}),
                error_messages={"required": "Indiquez la valeur de votre objectif."},
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self.clean_values(cleaned, self.measure.unit)
        return cleaned
