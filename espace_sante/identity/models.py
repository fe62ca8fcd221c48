"""Who is who: accounts, citizens (INS), professionals (RPPS), organisations (FINESS).

Identity traits are administrative data, kept in clear so they can be matched
(INS look-up, directory checks); health content lives in other apps,
encrypted. Public identifiers are UUIDs; sequential ids never leave the server.
"""

import uuid
from datetime import date

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from . import validators
from .reference import (
    IDENTITY_STATUSES,
    INS_NIA,
    INS_NIR,
    INS_SYSTEMS,
    ORGANIZATION_KINDS,
    PROFESSION_LABELS,
    PROFESSIONS,
)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("kind", User.Kind.OPERATOR)
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A sign-in account. What it may do depends on the identity behind it."""

    class Kind(models.TextChoices):
        CITIZEN = "citizen", "Usager"
        PROFESSIONAL = "professional", "Professionnel de santé"
        OPERATOR = "operator", "Opérateur"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField("adresse électronique", unique=True)

    class OtpChannel(models.TextChoices):
        EMAIL = "email", "Par courriel"
        SMS = "sms", "Par SMS"

    kind = models.CharField("type de compte", max_length=16, choices=Kind.choices)
    otp_channel = models.CharField(
        "envoi du code de connexion",
        max_length=8,
        choices=OtpChannel.choices,
        default=OtpChannel.EMAIL,
    )
    is_active = models.BooleanField("actif", default=True)
    is_staff = models.BooleanField("accès à l'administration", default=False)
    date_joined = models.DateTimeField("créé le", default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = "compte"
        verbose_name_plural = "comptes"

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        if self.kind == self.Kind.CITIZEN and hasattr(self, "person"):
            return self.person.display_name
        if self.kind == self.Kind.PROFESSIONAL and hasattr(self, "professional"):
            return self.professional.display_name
        return self.email


class SpaceState(models.TextChoices):
    """Where a person's espace santé stands in the opt-out lifecycle (lifecycle.md).

    Only the enrollment services change it, and they record every transition.
    """

    INVITED = "invited", "Informé, espace pas encore créé"
    OBJECTED = "objected", "Opposé à la création"
    CREATED = "created", "Créé automatiquement, pas encore activé"
    ACTIVATED = "activated", "Activé"
    SUSPENDED = "suspended", "Suspendu"
    CLOSED = "closed", "Fermé"


# A space that exists and receives documents; the others refuse pushes and reads.
OPEN_SPACE_STATES = frozenset({SpaceState.CREATED, SpaceState.ACTIVATED})
# A space that exists (open or not): FHIR Patient search finds it, `active` tells which.
EXISTING_SPACE_STATES = OPEN_SPACE_STATES | {SpaceState.SUSPENDED, SpaceState.CLOSED}


class Person(models.Model):
    """A citizen identified by the INS (matricule + OID + strict traits)."""

    class Sex(models.TextChoices):
        FEMALE = "F", "Femme"
        MALE = "M", "Homme"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="person"
    )
    ins_matricule = models.CharField("matricule INS (NIR ou NIA)", max_length=15)
    ins_system = models.CharField(
        "système d'identification", max_length=32, choices=INS_SYSTEMS, default=INS_NIR
    )
    identity_status = models.CharField(
        "statut de l'identité", max_length=16, choices=IDENTITY_STATUSES, default="provisoire"
    )
    birth_name = models.CharField("nom de naissance", max_length=100)
    first_names = models.CharField(
        "prénoms de naissance",
        max_length=200,
        help_text="Tous les prénoms de l'acte de naissance, séparés par des espaces.",
    )
    birth_date = models.DateField("date de naissance")
    sex = models.CharField("sexe", max_length=1, choices=Sex.choices)
    birth_place_code = models.CharField(
        "lieu de naissance (code INSEE)", max_length=5, validators=[validators.validate_birth_place]
    )
    used_name = models.CharField("nom utilisé", max_length=100, blank=True)
    used_first_name = models.CharField("prénom utilisé", max_length=100, blank=True)
    email = models.EmailField("adresse électronique", blank=True)
    mobile_phone = models.CharField("téléphone portable", max_length=16, blank=True)
    address_line = models.CharField("adresse", max_length=200, blank=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    city = models.CharField("commune", max_length=100, blank=True)
    department = models.CharField(
        "département", max_length=3, validators=[validators.validate_department]
    )
    medecin_traitant = models.ForeignKey(
        "Professional",
        verbose_name="médecin traitant déclaré",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="declared_patients",
    )
    space_state = models.CharField(
        "état de l'espace santé",
        max_length=16,
        choices=SpaceState.choices,
        default=SpaceState.ACTIVATED,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "personne"
        constraints = [
            models.UniqueConstraint(fields=["ins_system", "ins_matricule"], name="unique_ins"),
        ]
        # Look-ups by matricule alone (activation, import, the portal's INS search)
        # cannot use unique_ins, whose first column is the system.
        indexes = [models.Index(fields=["ins_matricule"], name="person_ins_matricule")]

    def __str__(self) -> str:
        return self.display_name

    @property
    def space_is_open(self) -> bool:
        return self.space_state in OPEN_SPACE_STATES

    @property
    def has_space(self) -> bool:
        return self.space_state in EXISTING_SPACE_STATES

    @property
    def first_first_name(self) -> str:
        return self.first_names.split()[0] if self.first_names else ""

    @property
    def display_name(self) -> str:
        first = self.used_first_name or self.first_first_name
        return f"{first} {self.used_name or self.birth_name}".strip()

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        return years - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))

    def clean(self):
        errors = {}
        self.birth_name = self.birth_name.strip().upper()
        self.first_names = " ".join(self.first_names.split())
        if not self.first_names:
            errors["first_names"] = ValidationError("Saisissez au moins un prénom.")
        try:
            self.ins_matricule = validators.validate_nir(self.ins_matricule)
        except ValidationError as exc:
            errors["ins_matricule"] = exc
        else:
            if self.ins_system != INS_NIA:
                try:
                    validators.check_nir_matches_traits(
                        self.ins_matricule, self.sex, self.birth_date
                    )
                except ValidationError as exc:
                    errors.update(exc.error_dict)
        if self.birth_date and self.birth_date > timezone.localdate():
            errors["birth_date"] = ValidationError(
                "La date de naissance ne peut pas être dans le futur."
            )
        if self.mobile_phone:
            try:
                self.mobile_phone = validators.normalize_mobile(self.mobile_phone)
            except ValidationError as exc:
                errors["mobile_phone"] = exc
        if self.department:
            self.department = validators.compact(self.department)
        if self.birth_place_code:
            self.birth_place_code = validators.compact(self.birth_place_code)
        if errors:
            raise ValidationError(errors)


class LegalRepresentative(models.Model):
    """A parent or guardian acting for a minor; a second one is invited."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Invitation en attente"
        ACCEPTED = "accepted", "Acceptée"
        REFUSED = "refused", "Refusée"

    represented = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="representatives"
    )
    representative = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="represented_people"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "représentant légal"
        verbose_name_plural = "représentants légaux"
        constraints = [
            models.UniqueConstraint(
                fields=["represented", "representative"], name="unique_representation"
            ),
        ]
        indexes = [models.Index(fields=["represented", "status"])]

    def __str__(self) -> str:
        return f"{self.representative} pour {self.represented}"


