"""Creating and finding identities. Every change of identity data goes through here."""

from typing import TypeVar

from django.db import transaction

from .models import LegalRepresentative, Organization, Person, Professional, Role, User

_Identity = TypeVar("_Identity", Person, Professional, Organization)


def _checked_and_saved(identity: _Identity) -> _Identity:
    """Save after every field and constraint check (their messages are in French)."""
    identity.full_clean()
    identity.save()
    return identity


@transaction.atomic
def create_person(**fields) -> Person:
    """Register a citizen from validated INS traits; raises ValidationError in French."""
    return _checked_and_saved(Person(**fields))


@transaction.atomic
def create_professional(**fields) -> Professional:
    return _checked_and_saved(Professional(**fields))


@transaction.atomic
def create_organization(**fields) -> Organization:
    return _checked_and_saved(Organization(**fields))


@transaction.atomic
def add_role(professional: Professional, organization: Organization, function: str = "") -> Role:
    role, _ = Role.objects.get_or_create(
        professional=professional,
        organization=organization,
        end_date=None,
        defaults={"function": function},
    )
    return role


@transaction.atomic
def open_account(identity: Person | Professional, email: str, password: str | None) -> User:
    """Give a citizen or a professional a sign-in account (email + password)."""
    from allauth.account.models import EmailAddress

    kind = User.Kind.CITIZEN if isinstance(identity, Person) else User.Kind.PROFESSIONAL
    user = User.objects.create_user(email=email, password=password, kind=kind)
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    identity.user = user
    identity.save(update_fields=["user"])
    return user


@transaction.atomic
def declare_representative(child: Person, parent: Person, accepted: bool = True):
    return LegalRepresentative.objects.update_or_create(
        represented=child,
        representative=parent,
        defaults={
            "status": LegalRepresentative.Status.ACCEPTED
            if accepted
            else LegalRepresentative.Status.WAITING
        },
    )[0]


def represented_people(person: Person):
    """The children (or protected adults) this person acts for."""
    return Person.objects.filter(
        representatives__representative=person,
        representatives__status=LegalRepresentative.Status.ACCEPTED,
    ).order_by("birth_date")


def professional_for_oidc_claims(subject: str, claims: dict) -> Professional | None:
    """Find the directory entry behind a Pro Santé Connect identity.

    PSC puts the national id (8 + RPPS) in ``SubjectNameID`` (and in ``sub``
    for most configurations); a plain 11-digit RPPS is accepted too.
    """
    for value in (claims.get("SubjectNameID"), claims.get("preferred_username"), subject):
        if not value:
            continue
        value = str(value)
        rpps = value[1:] if len(value) == 12 and value.startswith("8") else value
        if len(rpps) == 11 and rpps.isdigit():
            found = Professional.objects.filter(rpps=rpps).select_related("user").first()
            if found:
                return found
    return None


class IdentityMismatch(Exception):
    """The INS exists but the traits typed do not match it."""


def find_person_by_ins(matricule: str, birth_date, birth_name: str) -> Person | None:
    """The person with this INS matricule, checked against two strict traits.

    Returns None when no space has this matricule; raises IdentityMismatch
    when one does but the birth date or the birth name disagree, so that a
    typing error never opens someone else's record.
    """
    from . import validators

    number = validators.validate_nir(matricule)
    person = Person.objects.filter(ins_matricule=number).first()
    if person is None:
        return None
    typed = " ".join(birth_name.split()).upper()
    if person.birth_date != birth_date or person.birth_name != typed:
        raise IdentityMismatch
    return person
