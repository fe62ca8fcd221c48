from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from espace_sante.record.documents import services


class Command(BaseCommand):
    help = (
        "Supprime les fichiers chiffrés qu'aucun document ne référence (restes d'envois "
        "interrompus). À lancer régulièrement (cron) ou via la tâche sweep_orphan_blobs."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--older-than",
            type=int,
            default=3600,
            help="Âge minimal des fichiers, en secondes (défaut : 3600).",
        )

    def handle(self, *args: Any, older_than: int, **options: Any) -> None:
        removed = services.sweep_orphan_blobs(older_than)
        self.stdout.write(f"{removed} fichier(s) orphelin(s) supprimé(s).")
