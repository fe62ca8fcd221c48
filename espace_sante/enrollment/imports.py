import csv
import io
import secrets
import time
import uuid
from collections.abc import Callable, Iterable

from defusedcsv import csv as safe_csv
from django.db import connection, transaction
from django.utils import timezone

from espace_sante.identity.models import Person

from . import validators
from .lifecycle import Event, S
from .models import (
    Beneficiary,
    Campaign,
    ImportReport,
    RefusedLine,
    SpaceTransition,
)

# --- Import of a beneficiary file ----------------------------------------------

IMPORT_CHUNK = 5000


def ordered_ids(count: int) -> list[str]:
    """``count`` new UUIDs (version 7: time in milliseconds, then 74 random bits).

    Random (version 4) keys land anywhere in the primary-key and foreign-key
    indexes: once those outgrow the database's memory, every insert reads a
    page from disk, and a million-line import slowed down as it went. Keys that
    start with the time are appended at the end of each index instead.
    """
    prefix = (time.time_ns() // 1_000_000) << 80 | 0x7 << 76
    ids = []
    for _ in range(count):
        rand = secrets.randbits(74)
        value = prefix | (rand >> 62) << 64 | 0b10 << 62 | (rand & (1 << 62) - 1)
        ids.append(f"{value:032x}")  # the 32-digit form PostgreSQL and Django both read
    return ids


# COPY's text format: backslash, tab and line ends are escaped, None is \N.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if type(value) is str:
        return value.translate(_COPY_ESCAPES)
    if type(value) is bool:
        return "t" if value else "f"
    return str(value)  # numbers, UUIDs, dates and aware datetimes (ISO with offset)


def _insert(model, rows: list[dict]) -> None:
    """Bulk insert of rows given as {attname: value}: COPY on PostgreSQL, bulk_create elsewhere.

    Plain dicts rather than model instances: building a million instances costs
    more than the database work. Fields missing from the rows take their
    model default (same value for the whole chunk), so a column added later
    with a default does not break the import. On PostgreSQL the rows are
    written as COPY text in one piece: psycopg's per-row ``write_row`` cost
    more than the database's own work.
    """
    if not rows:
        return
    fields = model._meta.concrete_fields
    given = list(rows[0].keys())
    defaults = {
        f.attname: f.get_default()
        for f in fields
        if f.attname not in given
        and not (f.primary_key and f.get_internal_type().endswith("AutoField"))
    }
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**defaults, **row) for row in rows], batch_size=500)
        return
    names = [*given, *defaults]
    columns = ", ".join(connection.ops.quote_name(model._meta.get_field(n).column) for n in names)
    table = connection.ops.quote_name(model._meta.db_table)
    tail = "".join("\t" + _copy_text(v) for v in defaults.values()) + "\n"
    separators = len(given) - 1
    lines = []
    for row in rows:
        values = [row[name] for name in given]
        line = "\t".join(map(str, values))
        # Most lines need no escaping: checked on the joined line at C speed. A
        # value with a tab, backslash or line end, or None, goes value by value.
        if (
            line.count("\t") != separators
            or "\\" in line
            or "\n" in line
            or "\r" in line
            or "None" in line
        ):
            line = "\t".join(map(_copy_text, values))
        lines.append(line + tail)
    text = "".join(lines)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
            copy.write(text)


def _existing_people(nirs: list[str]) -> dict[str, str]:
    """{matricule: person id} of those already known (any campaign)."""
    if connection.vendor == "postgresql":
        # One array parameter: Django's IN (%s, %s, …) of 5,000 values costs
        # more to build than the index look-ups themselves.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT ins_matricule, id FROM identity_person WHERE ins_matricule = ANY(%s)",
                [nirs],
            )
            return dict(cursor.fetchall())
    return dict(Person.objects.filter(ins_matricule__in=nirs).values_list("ins_matricule", "id"))


def _open_csv(stream: Iterable[str]) -> csv.DictReader:
    lines = iter(stream)
    header = next(lines, "")
    delimiter = ";" if header.count(";") >= header.count(",") else ","
    names = [name.strip().lower() for name in next(csv.reader([header], delimiter=delimiter))]

    def rest():
        yield from lines

    return csv.DictReader(rest(), fieldnames=names, delimiter=delimiter)


