"""Building beneficiary files for the tests (and the demo, and the benchmark)."""

from datetime import date

from espace_sante.enrollment.validators import COLUMNS


def make_nir(sex: str, birth: date, serial: int, department: str = "31") -> str:
    """A NIR with a valid key: sex, year, month, place (dept + commune), order, key."""
    commune = "555"
    order = f"{serial % 1000:03d}"
    commune = f"{(serial // 1000) % 1000:03d}" if serial >= 1000 else commune
    digit = "1" if sex == "M" else "2"
    body = f"{digit}{birth.year % 100:02d}{birth.month:02d}{department}{commune}{order}"
    key = 97 - int(body) % 97
    return f"{body}{key:02d}"


def person_row(serial: int, *, email: bool = True, department: str = "31", **overrides) -> dict:
    sex = "F" if serial % 2 else "M"
    birth = date(1950 + serial % 50, 1 + serial % 12, 1 + serial % 28)
    row = {
        "nir": make_nir(sex, birth, serial, department),
        "nom_naissance": f"NOM{serial}",
        "prenoms": f"Prenom{serial} Second",
        "date_naissance": birth.isoformat(),
        "sexe": sex,
        "lieu_naissance": f"{department}555",
        "courriel": f"personne{serial}@exemple.test" if email else "",
        "telephone": "",
        "adresse": f"{serial} rue des Lilas",
        "code_postal": "31000",
        "commune": "Toulouse",
        "departement": department,
        "numero_serie_carte": f"{100000000 + serial}",
    }
    row.update(overrides)
    return row


def csv_lines(rows: list[dict]) -> list[str]:
    """The file's lines, as the insurer writes it (semicolons, header first)."""
    lines = [";".join(COLUMNS) + "\n"]
    lines += [";".join(str(row.get(c, "")) for c in COLUMNS) + "\n" for row in rows]
    return lines
