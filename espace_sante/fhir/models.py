"""Professional software installations allowed on the FHIR API, and used assertion ids.

An installation is an OAuth2 client (django-oauth-toolkit ``Application``,
client credentials grant) of one organisation; it authenticates with a JWT
signed by its private key (``private_key_jwt``) and signs, on every request,
an assertion of the acting professional with the same key. Only its public
keys are stored here (a JWKS), registered by an operator.
"""

import uuid

from django.conf import settings
from django.db import models

from espace_sante.access.owned import PatientOwned
from espace_sante.identity.models import Organization, Person, Professional


class SoftwareClient(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.OneToOneField(
        settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
        on_delete=models.CASCADE,
        related_name="software",
        verbose_name="client OAuth2",
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="software_clients"
    )
    software_name = models.CharField("logiciel (nom et version)", max_length=200)
    jwks = models.JSONField(
        "clés publiques (JWKS)",
        help_text='Un JWK Set : {"keys": [...]} ; les clés privées restent chez le logiciel.',
    )
    active = models.BooleanField("actif", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "installation de logiciel professionnel"
        verbose_name_plural = "installations de logiciels professionnels"

    def __str__(self) -> str:
        return f"{self.software_name} — {self.organization}"


class UsedAssertion(models.Model):
    """A JWT id already seen for a client: a second use is a replay.

    Kept until the assertion would have expired anyway, then swept.
    """

    client = models.ForeignKey(SoftwareClient, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=200)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "assertion utilisée"
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="fhir_unique_jti"),
        ]

    def __str__(self) -> str:
        return self.jti


class SubmissionSet(PatientOwned):
    """An ITI-65 submission set: which documents one software sent together, and when.

    Patient-scoped like every record table; it holds no health content (no
    title), only identifiers, dates and the documents' ids. Who may see a set
    is decided by the documents in it (``record.documents.reading.search_documents``).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    unique_id = models.CharField("identifiant unique (uniqueId)", max_length=200)
    source_id = models.CharField("émetteur (sourceId)", max_length=200, blank=True)
    content_type = models.CharField("type de soumission (code)", max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    client = models.ForeignKey(
        SoftwareClient, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_professional = models.ForeignKey(
        Professional, null=True, on_delete=models.PROTECT, related_name="+"
    )
    author_organization = models.ForeignKey(
        Organization, null=True, on_delete=models.PROTECT, related_name="+"
    )
    document_ids = models.JSONField("documents (identifiants)", default=list)

    class Meta:
        verbose_name = "lot de soumission"
        verbose_name_plural = "lots de soumission"
        indexes = [models.Index(fields=["patient", "-created_at"], name="fhir_subset_patient")]
        constraints = [
            models.UniqueConstraint(fields=["patient", "unique_id"], name="fhir_subset_unique_id")
        ]

    def __str__(self) -> str:
        return self.unique_id
