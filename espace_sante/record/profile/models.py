"""The medical profile ("Profil médical"): one table per section of shared/domain/profile.md.

Rule 4, the host cannot read: every health content field (names, free text,
choices, measure values, contact details) is declared with ``Encrypted()``,
which stores only ``<name>_encrypted``, a ciphertext under the patient's key
bound to (patient, row id, field name). In clear stay only what lists are
sorted and filtered on: patient, id, dates, the measure's LOINC code, the kind
of author, and timestamps.

Rule 2: every table has a non-null ``patient`` and an index that starts with it.
Rows are changed only through ``profile_services``.
"""

import uuid
from collections.abc import Iterable
from datetime import date
from typing import Any, ClassVar, Self, overload

from django.db import models
from django.utils import formats, timezone

from espace_sante.access.owned import PatientOwned
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person, Professional

from .reference import (
    ALLERGY_SEVERITIES,
    BLOOD_GROUPS,
    CONTACT_KINDS,
    DISABILITY_KINDS,
    DISABILITY_RATES,
    FAMILY_RELATIONS,
    ORGAN_DONATION,
    VACCINATION_ROUTES,
    VACCINATION_SITES,
)

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
    "Treatment",
    "Vaccination",
    "Wishes",
]


def long_date(value: date | None) -> str:
    return formats.date_format(value, "j F Y") if value else ""


class Encrypted:
    """A text field kept only encrypted.

    Declared as ``name = Encrypted()``, it adds the column ``name_encrypted``
    (a BinaryField). Reading ``row.name`` decrypts once and caches the text on
    the instance; assigning stores the text and marks it for encryption, which
    happens in ``save()``, when the row's patient and id are settled. With
    ``choices``, ``row.name_label`` gives the label of the stored code.
    """

    def __init__(self, choices: dict[str, str] | None = None) -> None:
        self.choices = choices

    def contribute_to_class(self, cls: type["ProfileEntry"], name: str) -> None:
        self.name = name
        self.column = f"{name}_encrypted"
        cls.add_to_class(self.column, models.BinaryField(editable=False))
        setattr(cls, name, self)
        cls._encrypted_fields = (*cls._encrypted_fields, name)
        if self.choices is not None:
            choices = self.choices

            def label(instance: ProfileEntry, _name: str = name) -> str:
                value: str = getattr(instance, _name)
                return choices.get(value, value)

            setattr(cls, f"{name}_label", property(label))

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> Self: ...

    @overload
    def __get__(self, instance: "ProfileEntry", owner: type | None = None) -> str: ...

    def __get__(self, instance: "ProfileEntry | None", owner: type | None = None) -> "Self | str":
        if instance is None:
            return self
        plain: dict[str, str] = instance.__dict__.setdefault("_plaintext", {})
        if self.name not in plain:
            ciphertext: bytes = getattr(instance, self.column)
            if instance._state.adding and not ciphertext:
                plain[self.name] = ""
            else:
                # No shortcut for an empty column of a saved row: every saved
                # field holds a ciphertext, so an empty one means tampering.
                plain[self.name] = crypto.decrypt_text(
                    instance.patient_id, instance.pk, ciphertext, purpose=self.name
                )
        return plain[self.name]

    def __set__(self, instance: "ProfileEntry", value: object) -> None:
        # Any value is accepted and kept as its text (a Decimal measure, a code...).
        text = "" if value is None else str(value).strip()
        instance.__dict__.setdefault("_plaintext", {})[self.name] = text
        instance.__dict__.setdefault("_to_encrypt", set()).add(self.name)


