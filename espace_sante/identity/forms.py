"""Sign-in forms: allauth's, with our words and one lock for every factor.

A wrong password, a wrong emailed/SMS code and a wrong TOTP code all count
toward the same per-account limit: allauth's `login_failed` rate limit, keyed
by the account's identifier (`LOGIN_MAX_FAILURES` per `LOGIN_LOCKOUT_SECONDS`).
Each attempt is counted *before* the code is checked, under allauth's cache
lock, so parallel guesses cannot evaluate more codes than the limit; a right
code takes its own count back, as allauth does for a right password.
"""

from allauth.account.adapter import get_adapter
from allauth.account.forms import ConfirmLoginCodeForm, LoginForm
from allauth.core import context
from allauth.core.internal import ratelimit
from allauth.mfa.base.forms import AuthenticateForm


class SignInForm(LoginForm):
    """allauth's login form with the words of our users."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = "Identifiant (adresse électronique)"
        self.fields["login"].widget.attrs.update(autocomplete="username", spellcheck="false")
        self.fields["password"].help_text = ""
        self.fields["password"].widget.attrs.update(autocomplete="current-password")
        self.fields.pop("remember", None)


def count_sign_in_attempt(request, user) -> ratelimit.RateLimitUsage:
    """Count one second-factor attempt against the account's sign-in lock.

    Returns the usage to roll back if the code turns out right; refuses
    (form error « Trop de tentatives… ») when the account is locked.
    """
    adapter = get_adapter(request)
    usage = ratelimit.consume(
        request,
        app="allauth.account",
        action="login_failed",
        key=adapter.account_lock_key(request, user),
    )
    if not usage:
        raise adapter.validation_error("too_many_login_attempts")
    return usage


class LoginCodeForm(ConfirmLoginCodeForm):
    """The citizen's 6-digit code, counted toward the account lock."""

    def clean_code(self) -> str:
        request = context.request
        # The pending sign-in (allauth's login stage) names the account.
        user = request._login_stage.login.user
        usage = count_sign_in_attempt(request, user)
        code = super().clean_code()
        usage.rollback()
        return code


class SecondFactorForm(AuthenticateForm):
    """The professional's or operator's TOTP code, counted toward the account lock."""

    def clean_code(self) -> str:
        usage = count_sign_in_attempt(context.request, self.user)
        code = super().clean_code()
        usage.rollback()
        return code
