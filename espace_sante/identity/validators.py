"""Checks on French identifiers, each failing with a sentence a person can act on."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from stdnum import luhn
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.fr import nir as stdnum_nir

from .reference import PROFESSION_LABELS

_DEPARTMENT = re.compile(r"^(0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-6])$")
_BIRTH_PLACE = re.compile(r"^(\d{5}|2[AB]\d{3})$")
_MOBILE = re.compile(r"^(?:\+33|0033|0)([67]\d{8})$")
_FINESS = re.compile(r"^(\d{2}|2A|2B)\d{7}$")


def compact(value: str) -> str:
    return re.sub(r"[\s.\-]", "", value or "").upper()


def _compact_matching(value: str, pattern: re.Pattern[str], message: str, code: str) -> str:
    """The compact value when it matches ``pattern``; otherwise ``message`` as the error."""
    compacted = compact(value)
    if not pattern.match(compacted):
        raise ValidationError(message, code=code)
    return compacted


def validate_nir(value: str) -> str:
    """Return the compact NIR (or NIA, same format) or raise a French message."""
    number = compact(value)
    if len(number) != 15:
        raise ValidationError(
            "Le numéro de sécurité sociale doit compter 15 caractères, clé comprise "
            "(vous en avez saisi %(count)d).",
            params={"count": len(number)},
            code="nir_length",
        )
    try:
        stdnum_nir.validate(number)
    except StdnumError as exc:
        if type(exc).__name__ == "InvalidChecksum":
            raise ValidationError(
                "La clé du numéro de sécurité sociale (les 2 derniers chiffres) ne correspond "
                "pas au numéro : vérifiez-le sur la carte Vitale.",
                code="nir_key",
            ) from exc
        raise ValidationError(
            "Ce numéro de sécurité sociale n'a pas un format valide : 13 chiffres puis une "
            "clé de 2 chiffres (2A ou 2B autorisés pour la Corse).",
            code="nir_format",
        ) from exc
    return number


def check_nir_matches_traits(nir: str, sex: str, birth_date: date | None) -> None:
    """The NIR encodes sex, year and month of birth: a mismatch is a typing error."""
    errors = {}
    first = nir[0]
    if sex and first in "12" and {"1": "M", "2": "F"}[first] != sex:
        errors["sex"] = ValidationError(
            "Le sexe ne correspond pas au numéro de sécurité sociale (1 pour un homme, "
            "2 pour une femme).",
            code="nir_sex",
        )
    if birth_date is not None:
        if nir[1:3] != f"{birth_date.year % 100:02d}":
            errors["birth_date"] = ValidationError(
                "L'année de naissance ne correspond pas au numéro de sécurité sociale "
                "(2e et 3e chiffres).",
                code="nir_year",
            )
        elif nir[3:5].isdigit() and 1 <= int(nir[3:5]) <= 12 and int(nir[3:5]) != birth_date.month:
            errors["birth_date"] = ValidationError(
                "Le mois de naissance ne correspond pas au numéro de sécurité sociale "
                "(4e et 5e chiffres).",
                code="nir_month",
            )
    if errors:
        raise ValidationError(errors)


def validate_birth_place(value: str) -> str:
    return _compact_matching(
        value,
        _BIRTH_PLACE,
        "Le lieu de naissance est le code officiel INSEE à 5 caractères de la commune "
        "(par exemple 31555 pour Toulouse), ou 99 suivi du code du pays pour une "
        "naissance à l'étranger.",
        "birth_place",
    )


def validate_department(value: str) -> str:
    return _compact_matching(
        value,
        _DEPARTMENT,
        "Le département est un code de 2 caractères (01 à 95, 2A, 2B) ou de 3 chiffres "
        "pour l'outre-mer (971 à 976).",
        "department",
    )


def normalize_mobile(value: str) -> str:
    """Return a French mobile number as +33XXXXXXXXX."""
    match = _MOBILE.match(compact(value))
    if not match:
        raise ValidationError(
            "Saisissez un numéro de téléphone portable français, par exemple 06 12 34 56 78.",
            code="mobile",
        )
    return "+33" + match.group(1)


def validate_rpps(value: str) -> str:
    number = compact(value)
    if not (len(number) == 11 and number.isdigit()):
        raise ValidationError("Le numéro RPPS compte exactement 11 chiffres.", code="rpps_format")
    if not luhn.is_valid(number):
        raise ValidationError(
            "Ce numéro RPPS n'existe pas : son dernier chiffre (chiffre de contrôle) ne "
            "correspond pas. Vérifiez-le sur la carte CPS ou dans l'annuaire santé.",
            code="rpps_key",
        )
    return number


def _finess_digits(number: str) -> str:
    # Corsica's 2A/2B count as 20 for the check key, as in the FINESS registry.
    return number.replace("2A", "20", 1).replace("2B", "20", 1)


def finess_check_digit(first_eight: str) -> str:
    return luhn.calc_check_digit(_finess_digits(first_eight))


def validate_finess(value: str) -> str:
    number = _compact_matching(
        value,
        _FINESS,
        "Le numéro FINESS compte 9 caractères : le département (2 caractères, 2A ou 2B "
        "pour la Corse) puis 7 chiffres.",
        "finess_format",
    )
    if not luhn.is_valid(_finess_digits(number)):
        raise ValidationError(
            "Ce numéro FINESS n'existe pas : son dernier chiffre (clé) ne correspond pas.",
            code="finess_key",
        )
    return number


def validate_profession(value: str) -> str:
    if value not in PROFESSION_LABELS:
        raise ValidationError(
            "Profession inconnue : choisissez une profession de la liste.", code="profession"
        )
    return value