class ProfileEntry(PatientOwned):
    """What every profile row shares: opaque id, patient, timestamps, encryption on save."""

    _encrypted_fields: ClassVar[tuple[str, ...]] = ()
    # Declared for the type checker: each concrete table gets Django's default manager.
    objects: ClassVar[models.Manager[Self]]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No separate index on patient alone: each table's own index starts with it.
    patient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        # Never the content: a row printed in a log must reveal nothing.
        return f"{self._meta.verbose_name} {self.id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.seal()
        super().save(*args, **kwargs)

    def seal(self) -> None:
        """Encrypt the changed fields (and any never set) into their columns."""
        pending: set[str] = self.__dict__.get("_to_encrypt", set())
        for name in self._encrypted_fields:
            column = f"{name}_encrypted"
            if name in pending or not getattr(self, column):
                text = getattr(self, name)
                setattr(
                    self,
                    column,
                    crypto.encrypt_text(self.patient_id, self.pk, text, purpose=name),
                )
        pending.clear()

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        self.__dict__.pop("_plaintext", None)
        self.__dict__.pop("_to_encrypt", None)
        super().refresh_from_db(*args, **kwargs)

    @property
    def title(self) -> str:
        raise NotImplementedError

    def details(self) -> list[tuple[str, str]]:
        """(label, text) pairs shown under the title; empty values are left out."""
        return []


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

    @property
    def title(self) -> str:
        return self.name

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
    severity = Encrypted(choices=ALLERGY_SEVERITIES)
    severity_label: str  # property added by Encrypted(choices=...)

    class Meta:
        verbose_name = "allergie"
        indexes = [models.Index(fields=["patient", "created_at"], name="profile_allergy_patient")]

    @property
    def title(self) -> str:
        return self.substance

    def details(self) -> list[tuple[str, str]]:
        return _present([("Réaction", self.reaction), ("Gravité", self.severity_label)])


class Vaccination(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    class RecordedBy(models.TextChoices):
        PATIENT = "patient", "Vous-même"
        PROFESSIONAL = "professional", "Un professionnel de santé"

    vaccine = Encrypted()
    lot_number = Encrypted()
    route = Encrypted(choices=VACCINATION_ROUTES)
    route_label: str  # property added by Encrypted(choices=...)
    site = Encrypted(choices=VACCINATION_SITES)
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

    @property
    def title(self) -> str:
        return self.vaccine

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

    @property
    def title(self) -> str:
        return self.place

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [("Motif", self.reason), ("Dates", _period(self.start_date, self.end_date))]
        )


class FamilyHistory(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    relation = Encrypted(choices=FAMILY_RELATIONS)
    relation_label: str  # property added by Encrypted(choices=...)
    condition = Encrypted()

    class Meta:
        verbose_name = "antécédent familial"
        verbose_name_plural = "antécédents familiaux"
        indexes = [models.Index(fields=["patient", "created_at"], name="profile_family_patient")]

    @property
    def title(self) -> str:
        return self.condition

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
    kind = Encrypted(choices=DISABILITY_KINDS)
    kind_label: str  # property added by Encrypted(choices=...)
    rate = Encrypted(choices=DISABILITY_RATES)
    rate_label: str  # property added by Encrypted(choices=...)
    technical_help = Encrypted()
    human_help = Encrypted()

    class Meta:
        verbose_name = "handicap"
        indexes = [
            models.Index(fields=["patient", "created_at"], name="profile_disability_patient")
        ]

    @property
    def title(self) -> str:
        return self.kind_label

    def details(self) -> list[tuple[str, str]]:
        return _present(
            [
                ("Taux d'incapacité", self.rate_label if self.rate else ""),
                ("Aides techniques", self.technical_help),
                ("Aides humaines", self.human_help),
            ]
        )


class BloodGroup(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    group = Encrypted(choices=BLOOD_GROUPS)
    group_label: str  # property added by Encrypted(choices=...)

    class Meta:
        verbose_name = "groupe sanguin"
        constraints = [
            models.UniqueConstraint(fields=["patient"], name="profile_blood_group_unique")
        ]

    @property
    def title(self) -> str:
        return self.group_label

    def details(self) -> list[tuple[str, str]]:
        return []


class Contact(ProfileEntry):  # noqa: DJ008 (__str__ from ProfileEntry)
    """Someone of the patient's circle: to alert, trusted person, caregiver, helped person."""

    kind = Encrypted(choices=CONTACT_KINDS)
    kind_label: str  # property added by Encrypted(choices=...)
    name = Encrypted()
    relation = Encrypted()
    phone = Encrypted()
    email = Encrypted()

    class Meta:
        verbose_name = "personne de l'entourage"
        verbose_name_plural = "entourage"
        indexes = [models.Index(fields=["patient", "created_at"], name="profile_contact_patient")]

    @property
    def title(self) -> str:
        return self.name

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

    organ_donation = Encrypted(choices=ORGAN_DONATION)
    organ_donation_label: str  # property added by Encrypted(choices=...)

    class Meta:
        verbose_name = "volontés"
        verbose_name_plural = "volontés"
        constraints = [models.UniqueConstraint(fields=["patient"], name="profile_wishes_unique")]

    @property
    def title(self) -> str:
        return self.organ_donation_label

    def details(self) -> list[tuple[str, str]]:
        return []
