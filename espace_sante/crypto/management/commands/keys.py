"""`espace-sante keys status|rotate`: the key-encryption key (KEK) and its rotation."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from espace_sante.crypto import rotation
from espace_sante.crypto.errors import CryptoError


class Command(BaseCommand):
    help = (
        "Clé de chiffrement de clés (KEK) : `status` liste ses clés et le nombre de patients "
        "protégés par chacune ; `rotate` ajoute une nouvelle clé principale, ré-emballe les "
        "clés de tous les patients par lots puis supprime les anciennes clés. Une rotation "
        "interrompue reprend là où elle s'était arrêtée quand on relance `rotate`."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("status", help="clés de la KEK et patients protégés par chacune")
        rotate = actions.add_parser(
            "rotate", help="rotation de la KEK (reprend une rotation interrompue)"
        )
        rotate.add_argument(
            "--batch-size", type=int, default=500, help="patients par transaction (500)"
        )
        rotate.add_argument(
            "--max-batches",
            type=int,
            default=None,
            help="s'arrêter après ce nombre de lots ; relancer `rotate` pour continuer",
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "status":
                self.status()
            else:
                self.rotate(options["batch_size"], options["max_batches"])
        except (CryptoError, OSError) as exc:  # e.g. a read-only KEK file
            raise CommandError(str(exc)) from exc

    def status(self) -> None:
        status = rotation.kek_status()
        self.stdout.write(f"Fichier : {status.path}")
        for key_id, patients in status.patients_by_key.items():
            role = "principale" if key_id == status.primary_key_id else "ancienne"
            self.stdout.write(f"  clé {key_id} ({role}) : {patients} patient(s)")
        for key_id, patients in status.missing_keys.items():
            self.stderr.write(
                self.style.ERROR(
                    f"  clé {key_id} ABSENTE du fichier : {patients} patient(s) illisibles"
                )
            )
        self.stdout.write(f"Clés détruites (dossiers clos) : {status.destroyed}")
        if len(status.patients_by_key) > 1:
            self.stdout.write("Rotation inachevée : relancez `espace-sante keys rotate`.")

    def rotate(self, batch_size: int, max_batches: int | None) -> None:
        def progress(done: int, total: int) -> None:
            self.stdout.write(f"  ré-emballées : {done} / {total}")

        report = rotation.rotate_kek(
            batch_size=batch_size, max_batches=max_batches, progress=progress
        )
        if report.new_key:
            self.stdout.write(f"Nouvelle clé principale : {report.primary_key_id}")
        else:
            self.stdout.write(f"Reprise de la rotation vers la clé {report.primary_key_id}")
        self.stdout.write(f"Clés de patients ré-emballées : {report.rewrapped}")
        if report.remaining:
            self.stdout.write(
                self.style.WARNING(
                    f"Il reste {report.remaining} patient(s) sur une ancienne clé : "
                    "relancez `espace-sante keys rotate` pour continuer."
                )
            )
        elif report.removed_key_ids:
            removed = ", ".join(str(key_id) for key_id in report.removed_key_ids)
            self.stdout.write(
                self.style.SUCCESS(f"Rotation terminée ; clés supprimées : {removed}")
            )
        else:
            self.stdout.write(self.style.SUCCESS("Rotation terminée."))
