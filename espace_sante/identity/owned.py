"""The marker of a patient-owned table, at the bottom of the layers so every app can use it.

The registry, the system check and their rules live in ``access.owned``.
"""

from typing import ClassVar

from django.db import models


class PatientOwned(models.Model):
    """Abstract marker of a table holding one patient's health or access data."""

    patient_field: ClassVar[str] = "patient"
    # Empty: the purge of a closed space deletes the rows. Otherwise why they stay.
    kept_after_closing: ClassVar[str] = ""

    class Meta:
        abstract = True
