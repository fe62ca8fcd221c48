from django import forms
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from espace_sante.identity import validators as identity_validators
from espace_sante.identity.models import User

from . import validators


class IdentifyForm(forms.Form):
    """Provisional code + NIR + card serial: what activation and objection both ask."""

    code = forms.CharField(
        label="Code provisoire",
        max_length=20,
        help_text="12 caractères, reçus par courriel ou par courrier (par exemple ABCD-EFGH-JK23).",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )
    nir = forms.CharField(
        label="Numéro de sécurité sociale",
        max_length=21,
        help_text="15 chiffres, clé comprise, tel qu'il figure sur votre carte Vitale.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    card_serial = forms.CharField(
        label="Numéro de série de la carte Vitale",
        max_length=20,
        help_text="Au dos de votre carte Vitale, 8 à 12 chiffres.",
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean_nir(self):
        return identity_validators.validate_nir(self.cleaned_data["nir"])

    def clean_card_serial(self):
        return validators.validate_card_serial(self.cleaned_data["card_serial"])


class NewCodeForm(IdentifyForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["code"]


class AccountForm(forms.Form):
    """The second step of activation: how the person will sign in."""

    email = forms.EmailField(
        label="Adresse électronique",
        help_text="Votre identifiant de connexion ; vos codes de connexion y sont envoyés.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    password1 = forms.CharField(
        label="Mot de passe",
        help_text="Au moins 12 caractères, pas uniquement des chiffres ni un mot courant.",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirmez le mot de passe",
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    otp_channel = forms.ChoiceField(
        label="Recevoir le code de connexion",
        choices=User.OtpChannel.choices,
        initial=User.OtpChannel.EMAIL,
        widget=forms.RadioSelect,
    )
    mobile_phone = forms.CharField(
        label="Téléphone portable (pour recevoir le code par SMS)",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def clean_mobile_phone(self):
        value = self.cleaned_data["mobile_phone"]
        return identity_validators.normalize_mobile(value) if value else ""

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") != data.get("password1"):
            self.add_error("password2", "Les deux mots de passe ne sont pas identiques.")
        elif data.get("password1"):
            try:
                password_validation.validate_password(data["password1"])
            except ValidationError as exc:
                self.add_error("password1", exc)
        if data.get("otp_channel") == User.OtpChannel.SMS and not data.get("mobile_phone"):
            self.add_error(
                "mobile_phone", "Indiquez un téléphone portable pour recevoir le code par SMS."
            )
        return data


class ConfirmObjectionForm(forms.Form):
    confirm = forms.BooleanField(
        label="Je m'oppose à la création de mon espace santé.",
        error_messages={"required": "Cochez la case pour confirmer votre opposition."},
    )


class CloseForm(forms.Form):
    mode = forms.ChoiceField(
        label="Que deviennent mes données ?",
        choices=[
            ("archive", "Les conserver 10 ans (je pourrai rouvrir mon espace et les retrouver)"),
            ("delete", "Les supprimer définitivement (dans les 3 mois, sans retour possible)"),
        ],
        initial="archive",
        widget=forms.RadioSelect,
    )
    understood = forms.BooleanField(
        label="J'ai compris que plus aucun professionnel ne pourra consulter mon dossier "
        "ni y déposer de document.",
        error_messages={"required": "Cochez la case pour confirmer que vous avez compris."},
    )


class CloseCodeForm(forms.Form):
    code = forms.CharField(
        label="Code reçu par courriel",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
