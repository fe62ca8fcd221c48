"""What a patient let a connected app do, and every grant that ended.

Like bluebutton's ``DataAccessGrant`` and ``ArchivedDataAccessGrant``: the
live table holds at most one grant per patient and app (a unique constraint,
which holds under concurrent grants), read on every request of the app
(``access.grants.app_actor`` and the policy); when a grant is revoked,
replaced or swept after expiry, a copy goes to the archive and the live row
is deleted or rewritten. The archive is what the patient (and an auditor)
can read back: who allowed which app to do what, from when to when, and how
it ended.
"""

import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from espace_sante.identity.models import Person

from .owned import PatientOwned


class AppGrant(PatientOwned):
    """A patient's current authorisation of one connected app (one per patient and app)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="app_grants")
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name="application",
    )
    granted_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # SMART scopes, normalised to v2 (access.scopes.normalise), space-separated.
    scopes = models.TextField("portées SMART")
    # Finalités the patient consented to (services.md: express consent per purpose).
    purposes = models.JSONField("finalités", default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "autorisation d'application"
        verbose_name_plural = "autorisations d'applications"
        constraints = [
            models.UniqueConstraint(fields=["patient", "application"], name="app_grant_one_per_app")
        ]

    def __str__(self) -> str:
        return f"{self.application_id} pour {self.patient_id}"

    def is_active(self, now: datetime | None = None) -> bool:
        return self.expires_at > (now or timezone.now())


class ArchivedAppGrant(PatientOwned):
    """A grant that ended: revoked by the patient's side, replaced by a new one, or expired."""

    class Ending(models.TextChoices):
        REVOKED = "revoked", "Retirée"
        REPLACED = "replaced", "Remplacée par une nouvelle autorisation"
        EXPIRED = "expired", "Expirée"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+")
    grant_id = models.UUIDField("autorisation (identifiant)")
    # The app may be deleted later; its client id and name stay readable here.
    application = models.ForeignKey(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    client_id = models.CharField(max_length=100)
    application_name = models.CharField(max_length=255, blank=True)
    granted_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scopes = models.TextField("portées SMART")
    purposes = models.JSONField("finalités", default=list, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField("fin de l'autorisation")
    ending = models.CharField(max_length=16, choices=Ending.choices)
    ended_by = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "autorisation d'application passée"
        verbose_name_plural = "autorisations d'applications passées"
        indexes = [
            models.Index(fields=["patient", "-revoked_at"], name="app_grant_archive_patient")
        ]

    def __str__(self) -> str:
        return f"{self.client_id} pour {self.patient_id} ({self.ending})"
