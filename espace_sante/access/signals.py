"""Sign-ins traced in the citizen's own trail (access.md: "a sign-in")."""

from allauth.account.signals import user_logged_in
from django.dispatch import receiver


@receiver(user_logged_in, dispatch_uid="access_trace_sign_in")
def trace_citizen_sign_in(sender, request=None, user=None, **kwargs):
    """One entry per completed sign-in of a citizen (after the one-time code), no health data."""
    person = getattr(user, "person", None) if user is not None else None
    if person is None:
        return
    from . import audit
    from .policy import Actor, ActorKind

    actor = Actor(ActorKind.PATIENT, user_id=user.pk, person_id=person.id)
    audit.record(actor, "sign_in", person.id, object_type="account", mode="titulaire")
