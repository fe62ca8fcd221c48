"""The medical profile ("Profil médical"): one table per section of shared/domain/profile.md.

Rule 4, the host cannot read: health content is declared with ``Encrypted()``
(``encrypted.py``); only what lists are sorted and filtered on stays in clear.
Rule 2: every table has a non-null ``patient`` and an index that starts with it.
Rows are changed only through the profile's services.
"""

from collections.abc import Iterable
from datetime import date
from typing import ClassVar

from django.db import models
from django.utils import timezone

from espace_sante.identity.models import Professional

from . import reference
from .encrypted import Encrypted, ProfileEntry, long_date

__all__ = [
    "Allergy",
    "BloodGroup",
    "Condition",
    "Contact",
    "Disability",
    "FamilyHistory",
    "Hospitalisation",
    "Lifestyle",
    "Measure",
    "MeasureTarget",
    "Screening",
    "Treatment",
    "Vaccination",
    "Wishes",
]


def _present(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(label, text) for label, text in pairs if text]


def _period(start: date | None, end: date | None, ongoing: str = "en cours") -> str:
    if start and end:
        return f"du {long_date(start)} au {long_date(end)}"
    if start:
        return f"depuis le {long_date(start)} ({ongoing})"
    if end:
        return f"jusqu'au {long_date(end)}"
    return ""


