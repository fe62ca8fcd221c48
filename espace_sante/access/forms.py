from typing import Any

from django import forms

from .history import PERIODS, kind_choices
from .notifications import SENT_KINDS
from .reports import COMMENT_MAX


class HistoryFilterForm(forms.Form):
    period = forms.ChoiceField(
        label="Période",
        choices=[(code, label) for code, (label, _) in PERIODS.items()],
        required=False,
    )
    kind = forms.ChoiceField(
        label="Type d'action",
        choices=kind_choices,
        required=False,
    )


class ReportForm(forms.Form):
    comment = forms.CharField(
        label="Commentaire (facultatif)",
        help_text="Ce qui vous surprend dans cet accès. N'écrivez aucune information médicale.",
        max_length=COMMENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"max_length": f"Le commentaire fait au plus {COMMENT_MAX} caractères."},
    )


class NotificationForm(forms.Form):
    """One checkbox per kind of notification, as the patient reads them."""

    def __init__(self, *args: Any, current: dict[str, bool], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in SENT_KINDS:
            self.fields[kind] = forms.BooleanField(
                label=kind.label, required=False, initial=current.get(kind, True)
            )
