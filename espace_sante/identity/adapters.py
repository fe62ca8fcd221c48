"""How django-allauth fits our identities.

Citizens confirm every password sign-in with a one-time code (email, or SMS
when they chose it); professionals use TOTP instead, or Pro Santé Connect.
Nobody signs up here: accounts come from enrollment and the directory.
"""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.contrib import messages
from django.shortcuts import resolve_url

from .models import User
from .sms import get_sms_sender


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

    def is_login_by_code_required(self, login) -> bool:
        user = login.user
        return user is not None and user.kind == User.Kind.CITIZEN

    def get_login_stages(self) -> list[str]:
        return [
            "espace_sante.identity.stages.SecondFactorStage"
            if stage == "allauth.mfa.stages.AuthenticateStage"
            else stage
            for stage in super().get_login_stages()
        ]

    def is_reauthentication_required(self, *, app: str, **kwargs) -> bool:
        # A professional sent to set up a first TOTP right after typing the
        # password is not asked for it again; changing an existing one is.
        user = getattr(self.request, "user", None)
        if app == "allauth.mfa" and user is not None and user.is_authenticated:
            from allauth.mfa.models import Authenticator

            if not Authenticator.objects.filter(user=user).exists():
                return False
        return super().is_reauthentication_required(app=app, **kwargs)

    def account_lock_key(self, request, user) -> str:
        """The key of the per-account sign-in lock: the one allauth counts wrong passwords under."""
        return self._get_login_attempts_cache_key(request, email=user.email)

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        if template_prefix == "account/email/login_code":
            user = User.objects.filter(email__iexact=email).select_related("person").first()
            person = getattr(user, "person", None) if user else None
            if user and user.otp_channel == User.OtpChannel.SMS and person and person.mobile_phone:
                self.send_verification_code_sms(user, person.mobile_phone, context["code"])
                return
        super().send_mail(template_prefix, email, context)

    def send_verification_code_sms(self, user, phone: str, code: str, **kwargs) -> None:
        get_sms_sender().send(
            phone,
            f"espace-santé : votre code de connexion est {code}. Il expire dans 10 minutes. "
            "Ne le communiquez à personne.",
        )

    def get_login_redirect_url(self, request) -> str:
        return resolve_url("web:home")

    def add_message(
        self,
        request,
        level,
        message_template=None,
        message_context=None,
        extra_tags="",
        message=None,
    ):
        # The "signed in as <email>" message repeats an identifier on screen
        # for nothing; keep the others.
        if message_template == "account/messages/logged_in.txt":
            return
        super().add_message(request, level, message_template, message_context, extra_tags, message)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Pro Santé Connect: only professionals already in our directory get in."""

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def pre_social_login(self, request, sociallogin) -> None:
        if sociallogin.is_existing:
            return
        # PSC identifies professionals by their national id (8 + RPPS) in
        # `sub` or a `SubjectNameID` claim: link to the directory entry.
        from .services import professional_for_oidc_claims

        # allauth keeps the provider's data as {"userinfo": …, "id_token": …}.
        data = sociallogin.account.extra_data or {}
        claims = {**data.get("id_token", {}), **data.get("userinfo", {}), **data}
        professional = professional_for_oidc_claims(sociallogin.account.uid, claims)
        if professional is None or professional.user is None:
            messages.error(
                request,
                "Votre identité professionnelle est reconnue, mais aucun compte espace-santé "
                "ne lui correspond. Contactez l'assistance de votre structure.",
            )
            return
        sociallogin.connect(request, professional.user)


class MFAAdapter(DefaultMFAAdapter):
    """A professional's or an operator's TOTP cannot be switched off: it is mandatory."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": (
            "La double authentification est obligatoire pour les professionnels et les "
            "opérateurs : elle ne peut pas être désactivée. Pour changer d'appareil, "
            "utilisez un code de secours puis contactez le support de votre structure."
        ),
    }

    def can_delete_authenticator(self, authenticator) -> bool:
        return authenticator.user.kind == User.Kind.CITIZEN
