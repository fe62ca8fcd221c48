"""The base of every profile table: ``Encrypted`` fields and the abstract ``ProfileEntry``.

Rule 4, the host cannot read: every health content field (names, free text,
choices, measure values, contact details) is declared with ``Encrypted()``,
which stores only ``<name>_encrypted``, a ciphertext under the patient's key
bound to (patient, row id, field name). In clear stay only what lists are
sorted and filtered on: patient, id, dates, the measure's LOINC code, the kind
of author, and timestamps.
"""

import uuid
from datetime import date
from typing import Any, ClassVar, Self, overload

from django.db import models
from django.utils import formats

from espace_sante.access.owned import PatientOwned
from espace_sante.crypto import services as crypto
from espace_sante.identity.models import Person


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
    title_field: ClassVar[str] = ""  # the (decrypted) attribute that names the entry
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
        """What names the entry in lists: the field ``title_field`` names, unless overridden."""
        if not self.title_field:
            raise NotImplementedError
        value: str = getattr(self, self.title_field)
        return value

    def details(self) -> list[tuple[str, str]]:
        """(label, text) pairs shown under the title; empty values are left out."""
        return []
