from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.signals import authenticator_added
from django.dispatch import receiver


@receiver(authenticator_added)
def count_activation_as_second_factor(sender, request, user, authenticator, **kwargs):
    # Activating TOTP means typing a valid code: the session has proved the
    # second factor, so the professional is not sent to sign in again.
    if request is not None:
        record_authentication(request, user, "mfa", type=authenticator.type)
