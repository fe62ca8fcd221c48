"""Connected apps as policy actors: the patient's grants, their archive, the app actor.

A connected app (an OAuth2 ``Application`` of django-oauth-toolkit) reaches a
record only while the patient's side has granted it SMART scopes for
purposes, until an expiry (``AppGrant``). Every request of the app builds its
actor here, in ``app_actor``: the scopes it holds are those of the active
grant *and* of its access token, and the policy checks the grant of the
record it decides on again (``policy._app_allows``). No active grant —
never given, revoked, expired — and the policy refuses everything.

Granting and revoking are changes to the space's access: only the patient's
side makes them (the titulaire, a legal representative of a minor, an
aidant), through the guard, traced in the history as « … a autorisé
l'application « X » … ».
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from espace_sante.identity.models import Person

from . import scopes as smart
from .grant_models import AppGrant, ArchivedAppGrant
from .guard import guard
from .policy import Actor, ActorKind, Id
from .services import AccessChangeRefused

if TYPE_CHECKING:
    from oauth2_provider.models import AbstractApplication  # untyped: Any to mypy

# Without an expiry from the catalogue, a grant lasts a year (the patient may
# revoke it at any time; the catalogue issue sets per-app durations).
DEFAULT_DURATION = timedelta(days=365)
# Only patient-context scopes are granted: a patient's app reads one record,
# never "everything the user may see" (user/) or the whole service (system/).
GRANTED_CONTEXTS = ("patient",)


def _client_id(application: "AbstractApplication | str") -> str:
    if isinstance(application, str):
        return application
    client_id: str = application.client_id
    return client_id


def active_grant(patient_id: Id, application: "AbstractApplication | str") -> AppGrant | None:
    """The grant the patient's side gave ``application`` (an Application or a client id), if active.

    Access metadata, not health data: not traced. An expired grant stays in the
    table, allowing nothing, until the patient's side grants the app again
    (it is then archived as expired).
    """
    query = AppGrant.objects.filter(  # type: ignore[misc]  # id text, see policy.Id
        patient_id=patient_id, expires_at__gt=timezone.now()
    )
    if isinstance(application, str):
        query = query.filter(application__client_id=application)
    else:
        query = query.filter(application=application)
    try:
        return query.first()
    except (ValueError, ValidationError):  # not a patient id
        return None


def app_actor(
    application: "AbstractApplication | str",
    patient_id: Id,
    person_id: Id | None,
    token_scopes: Iterable[str] | str | None = None,
    *,
    user_id: int | None = None,
) -> Actor:
    """The one way to build the actor of a connected app acting for a citizen.

    ``patient_id`` is the record the app was launched for (SMART's patient
    context), ``person_id`` the citizen who signed in to the app, and
    ``token_scopes`` what its access token carries (None: the grant's scopes).
    The actor holds the scopes both allow; without an active grant it holds
    none, and the policy refuses everything.
    """
    grant = active_grant(patient_id, application)
    granted = grant.scopes if grant is not None else ""
    held = (
        smart.intersect(granted, granted)
        if token_scopes is None
        else smart.intersect(granted, token_scopes)
    )
    return Actor(
        ActorKind.APP,
        user_id=user_id,
        person_id=person_id,
        acting_for=_client_id(application),
        scopes=held,
    )


def _archive(grant: AppGrant, ending: str, ended_by: Id | None, now: datetime) -> ArchivedAppGrant:
    return ArchivedAppGrant.objects.create(
        patient_id=grant.patient_id,
        grant_id=grant.id,
        application_id=grant.application_id,
        client_id=grant.application.client_id,
        application_name=grant.application.name or "",
        granted_by_id=grant.granted_by_id,
        scopes=grant.scopes,
        purposes=grant.purposes,
        created_at=grant.created_at,
        expires_at=grant.expires_at,
        revoked_at=min(now, grant.expires_at) if ending == ArchivedAppGrant.Ending.EXPIRED else now,
        ending=ending,
        ended_by_id=ended_by,
    )


def grant_app(
    actor: Actor,
    patient: Person,
    application: "AbstractApplication",
    scopes: Iterable[str] | str,
    purposes: Iterable[str] = (),
    expires_at: datetime | None = None,
) -> AppGrant:
    """The patient's side lets ``application`` use ``scopes`` on the record, for ``purposes``.

    A grant already there (active or expired) is archived as replaced and
    its row rewritten: there is one grant per patient and app, even when two
    grants race (the unique constraint decides, the loser replaces the winner).
    """
    # Before the transaction: a refusal is committed on its own (guard.py).
    managing = guard(
        actor,
        "app_grant",
        patient.id,
        object_type="app_grant",
        reason=application.client_id,
        trace=False,
    )
    wanted = smart.normalise(
        str(s) for s in smart.parse_all(scopes) if s.context in GRANTED_CONTEXTS
    )
    if not wanted:
        raise AccessChangeRefused(
            "Choisissez au moins une donnée à partager avec cette application "
            "(une portée patient/…, par exemple patient/DocumentReference.rs).",
            code="scopes",
        )
    now = timezone.now()
    expires_at = expires_at or now + DEFAULT_DURATION
    if expires_at <= now:
        raise AccessChangeRefused(
            "La date de fin de l'autorisation doit être dans le futur.", code="expires_at"
        )
    values: dict[str, Any] = {  # the fields of a grant, of several types
        "granted_by_id": actor.person_id,
        "scopes": wanted,
        "purposes": sorted({str(p) for p in purposes}),
        "created_at": now,
        "expires_at": expires_at,
    }
    with transaction.atomic():
        for _attempt in range(2):
            current = (
                AppGrant.objects.select_for_update()
                .select_related("application")
                .filter(patient=patient, application=application)
                .first()
            )
            if current is not None:
                ending = (
                    ArchivedAppGrant.Ending.REPLACED
                    if current.is_active(now)
                    else ArchivedAppGrant.Ending.EXPIRED
                )
                _archive(current, ending, actor.person_id, now)
                for name, value in values.items():
                    setattr(current, name, value)
                current.save()
                grant = current
                break
            try:
                # A savepoint: on PostgreSQL a concurrent grant that committed
                # first makes this insert fail; the loop then replaces it.
                with transaction.atomic():
                    grant = AppGrant.objects.create(
                        patient=patient, application=application, **values
                    )
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover - a third writer in the same instant
            raise AccessChangeRefused(
                "Une autre autorisation de cette application vient d'être enregistrée : réessayez.",
                code="concurrent",
            )
        managing.trace(grant, reason=application.client_id)
    return grant


def revoke_app(actor: Actor, patient: Person, application: "AbstractApplication") -> bool:
    """The patient's side withdraws the app's grant; it reads nothing more. False if none."""
    managing = guard(
        actor,
        "app_revoke",
        patient.id,
        object_type="app_grant",
        reason=application.client_id,
        trace=False,
    )
    with transaction.atomic():
        current = (
            AppGrant.objects.select_for_update()
            .select_related("application")
            .filter(patient=patient, application=application)
            .first()
        )
        if current is None:
            return False
        _archive(current, ArchivedAppGrant.Ending.REVOKED, actor.person_id, timezone.now())
        current.delete()
        managing.trace(object_type="app_grant", reason=application.client_id)
    return True
