from django import forms
from django.conf import settings
from django.utils import timezone


class CampaignForm(forms.Form):
    name = forms.CharField(label="Nom de la campagne", max_length=100)
    department = forms.CharField(label="Département", max_length=3, help_text="Par exemple 31.")
    start_date = forms.DateField(
        label="Début des envois",
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    objection_days = forms.IntegerField(
        label="Délai d'opposition (jours)",
        min_value=1,
        max_value=365,
        initial=lambda: settings.ENROLLMENT_OBJECTION_DAYS,
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label="Fichier des bénéficiaires (CSV, séparateur point-virgule, UTF-8)",
        error_messages={"required": "Choisissez un fichier CSV."},
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError("Le fichier doit être un CSV (.csv).")
        return upload


class PersonSearchForm(forms.Form):
    nir = forms.CharField(label="Numéro de sécurité sociale (NIR)", max_length=21)

    def clean_nir(self):
        from espace_sante.identity.validators import validate_nir

        return validate_nir(self.cleaned_data["nir"])


class PersonActionForm(forms.Form):
    reason = forms.CharField(
        label="Motif (conservé dans l'historique)",
        max_length=200,
        help_text="Par exemple : fraude signalée, décès déclaré, demande écrite de la personne.",
    )