class Professional(models.Model):
    """A health professional from the national directory (RPPS)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.OneToOneField(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="professional"
    )
    rpps = models.CharField("numéro RPPS", max_length=11, unique=True)
    profession = models.CharField("profession", max_length=4, choices=PROFESSIONS)
    specialty = models.CharField("spécialité", max_length=120, blank=True)
    title = models.CharField("civilité d'exercice", max_length=20, blank=True)
    first_name = models.CharField("prénom", max_length=100)
    last_name = models.CharField("nom", max_length=100)
    email = models.EmailField("adresse électronique", blank=True)
    phone = models.CharField("téléphone", max_length=20, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "professionnel de santé"
        verbose_name_plural = "professionnels de santé"

    def __str__(self) -> str:
        return self.display_name

    @property
    def id_nat(self) -> str:
        """National identifier in exchanges: 8 + RPPS."""
        return f"8{self.rpps}"

    @property
    def profession_label(self) -> str:
        return PROFESSION_LABELS.get(self.profession, self.profession)

    @property
    def display_name(self) -> str:
        prefix = f"{self.title} " if self.title else ""
        return f"{prefix}{self.first_name} {self.last_name}".strip()

    def clean(self):
        errors = {}
        try:
            self.rpps = validators.validate_rpps(self.rpps)
        except ValidationError as exc:
            errors["rpps"] = exc
        try:
            validators.validate_profession(self.profession)
        except ValidationError as exc:
            errors["profession"] = exc
        if errors:
            raise ValidationError(errors)


class Organization(models.Model):
    """A health or medico-social organisation (FINESS)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    finess = models.CharField("numéro FINESS", max_length=9, unique=True)
    kind = models.CharField("type de structure", max_length=16, choices=ORGANIZATION_KINDS)
    name = models.CharField("raison sociale", max_length=200)
    address_line = models.CharField("adresse", max_length=200, blank=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    city = models.CharField("commune", max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "structure"

    def __str__(self) -> str:
        return self.name

    @property
    def structure_id(self) -> str:
        """Structure identifier in exchanges: 1 + FINESS."""
        return f"1{self.finess}"

    def clean(self):
        try:
            self.finess = validators.validate_finess(self.finess)
        except ValidationError as exc:
            raise ValidationError({"finess": exc}) from exc


class Role(models.Model):
    """A professional works in an organisation through a role."""

    professional = models.ForeignKey(Professional, on_delete=models.CASCADE, related_name="roles")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    function = models.CharField("fonction", max_length=120, blank=True)
    start_date = models.DateField("début", default=timezone.localdate)
    end_date = models.DateField("fin", null=True, blank=True)

    class Meta:
        verbose_name = "exercice"
        constraints = [
            models.UniqueConstraint(
                fields=["professional", "organization", "start_date"], name="unique_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.professional} — {self.organization}"

    def is_active_on(self, day: date) -> bool:
        return self.start_date <= day and (self.end_date is None or day <= self.end_date)
