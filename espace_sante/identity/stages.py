"""Sign-in stages: TOTP after a password, not after Pro Santé Connect."""

from allauth.mfa.stages import AuthenticateStage


class SecondFactorStage(AuthenticateStage):
    """allauth's TOTP stage, skipped for an OpenID Connect sign-in.

    Pro Santé Connect already authenticated the professional with two factors
    (CPS card and PIN, or the e-CPS app); asking for our TOTP again would only
    make them keep a second device.
    """

    def _should_handle(self, request) -> bool:
        if (self.login.signal_kwargs or {}).get("sociallogin") is not None:
            return False
        return super()._should_handle(request)
