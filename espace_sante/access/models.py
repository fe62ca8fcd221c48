import uuid

from django.db import models


class AuditEntry(models.Model):
    """One access to a patient's health data, allowed or refused. Append-only.

    Written in the same transaction as the action it traces, so an action
    that did not happen leaves no entry and one that did always does.
    """

    class Outcome(models.TextChoices):
        ALLOWED = "allowed", "Autorisé"
        DENIED = "denied", "Refusé"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient_id = models.UUIDField()
    at = models.DateTimeField(auto_now_add=True)
    actor_kind = models.CharField(max_length=16)
    actor_user_id = models.BigIntegerField(null=True)
    actor_person_id = models.UUIDField(null=True)
    actor_professional_id = models.UUIDField(null=True)
    action = models.CharField(max_length=32)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.UUIDField(null=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "entrée du journal d'accès"
        verbose_name_plural = "journal d'accès"
        indexes = [models.Index(fields=["patient_id", "-at"], name="audit_patient_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_kind} {self.action} {self.outcome}"


from .consent_models import *  # noqa: E402,F401,F403
