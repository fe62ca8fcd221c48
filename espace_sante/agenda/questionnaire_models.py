"""Answers to the Mon bilan prévention self-questionnaires.

One row per questionnaire filled (or being filled) by a person. The answers are
a FHIR ``QuestionnaireResponse`` kept as JSON in ``content``, encrypted with
the patient's key (rule 4: the host cannot read what someone says about their
drinking or their mood). In clear stay only what lists need: patient,
questionnaire id and version, status and dates. Rows change only through
``agenda.questionnaires``.
"""

from django.db import models

from espace_sante.record.profile.encrypted import Encrypted, ProfileEntry


class QuestionnaireResponse(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """A person's answers to one questionnaire, in progress or completed."""

    class Status(models.TextChoices):
        # The FHIR QuestionnaireResponse.status codes we use.
        IN_PROGRESS = "in-progress", "En cours"
        COMPLETED = "completed", "Terminé"

    questionnaire_id = models.CharField(max_length=64)
    questionnaire_version = models.CharField(max_length=20)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The PDF of the answers saved in the person's documents (a Document id).
    document_id = models.UUIDField(null=True, blank=True)
    content = Encrypted()  # the QuestionnaireResponse, as JSON

    class Meta:
        verbose_name = "réponse à un questionnaire de prévention"
        indexes = [
            models.Index(
                fields=["patient", "questionnaire_id", "-created_at"],
                name="agenda_qresp_patient",
            ),
        ]
        constraints = [
            # One questionnaire in progress at a time: two tabs saving the first
            # step must not start two responses.
            models.UniqueConstraint(
                fields=["patient", "questionnaire_id"],
                condition=models.Q(status="in-progress"),
                name="agenda_qresp_one_in_progress",
            ),
        ]
