"""The profession × document-type matrix: shipped as data, loaded into the database.

The file ``data/matrix.csv`` carries a version. ``load_matrix`` replaces the
cells when the file's version is newer than the last loaded one, so an
operator's edits in the admin survive restarts and are replaced only by a new
version shipped with the code (the admin keeps each edit in its history).
"""

import csv
from pathlib import Path

from django.db import transaction

from .consent_models import MatrixCell, MatrixVersion

MATRIX_FILE = Path(__file__).with_name("data") / "matrix.csv"


def read_matrix_file(path: Path = MATRIX_FILE) -> tuple[int, dict[tuple[str, str], bool]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(line for line in handle if not line.startswith("#")))
    version = int(rows[0][1])
    types = rows[1][1:]
    cells = {}
    for row in rows[2:]:
        profession = row[0]
        for type_code, value in zip(types, row[1:], strict=True):
            cells[(profession, type_code)] = value.strip() == "1"
    return version, cells


@transaction.atomic
def load_matrix(path: Path = MATRIX_FILE, *, force: bool = False) -> bool:
    """Load the shipped matrix if it is newer than the loaded one; True when loaded."""
    version, cells = read_matrix_file(path)
    latest = MatrixVersion.objects.order_by("-version").first()
    if latest is not None and latest.version >= version and not force:
        return False
    MatrixCell.objects.all().delete()
    MatrixCell.objects.bulk_create(
        MatrixCell(profession=p, type_code=t, allowed=a) for (p, t), a in cells.items()
    )
    MatrixVersion.objects.update_or_create(version=version, defaults={"source": path.name})
    return True


def allowed_types(profession: str) -> frozenset[str]:
    """Document types the profession may read; empty (refused) for an unknown profession.

    Read from the database on each decision, so an operator's edit applies at once.
    """
    return frozenset(
        MatrixCell.objects.filter(profession=profession, allowed=True).values_list(
            "type_code", flat=True
        )
    )
