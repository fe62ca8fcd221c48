"""What the patient decided about access, and the relations that give a reason to access.

Read on every decision by ``access.policy``. Nothing here is health content:
who may see, since when, and why.
"""

import uuid

from django.db import models
from django.utils import timezone

from espace_sante.identity.models import Organization, Person, Professional

from .owned import PatientOwned


class AccessSettings(PatientOwned):
    """A patient's access choices; defaults from access.md (ETREAT on, BTG on, MASKED off)."""

    patient = models.OneToOneField(
        Person, primary_key=True, on_delete=models.CASCADE, related_name="access_settings"
    )
    emergency_samu = models.BooleanField(
        "le régulateur du SAMU peut accéder à mon dossier en cas d'urgence", default=True
    )
    emergency_btg = models.BooleanField(
        "un professionnel peut accéder à mon dossier en urgence (bris de glace)", default=True
    )
    emergency_masked = models.BooleanField(
        "en urgence, mes documents masqués sont aussi visibles", default=False
    )
    mask_new_documents = models.BooleanField(
        "masquer par défaut les nouveaux documents aux professionnels", default=False
    )
    mask_everything = models.BooleanField("tout masquer, urgences comprises", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "réglages d'accès"
        verbose_name_plural = "réglages d'accès"

    def __str__(self) -> str:
        return f"Réglages d'accès de {self.patient_id}"


class Block(PatientOwned):
    """A professional the patient blocked. Lifting it keeps the row (history)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="blocks")
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "blocage"
        indexes = [models.Index(fields=["patient", "professional"], name="block_patient_pro")]
        # One active block per professional, even when 20 requests race (lifted ones stay).
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "professional"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_active_block",
            )
        ]

    def __str__(self) -> str:
        return f"{self.professional_id} bloqué par {self.patient_id}"


class Consent(PatientOwned):
    """Consent the patient gave, in person, to one professional; lasts until revoked."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="consents")
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    given_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name = "consentement"
        indexes = [models.Index(fields=["patient", "professional"], name="consent_patient_pro")]
        # One running consent per professional, even when requests race (revoked ones stay).
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "professional"],
                condition=models.Q(revoked_at__isnull=True),
                name="one_active_consent",
            )
        ]

    def __str__(self) -> str:
        return f"Consentement de {self.patient_id} à {self.professional_id}"


class CareRelationship(PatientOwned):
    """An organisation caring for the patient (care team), the patient informed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="care_teams")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    objected = models.BooleanField("le patient s'y oppose", default=False)

    class Meta:
        verbose_name = "équipe de soins"
        verbose_name_plural = "équipes de soins"
        indexes = [models.Index(fields=["patient", "organization"], name="care_patient_org")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "organization"],
                condition=models.Q(ended_at__isnull=True),
                name="one_active_care_team",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} soigne {self.patient_id}"


class PatientRole(PatientOwned):
    """Roles the patient gives professionals (the médecin traitant comes from the insurer)."""

    class Kind(models.TextChoices):
        ADMINISTRATEUR = "administrateur", "Administrateur de mon dossier"
        SAGE_FEMME = "sage_femme_referente", "Sage-femme référente"
        PHARMACIEN = "pharmacien_correspondant", "Pharmacien correspondant"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="pro_roles")
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "rôle d'un professionnel"
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "professional", "kind"], name="unique_patient_role"
            )
        ]
        indexes = [models.Index(fields=["patient", "kind"], name="role_patient_kind")]

    def __str__(self) -> str:
        return f"{self.professional_id} {self.kind} de {self.patient_id}"


class EmergencyAccess(PatientOwned):
    """A time-limited emergency access (bris de glace or SAMU regulation)."""

    class Kind(models.TextChoices):
        BTG = "btg", "Bris de glace"
        SAMU = "samu", "Régulation du SAMU"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="emergencies")
    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    justification = models.TextField()
    started_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = "accès d'urgence"
        verbose_name_plural = "accès d'urgence"
        indexes = [
            models.Index(fields=["patient", "professional", "-expires_at"], name="emergency_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.professional_id} → {self.patient_id}"


class Caregiver(PatientOwned):
    """An aidant chosen by an adult (the aidé); revocable at any time."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Invitation en attente"
        ACCEPTED = "accepted", "Acceptée"
        REFUSED = "refused", "Refusée"
        REVOKED = "revoked", "Révoquée"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="caregivers")
    caregiver = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="cared_for")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "aidant"
        indexes = [models.Index(fields=["patient", "status"], name="caregiver_patient")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "caregiver"],
                condition=models.Q(status__in=["waiting", "accepted"]),
                name="one_active_caregiver",
            )
        ]

    def __str__(self) -> str:
        return f"{self.caregiver_id} aide {self.patient_id}"


class MatrixVersion(models.Model):
    """Which version of the shipped matrix file was last loaded."""

    version = models.PositiveIntegerField(unique=True)
    source = models.CharField(max_length=200)
    loaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "version de la matrice d'habilitations"

    def __str__(self) -> str:
        return f"Matrice v{self.version}"


class MatrixCell(models.Model):
    """May professionals of ``profession`` read documents of type ``type_code``?"""

    profession = models.CharField("profession", max_length=4)
    type_code = models.CharField("type de document", max_length=16)
    allowed = models.BooleanField("autorisé", default=False)

    class Meta:
        verbose_name = "case de la matrice d'habilitations"
        verbose_name_plural = "matrice d'habilitations"
        constraints = [
            models.UniqueConstraint(fields=["profession", "type_code"], name="unique_matrix_cell")
        ]

    def __str__(self) -> str:
        return f"{self.profession} × {self.type_code} : {'oui' if self.allowed else 'non'}"
