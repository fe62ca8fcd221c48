from django import forms


class SearchForm(forms.Form):
    q = forms.CharField(
        label="Nom de la pharmacie, commune ou code postal",
        max_length=100,
        required=False,
    )


class PrescriptionForm(forms.Form):
    SOURCE_DOCUMENT = "document"
    SOURCE_PHOTO = "photo"

    source = forms.ChoiceField(
        label="Ordonnance",
        choices=[
            (SOURCE_DOCUMENT, "Un document de mon espace"),
            (SOURCE_PHOTO, "Une photo de l'ordonnance"),
        ],
        widget=forms.RadioSelect,
        initial=SOURCE_DOCUMENT,
    )
    document = forms.ChoiceField(label="Document", required=False)
    photo = forms.FileField(
        label="Photo de l'ordonnance",
        required=False,
        help_text="JPEG, PNG ou PDF ; 5 Mo au maximum.",
    )
    note = forms.CharField(
        label="Message pour la pharmacie",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Facultatif : par exemple l'heure à laquelle vous passerez.",
    )

    def __init__(self, *args, documents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].choices = [("", "Choisissez un document")] + [
            (str(item.document.id), f"{item.title} ({item.document.document_date:%d/%m/%Y})")
            for item in documents
        ]

    def clean(self):
        data = super().clean()
        if data.get("source") == self.SOURCE_PHOTO and not data.get("photo"):
            self.add_error("photo", "Choisissez la photo de votre ordonnance.")
        if data.get("source") == self.SOURCE_DOCUMENT and not data.get("document"):
            self.add_error("document", "Choisissez le document à envoyer.")
        return data
