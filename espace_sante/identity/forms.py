from allauth.account.forms import LoginForm


class SignInForm(LoginForm):
    """allauth's login form with the words of our users."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Identifiant (adresse électronique)"
        self.fields["login"].widget.attrs.update(autocomplete="username", spellcheck="false")
        self.fields["password"].help_text = ""
        self.fields["password"].widget.attrs.update(autocomplete="current-password")
        self.fields.pop("remember", None)
