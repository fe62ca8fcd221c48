"""Reading one line of the insurer's beneficiary file into Person traits."""

import re
from dataclasses import dataclass
from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from espace_sante.identity import validators as identity
from espace_sante.identity.reference import INS_NIA, INS_NIR

# The column names of the file (French, as the insurer writes them).
COLUMNS = [
    "nir",
    "nom_naissance",
    "prenoms",
    "date_naissance",
    "sexe",
    "lieu_naissance",
    "courriel",
    "telephone",
    "adresse",
    "code_postal",
    "commune",
    "departement",
    "numero_serie_carte",
]
REQUIRED = ["nir", "nom_naissance", "prenoms", "date_naissance", "sexe", "lieu_naissance"]
_CARD_SERIAL = re.compile(r"^\d{8,12}$")
_POSTAL_CODE = re.compile(r"^\d{5}$")


def validate_card_serial(value: str) -> str:
    number = identity.compact(value)
    if not _CARD_SERIAL.match(number):
        raise ValidationError(
            "Le numéro de série de la carte Vitale compte 8 à 12 chiffres (au dos de la carte).",
            code="card_serial",
        )
    return number


def parse_birth_date(value: str) -> date:
    value = (value or "").strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()  # noqa: DTZ007 (a calendar date)
        except ValueError:
            continue
    raise ValidationError(
        "La date de naissance s'écrit AAAA-MM-JJ ou JJ/MM/AAAA.", code="birth_date"
    )


@dataclass
class Line:
    """A valid line: the Person traits and the card serial."""

    person: dict
    card_serial: str


def read_line(row: dict, department: str, today: date) -> tuple[Line | None, list[tuple]]:
    """The traits of one line, or the (column, message) list of what is wrong with it."""
    errors: list[tuple[str, str]] = []

    def get(name):
        return (row.get(name) or "").strip()

    for name in REQUIRED:
        if not get(name):
            errors.append((name, "Cette colonne est obligatoire."))
    if errors:
        return None, errors
    fields: dict = {}
    try:
        nir = identity.validate_nir(get("nir"))
        fields["ins_matricule"] = nir
        fields["ins_system"] = INS_NIA if nir[0] in "78" else INS_NIR
    except ValidationError as exc:
        errors.append(("nir", exc.messages[0]))
        nir = None
    sex = get("sexe").upper()
    if sex not in ("F", "M"):
        errors.append(("sexe", "Le sexe est F ou M."))
        sex = ""
    fields["sex"] = sex
    try:
        birth_date = parse_birth_date(get("date_naissance"))
        if birth_date > today:
            raise ValidationError("La date de naissance ne peut pas être dans le futur.")
        fields["birth_date"] = birth_date
    except ValidationError as exc:
        errors.append(("date_naissance", exc.messages[0]))
        birth_date = None
    if nir and fields.get("ins_system") == INS_NIR:
        try:
            identity.check_nir_matches_traits(nir, sex, birth_date)
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                column = {"sex": "sexe", "birth_date": "date_naissance"}.get(field, field)
                errors.append((column, messages[0]))
    fields["birth_name"] = " ".join(get("nom_naissance").split()).upper()
    fields["first_names"] = " ".join(get("prenoms").split())
    try:
        fields["birth_place_code"] = identity.validate_birth_place(get("lieu_naissance"))
    except ValidationError as exc:
        errors.append(("lieu_naissance", exc.messages[0]))
    email = get("courriel").lower()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors.append(("courriel", "Cette adresse électronique n'est pas valide."))
    fields["email"] = email
    phone = get("telephone")
    fields["mobile_phone"] = ""
    if phone:
        try:
            fields["mobile_phone"] = identity.normalize_mobile(phone)
        except ValidationError as exc:
            errors.append(("telephone", exc.messages[0]))
    fields["address_line"] = " ".join(get("adresse").split())
    fields["postal_code"] = identity.compact(get("code_postal"))
    fields["city"] = " ".join(get("commune").split()).upper()
    if fields["postal_code"] and not _POSTAL_CODE.match(fields["postal_code"]):
        errors.append(("code_postal", "Le code postal compte 5 chiffres."))
    if not email and not (fields["address_line"] and fields["postal_code"] and fields["city"]):
        errors.append(
            (
                "adresse",
                "Sans adresse électronique, l'adresse postale complète (adresse, code postal, "
                "commune) est nécessaire pour envoyer le courrier.",
            )
        )
    try:
        dept = identity.validate_department(get("departement"))
        if dept != department:
            errors.append(
                (
                    "departement",
                    f"Cette personne relève du département {dept}, pas de celui de la "
                    f"campagne ({department}).",
                )
            )
        fields["department"] = dept
    except ValidationError as exc:
        errors.append(("departement", exc.messages[0]))
    try:
        card_serial = validate_card_serial(get("numero_serie_carte"))
    except ValidationError as exc:
        errors.append(("numero_serie_carte", exc.messages[0]))
        card_serial = ""
    if errors:
        return None, errors
    return Line(person=fields, card_serial=card_serial), []