class Condition(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """Maladies et sujets de santé."""

    name = Encrypted()
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "maladie ou sujet de santé"
        verbose_name_plural = "maladies et sujets de santé"
        indexes = [models.Index(fields=["patient", "start_date"], name="profile_condition_patient")]

    title_field = "name"

    def details(self) -> list[tuple[str, str]]:
        return _present([("Période", _period(self.start_date, self.end_date))])


class Treatment(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """A medicine taken now or in the past; CIP code when known, its name otherwise."""

    name = Encrypted()
    cip_code = Encrypted()
    dosage = Encrypted()
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "traitement"
        indexes = [models.Index(fields=["patient", "start_date"], name="profile_treatment_patient")]

    @property
    def is_current(self) -> bool:
        return self.end_date is None or self.end_date >= timezone.localdate()

    @property
    def title(self) -> str:
        return self.name or f"Médicament de code CIP {self.cip_code}"

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [
                ("Posologie", self.dosage),
                ("Code CIP", self.cip_code if self.name else ""),
                ("Période", _period(self.start_date, self.end_date)),
                ("État", "En cours" if self.is_current else "Terminé"),
            ]
        )


class Allergy(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    substance = Encrypted()
    reaction = Encrypted()
    severity = Encrypted(choices=reference.ALLERGY_SEVERITIES)
    severity_label: str  # property added by Encrypted(choices=...)

    class Meta:
        verbose_name = "allergie"
        indexes = [models.Index(fields=["patient", "created_at"], name="profile_allergy_patient")]

    title_field = "substance"

    def details(self) -> list[tuple[str, str]]:
        return _present([("Réaction", self.reaction), ("Gravité", self.severity_label)])


class Vaccination(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    class RecordedBy(models.TextChoices):
        PATIENT = "patient", "Vous-même"
        PROFESSIONAL = "professional", "Un professionnel de santé"

    vaccine = Encrypted()
    lot_number = Encrypted()
    route = Encrypted(choices=reference.VACCINATION_ROUTES)
    route_label: str  # property added by Encrypted(choices=...)
    site = Encrypted(choices=reference.VACCINATION_SITES)
    site_label: str  # property added by Encrypted(choices=...)
    performer = Encrypted()  # who vaccinated, as the patient or professional wrote it
    vaccinated_on = models.DateField()
    recorded_by = models.CharField(max_length=16, choices=RecordedBy.choices)
    # Set when a professional (a pharmacist, a doctor) recorded it themselves.
    author_professional = models.ForeignKey(
        Professional, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "vaccination"
        indexes = [
            models.Index(fields=["patient", "vaccinated_on"], name="profile_vaccination_patient")
        ]

    title_field = "vaccine"

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [
                ("Date", long_date(self.vaccinated_on)),
                ("Numéro de lot", self.lot_number),
                ("Voie d'administration", self.route_label),
                ("Site d'injection", self.site_label),
                ("Vacciné par", self.performer),
                ("Noté par", self.get_recorded_by_display()),
            ]
        )


class Screening(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """A prevention exam done: a screening, a child's check-up, a prenatal visit.

    The agenda's forecast counts them (as it counts vaccinations); which exam it
    was is health content, kept encrypted, the date stays in clear.
    """

    class RecordedBy(models.TextChoices):
        PATIENT = "patient", "Vous-même"
        PROFESSIONAL = "professional", "Un professionnel de santé"

    exam = Encrypted(choices=reference.PREVENTION_EXAMS)
    exam_label: str  # property added by Encrypted(choices=...)
    place = Encrypted()
    done_on = models.DateField()
    recorded_by = models.CharField(
        max_length=16, choices=RecordedBy.choices, default=RecordedBy.PATIENT
    )

    class Meta:
        verbose_name = "examen de prévention"
        verbose_name_plural = "examens de prévention"
        indexes = [models.Index(fields=["patient", "done_on"], name="profile_screening_patient")]

    title_field = "exam_label"

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [
                ("Date", long_date(self.done_on)),
                ("Fait par ou à", self.place),
                ("Noté par", self.get_recorded_by_display()),
            ]
        )


class Hospitalisation(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    place = Encrypted()
    reason = Encrypted()
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        verbose_name = "hospitalisation"
        indexes = [
            models.Index(fields=["patient", "start_date"], name="profile_hospitalisation_pat")
        ]

    title_field = "place"

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [("Motif", self.reason), ("Dates", _period(self.start_date, self.end_date))]
        )


class FamilyHistory(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    relation = Encrypted(choices=reference.FAMILY_RELATIONS)
    relation_label: str  # property added by Encrypted(choices=...)
    condition = Encrypted()

    class Meta:
        verbose_name = "antécédent familial"
        verbose_name_plural = "antécédents familiaux"
        indexes = [models.Index(fields=["patient", "created_at"], name="profile_family_patient")]

    title_field = "condition"

    def details(self) -> list[tuple[str, str]]:
        return _present([("Lien de parenté", self.relation_label)])


class Measure(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """One measure (weight, blood pressure...): LOINC code in clear, value encrypted.

    Blood pressure (85354-9) keeps the systolic in ``value`` and the diastolic
    in ``second_value``; ``unit`` is the UCUM unit the value was entered in.
    """

    class Author(models.TextChoices):
        PATIENT = "patient", "Vous-même"
        APP = "app", "Application connectée"

    code = models.CharField(max_length=16)
    measured_at = models.DateTimeField()
    author = models.CharField(max_length=16, choices=Author.choices, default=Author.PATIENT)
    value = Encrypted()
    second_value = Encrypted()
    unit = Encrypted()

    class Meta:
        verbose_name = "mesure"
        indexes = [
            models.Index(fields=["patient", "code", "-measured_at"], name="profile_measure_series")
        ]

    @property
    def title(self) -> str:
        return f"{self.value} {self.unit}"


class MeasureTarget(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """The patient's goal for one kind of measure (one per patient and code)."""

    code = models.CharField(max_length=16)
    value = Encrypted()
    second_value = Encrypted()

    class Meta:
        verbose_name = "objectif de mesure"
        constraints = [
            models.UniqueConstraint(fields=["patient", "code"], name="profile_target_unique")
        ]


class Lifestyle(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """Habitudes de vie: one row per patient, free text for each topic."""

    food = Encrypted()
    physical_activity = Encrypted()
    sleep = Encrypted()
    screens = Encrypted()
    alcohol = Encrypted()
    tobacco = Encrypted()

    TOPICS: ClassVar[list[tuple[str, str]]] = [
        ("food", "Alimentation"),
        ("physical_activity", "Activité physique"),
        ("sleep", "Sommeil"),
        ("screens", "Écrans"),
        ("alcohol", "Alcool"),
        ("tobacco", "Tabac"),
    ]

    class Meta:
        verbose_name = "habitudes de vie"
        verbose_name_plural = "habitudes de vie"
        constraints = [models.UniqueConstraint(fields=["patient"], name="profile_lifestyle_unique")]

    @property
    def title(self) -> str:
        return "Habitudes de vie"

    def details(self) -> list[tuple[str, str]]:
        return _present([(label, getattr(self, name)) for name, label in self.TOPICS])


class Disability(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    kind = Encrypted(choices=reference.DISABILITY_KINDS)
    kind_label: str  # property added by Encrypted(choices=...)
    rate = Encrypted(choices=reference.DISABILITY_RATES)
    rate_label: str  # property added by Encrypted(choices=...)
    technical_help = Encrypted()
    human_help = Encrypted()

    class Meta:
        verbose_name = "handicap"
        indexes = [
            models.Index(fields=["patient", "created_at"], name="profile_disability_patient")
        ]

    title_field = "kind_label"

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [
                ("Taux d'incapacité", self.rate_label if self.rate else ""),
                ("Aides techniques", self.technical_help),
                ("Aides humaines", self.human_help),
            ]
        )


class BloodGroup(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    group = Encrypted(choices=reference.BLOOD_GROUPS)
    group_label: str  # property added by Encrypted(choices=...)

    class Meta:
        verbose_name = "groupe sanguin"
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="profile_blood_group_unique")
        ]

    title_field = "group_label"


class Contact(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """Someone of the patient's circle: to alert, trusted person, caregiver, helped person."""

    kind = Encrypted(choices=reference.CONTACT_KINDS)
    kind_label: str  # property added by Encrypted(choices=...)
    name = Encrypted()
    relation = Encrypted()
    phone = Encrypted()
    email = Encrypted()

    class Meta:
        verbose_name = "personne de l'entourage"
        verbose_name_plural = "entourage"
        indexes = [models.Index(fields=["patient", "created_at"], name="profile_contact_patient")]

    title_field = "name"

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [
                ("Rôle", self.kind_label),
                ("Lien", self.relation),
                ("Téléphone", self.phone),
                ("Courriel", self.email),
            ]
        )


class Wishes(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """Volontés: the position on organ donation (advance directives are documents)."""

    organ_donation = Encrypted(choices=reference.ORGAN_DONATION)
    organ_donation_label: str  # property added by Encrypted(choices=...)

    class Meta:
        verbose_name = "volontés"
        verbose_name_plural = "volontés"
        constraints = [models.UniqueConstraint(fields=["patient"], name="profile_wishes_unique")]

    title_field = "organ_donation_label"
