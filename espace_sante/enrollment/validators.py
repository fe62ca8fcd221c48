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


# The fast path below accepts only lines in the plain form the insurer writes
# (ASCII digits, no separators, ISO date); anything else goes through the
# detailed checks, which accept the same lines and name what is wrong.
_NIR_PLAIN = re.compile(r"[0-9]{5}(?:[0-9]{2}|2A|2B)[0-9]{8}")
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_BIRTH_PLACE_PLAIN = re.compile(r"[0-9]{5}|2[AB][0-9]{3}")
_POSTAL_CODE_PLAIN = re.compile(r"[0-9]{5}")
_DEPARTMENT_PLAIN = re.compile(r"0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-6]")
_CARD_SERIAL_PLAIN = re.compile(r"[0-9]{8,12}")
# A strict subset of what django.core.validators.validate_email accepts
# (checked by tests/enrollment/test_fast_validation.py).
_EMAIL_PLAIN = re.compile(
    r"[a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
)
_CORSICA_KEY = {"2A": "19", "2B": "18"}


def nir_key(nir: str) -> int:
    """The check key of a 15-character NIR: 97 - (first 13 as a number) mod 97.

    Corsica's 2A and 2B count as 19 and 18, as in python-stdnum (stdnum.fr.nir).
    """
    body = nir[:13]
    corsica = _CORSICA_KEY.get(body[5:7])
    if corsica:
        body = body[:5] + corsica + body[7:]
    return 97 - int(body) % 97


def read_line(row: dict, department: str, today: date) -> tuple[Line | None, list[tuple]]:
    """The traits of one line, or the (column, message) list of what is wrong with it.

    A million lines must be read in seconds: a line in the plain form is read
    without building exceptions; any other line, valid or not, goes through
    ``read_line_checked``, which gives the same result with the reasons.
    """
    line = _read_plain_line(row, department, today)
    if line is not None:
        return line, []
    return read_line_checked(row, department, today)


def _read_plain_line(row: dict, department: str, today: date) -> Line | None:
    """The Line of a valid line in the plain form; None for anything else (valid or not)."""
    get = row.get
    nir = (get("nir") or "").strip()
    if not _NIR_PLAIN.fullmatch(nir) or nir_key(nir) != int(nir[13:]):
        return None
    sex = (get("sexe") or "").strip()
    if sex != "F" and sex != "M":
        return None
    match = _ISO_DATE.fullmatch((get("date_naissance") or "").strip())
    if match is None:
        return None
    try:
        birth_date = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    if birth_date > today:
        return None
    system = INS_NIA if nir[0] in "78" else INS_NIR
    if system == INS_NIR:
        if nir[0] in "12" and ("M" if nir[0] == "1" else "F") != sex:
            return None
        if nir[1:3] != f"{birth_date.year % 100:02d}":
            return None
        month = nir[3:5]
        if month.isdigit() and 1 <= int(month) <= 12 and int(month) != birth_date.month:
            return None
    birth_name = " ".join((get("nom_naissance") or "").split()).upper()
    first_names = " ".join((get("prenoms") or "").split())
    birth_place = (get("lieu_naissance") or "").strip()
    if not birth_name or not first_names or not _BIRTH_PLACE_PLAIN.fullmatch(birth_place):
        return None
    email = (get("courriel") or "").strip().lower()
    if email and (len(email) > 254 or not _EMAIL_PLAIN.fullmatch(email)):
        return None
    mobile = ""
    phone = (get("telephone") or "").strip()
    if phone:
        try:
            mobile = identity.normalize_mobile(phone)
        except ValidationError:
            return None
    address = " ".join((get("adresse") or "").split())
    postal_code = (get("code_postal") or "").strip()
    city = " ".join((get("commune") or "").split()).upper()
    if postal_code and not _POSTAL_CODE_PLAIN.fullmatch(postal_code):
        return None
    if not email and not (address and postal_code and city):
        return None
    dept = (get("departement") or "").strip()
    if dept != department or not _DEPARTMENT_PLAIN.fullmatch(dept):
        return None
    card_serial = (get("numero_serie_carte") or "").strip()
    if not _CARD_SERIAL_PLAIN.fullmatch(card_serial):
        return None
    # Same keys, same order as read_line_checked: the import writes them as columns.
    person = {
        "ins_matricule": nir,
        "ins_system": system,
        "sex": sex,
        "birth_date": birth_date,
        "birth_name": birth_name,
        "first_names": first_names,
        "birth_place_code": birth_place,
        "email": email,
        "mobile_phone": mobile,
        "address_line": address,
        "postal_code": postal_code,
        "city": city,
        "department": dept,
    }
    return Line(person=person, card_serial=card_serial)


def read_line_checked(row: dict, department: str, today: date) -> tuple[Line | None, list[tuple]]:
    """Every check of ``read_line``, each failing with the column and a French message."""
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
