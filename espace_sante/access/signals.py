"""Sign-ins traced in the citizen's own trail (access.md: "a sign-in")."""

from typing import TYPE_CHECKING, Any

from allauth.account.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

if TYPE_CHECKING:
    from espace_sante.identity.models import Person, User


@receiver(user_logged_in, dispatch_uid="access_trace_sign_in")
def trace_citizen_sign_in(
    sender: object, request: HttpRequest | None = None, user: "User | None" = None, **kwargs: Any
) -> None:
    """One entry per completed sign-in of a citizen (after the one-time code), no health data."""
    person: Person | None = getattr(user, "person", None) if user is not None else None
    if user is None or person is None:
        return
    from . import audit
    from .policy import Actor, ActorKind

    actor = Actor(ActorKind.PATIENT, user_id=user.pk, person_id=person.id)
    audit.record(actor, "sign_in", person.id, object_type="account", mode="titulaire")


def _forget_relations(sender: object, **kwargs: Any) -> None:
    """A relation row changed: the policy's per-request memo must not answer from before."""
    from .policy import forget

    forget()


def connect_relation_changes() -> None:
    from django.db.models.signals import post_delete, post_save

    from espace_sante.identity.models import Person, Role

    from . import consent_models as relations

    for model in (
        Person,
        Role,
        relations.AccessSettings,
        relations.Block,
        relations.CareRelationship,
        relations.Consent,
        relations.EmergencyAccess,
        relations.MatrixCell,
        relations.PatientRole,
    ):
        for signal in (post_save, post_delete):
            signal.connect(
                _forget_relations, sender=model, dispatch_uid=f"policy_forget_{model.__name__}"
            )
