from django import forms
from django.conf import settings

from espace_sante.record.documents.forms import PATIENT_CATEGORY_CHOICES

from .models import Conversation


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input (Django's documented recipe)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data if item]
        return [single(data, initial)] if data else []


def _attachments_help(max_bytes: int | None = None) -> str:
    size = (max_bytes or settings.MESSAGING_ATTACHMENT_MAX_BYTES) / 1_000_000
    return (
        f"Facultatif : jusqu'à {settings.MESSAGING_MAX_ATTACHMENTS} fichiers (PDF, image, texte), "
        f"{size:.0f} Mo chacun au maximum."
    )


class ReplyForm(forms.Form):
    body = forms.CharField(
        label="Votre réponse",
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": "Écrivez votre message avant de l'envoyer."},
    )
    attachments = MultipleFileField(label="Pièces jointes", required=False)

    def __init__(self, *args, max_bytes: int | None = None, **kwargs):
        # ``max_bytes``: the sender's own limit (a patient's is that of her documents),
        # so the help says the size the service will really accept.
        super().__init__(*args, **kwargs)
        self.fields["attachments"].help_text = _attachments_help(max_bytes)


class ComposeForm(ReplyForm):
    subject = forms.CharField(
        label="Objet",
        max_length=200,
        error_messages={"required": "Donnez un objet à votre message."},
    )
    reply_mode = forms.ChoiceField(
        label="Réponse du patient",
        choices=Conversation.ReplyMode.choices,
        initial=Conversation.ReplyMode.REPLY,
    )
    from_mailbox = forms.BooleanField(
        label="Envoyer depuis la boîte de la structure",
        required=False,
        help_text="Vos collègues de la structure pourront suivre la conversation.",
    )
    field_order = ["subject", "body", "attachments", "reply_mode", "from_mailbox"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["body"].label = "Message"


class CloseForm(forms.Form):
    reason = forms.CharField(
        label="Pourquoi fermez-vous la conversation ?",
        max_length=500,
        help_text="Le patient lira ce motif ; il ne pourra plus répondre.",
        error_messages={"required": "Indiquez au patient pourquoi vous fermez la conversation."},
    )


class SaveAttachmentForm(forms.Form):
    title = forms.CharField(
        label="Titre du document",
        max_length=200,
        error_messages={"required": "Donnez un titre au document."},
    )
    category = forms.ChoiceField(
        label="Type de document",
        choices=PATIENT_CATEGORY_CHOICES,
        error_messages={"required": "Choisissez le type de document."},
    )