def import_beneficiaries(
    campaign: Campaign,
    stream: Iterable[str],
    *,
    file_name: str = "",
    progress: Callable[[ImportReport], None] | None = None,
    chunk_size: int = IMPORT_CHUNK,
) -> ImportReport:
    """Read a beneficiary file line by line, import the valid ones, report the others.

    Streams: only ``chunk_size`` lines are held at once, so memory stays flat
    for any file size. Each chunk is committed on its own; a refused line
    never stops the others. Idempotent: a person already in the campaign (same
    INS) is counted as already present, never inserted twice; a person who
    already has a space (or objected) is recorded as not eligible.
    """
    report = ImportReport.objects.create(campaign=campaign, file_name=file_name[:200])
    header_checked = False
    reader = _open_csv(stream)
    pending: list[tuple[int, validators.Line]] = []
    refused: list[RefusedLine] = []
    today = timezone.localdate()
    for number, row in enumerate(reader, start=2):  # line 1 is the header
        if not header_checked:
            missing = [c for c in validators.REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                RefusedLine.objects.create(
                    report=report,
                    line=1,
                    field="",
                    message="Colonnes manquantes dans l'en-tête : " + ", ".join(missing),
                )
                report.refused = 1
                report.finished_at = timezone.now()
                report.save()
                return report
            header_checked = True
        report.lines += 1
        line, errors = validators.read_line(row, campaign.department, today)
        if errors:
            report.refused += 1
            refused.extend(
                RefusedLine(report=report, line=number, field=f, message=m[:300]) for f, m in errors
            )
        else:
            pending.append((number, line))
        if len(pending) >= chunk_size or len(refused) >= chunk_size:
            _import_chunk(campaign, report, pending, refused)
            pending, refused = [], []
            if progress:
                progress(report)
    _import_chunk(campaign, report, pending, refused)
    report.finished_at = timezone.now()
    report.save()
    if progress:
        progress(report)
    return report


@transaction.atomic
def _import_chunk(campaign, report, pending, refused) -> None:
    # The campaign row lock keeps two imports of one campaign from inserting
    # the same person at once (they would both see "not there yet").
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    by_nir: dict[str, tuple[int, validators.Line]] = {}
    for number, line in pending:
        nir = line.person["ins_matricule"]
        if nir in by_nir:
            report.refused += 1
            refused.append(
                RefusedLine(
                    report=report,
                    line=number,
                    field="nir",
                    message=f"Cette personne figure déjà ligne {by_nir[nir][0]} du fichier.",
                )
            )
            continue
        by_nir[nir] = (number, line)
    campaign_id = str(campaign.pk)  # as text once, like ``now`` below
    existing = _existing_people(list(by_nir))
    present = set(
        Beneficiary.objects.filter(
            campaign=campaign, person_id__in=list(existing.values())
        ).values_list("person_id", flat=True)
    )
    # Written in every row: as text once, not converted again for each row by COPY
    # (Django reads the same ISO text back on other databases).
    now = timezone.now().isoformat()
    people, beneficiaries, transitions = [], [], []
    new_ids = iter(ordered_ids(2 * (len(by_nir) - len(existing))))
    for nir, (number, line) in by_nir.items():
        channel = Beneficiary.Channel.EMAIL if line.person["email"] else Beneficiary.Channel.LETTER
        if nir in existing:
            if existing[nir] in present:
                report.already_present += 1
                continue
            # Someone who already has a space, objected or was invited elsewhere:
            # kept for the counts, never invited again.
            report.not_eligible += 1
            beneficiaries.append(
                _beneficiary_row(
                    campaign_id,
                    existing[nir],
                    line,
                    channel,
                    number,
                    now,
                    Beneficiary.Delivery.NOT_ELIGIBLE,
                    uuid.uuid4(),
                )
            )
            continue
        person_id = next(new_ids)
        people.append(
            {
                "id": person_id,
                "identity_status": "recuperee",
                "space_state": S.INVITED,
                "created_at": now,
                **line.person,
            }
        )
        beneficiaries.append(
            _beneficiary_row(
                campaign_id,
                person_id,
                line,
                channel,
                number,
                now,
                Beneficiary.Delivery.PENDING,
                next(new_ids),
            )
        )
        transitions.append(
            {
                "patient_id": person_id,
                "event": Event.IMPORTED,
                "from_state": "",
                "to_state": S.INVITED,
                "note": f"{campaign.name}, ligne {number}"[:200],
                "at": now,
            }
        )
        report.imported += 1
    _insert(Person, people)
    _insert(Beneficiary, beneficiaries)
    _insert(SpaceTransition, transitions)
    _insert(
        RefusedLine,
        [
            {"report_id": r.report_id, "line": r.line, "field": r.field, "message": r.message}
            for r in refused
        ],
    )
    report.save()


def _beneficiary_row(campaign_id, person_id, line, channel, number, now, delivery, id_) -> dict:
    return {
        "id": id_,
        "campaign_id": campaign_id,
        "person_id": person_id,
        "card_serial": line.card_serial,
        "channel": channel,
        "delivery": delivery,
        "line": number,
        "created_at": now,
    }


def refused_lines_csv(report: ImportReport) -> Iterable[str]:
    """The report of refused lines as CSV text, streamed (line, column, message).

    Written with ``defusedcsv``: a cell that a spreadsheet would take for a
    formula (``=``, ``+``, ``-``, ``@``…) is prefixed with a quote, so whatever an
    imported file carried cannot run in the operator's spreadsheet.
    """
    buffer = io.StringIO()
    writer = safe_csv.writer(buffer, delimiter=";")
    writer.writerow(["ligne", "colonne", "erreur"])
    yield buffer.getvalue()
    for line, field, message in report.errors.values_list("line", "field", "message").iterator(
        chunk_size=2000
    ):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([line, field, message])
        yield buffer.getvalue()
