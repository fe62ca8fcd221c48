"""Prescriptions patients send to a pharmacy, and where the pharmacy is with them.

The prescription itself travels as a conversation of the messaging app
(encrypted with the patient's keys); this row only says which pharmacy and
what status, so the pharmacy's inbox can be filtered without decrypting.
"""

import uuid

from django.db import models

from espace_sante.access.owned import PatientOwned
from espace_sante.identity.models import Organization, Person, Professional
from espace_sante.messaging.models import Conversation


class PrescriptionOrder(PatientOwned):
    class Status(models.TextChoices):
        RECEIVED = "received", "Reçue"
        PREPARING = "preparing", "En préparation"
        READY = "ready", "Prête à être retirée"
        DISPENSED = "dispensed", "Délivrée"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    conversation = models.OneToOneField(
        Conversation, on_delete=models.CASCADE, related_name="prescription_order"
    )
    pharmacy = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RECEIVED)
    created_at = models.DateTimeField(auto_now_add=True)
    status_changed_at = models.DateTimeField()
    status_changed_by = models.ForeignKey(
        Professional, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def next_statuses(self) -> list[tuple[str, str]]:
        """The statuses the pharmacy may move this order to (forward only), with labels."""
        order = list(self.Status)  # declared in the order they happen
        current = order.index(self.Status(self.status))
        return [(status.value, status.label) for status in order[current + 1 :]]

    class Meta:
        verbose_name = "ordonnance envoyée"
        verbose_name_plural = "ordonnances envoyées"
        indexes = [
            models.Index(fields=["patient", "-created_at"], name="rx_patient_recent"),
            models.Index(fields=["pharmacy", "status", "-created_at"], name="rx_pharmacy_status"),
        ]

    def __str__(self) -> str:
        return f"Ordonnance {self.id} ({self.get_status_display()})"
