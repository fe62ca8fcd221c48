"""``espace-sante audit verify [--patient UUID]``: check the audit trail's hash chains.

Exit code 0 when every chain is whole; 1, with one French line per problem
naming the patient and the entry's sequence, when an entry was deleted,
edited, inserted or moved.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from espace_sante.access import chain
from espace_sante.access.models import AuditEntry, AuditHead


@dataclass
class Problem:
    patient_id: uuid.UUID | str
    sequence: int | None
    what: str

    def __str__(self) -> str:
        where = f", entrée n° {self.sequence}" if self.sequence is not None else ""
        return f"Patient {self.patient_id}{where} : {self.what}"


def verify_patient(patient_id: uuid.UUID | str) -> tuple[int, list[Problem]]:
    """Walk one patient's chain in sequence order; return (entries seen, problems)."""
    problems: list[Problem] = []
    expected, previous_hash, count = 1, chain.GENESIS, 0
    rows = AuditEntry.objects.filter(patient_id=patient_id).order_by("sequence")
    for entry in rows.iterator(chunk_size=2000):
        count += 1
        if entry.sequence > expected:
            missing = (
                f"l'entrée n° {expected} manque"
                if entry.sequence == expected + 1
                else f"les entrées n° {expected} à {entry.sequence - 1} manquent"
            )
            problems.append(Problem(patient_id, entry.sequence, f"{missing} (supprimées ?)"))
        if entry.previous_hash != previous_hash:
            problems.append(
                Problem(
                    patient_id,
                    entry.sequence,
                    "le lien avec l'entrée précédente est rompu "
                    "(entrée supprimée, insérée ou déplacée)",
                )
            )
        if chain.digest(chain.fields_of(entry)) != entry.entry_hash:
            problems.append(
                Problem(
                    patient_id,
                    entry.sequence,
                    "le contenu ne correspond plus à son empreinte (entrée modifiée ou déplacée)",
                )
            )
        expected, previous_hash = entry.sequence + 1, entry.entry_hash
    head = AuditHead.objects.filter(patient_id=patient_id).first()
    last = expected - 1
    if head is None:
        if count:
            problems.append(
                Problem(patient_id, None, "la tête de chaîne a disparu (table modifiée)")
            )
    else:
        if head.sequence > last:
            gone = (
                f"l'entrée n° {head.sequence}"
                if head.sequence == last + 1
                else f"les entrées n° {last + 1} à {head.sequence}"
            )
            problems.append(
                Problem(
                    patient_id, head.sequence, f"{gone} manque(nt) en fin de chaîne (supprimées ?)"
                )
            )
        elif head.sequence < last:
            problems.append(
                Problem(
                    patient_id,
                    last,
                    f"des entrées ont été ajoutées après la n° {head.sequence} hors du service",
                )
            )
        elif count and head.entry_hash != previous_hash:
            problems.append(
                Problem(
                    patient_id,
                    last,
                    "la dernière entrée ne correspond pas à la tête de chaîne (remplacée ?)",
                )
            )
    return count, problems


def verify(patient_id: uuid.UUID | str | None = None) -> tuple[int, int, list[Problem]]:
    """Every patient's chain (or one): (patients, entries, problems)."""
    patients: list[uuid.UUID | str]
    if patient_id is not None:
        patients = [patient_id]
    else:
        patients = sorted(
            {str(p) for p in AuditEntry.objects.values_list("patient_id", flat=True).distinct()}
            | {str(p) for p in AuditHead.objects.values_list("patient_id", flat=True)}
        )
    entries = 0
    problems: list[Problem] = []
    for patient in patients:
        count, found = verify_patient(patient)
        entries += count
        problems += found
    return len(patients), entries, problems


class Command(BaseCommand):
    help = "Journal d'accès : vérifier les chaînes d'empreintes (suppression, modification, ordre)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        check = sub.add_parser(
            "verify", help="Vérifier la chaîne de chaque patient (ou d'un seul avec --patient)."
        )
        check.add_argument("--patient", help="Identifiant (UUID) d'un patient.")

    def handle(
        self,
        *args: Any,
        subcommand: str | None = None,
        patient: str | None = None,
        **options: Any,
    ) -> None:
        if subcommand != "verify":
            raise CommandError(f"Sous-commande inconnue : {subcommand}")
        wanted: str | uuid.UUID | None = patient
        if patient:
            try:
                wanted = uuid.UUID(patient)
            except ValueError:
                raise CommandError(f"Identifiant de patient invalide : {patient}") from None
        patients, entries, problems = verify(wanted)
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(
                f"Journal d'accès altéré : {len(problems)} anomalie(s) "
                f"sur {patients} patient(s), {entries} entrée(s) vérifiée(s)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal d'accès intègre : {patients} patient(s), {entries} entrée(s) vérifiée(s)."
            )
        )
