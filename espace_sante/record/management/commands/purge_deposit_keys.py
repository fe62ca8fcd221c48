from typing import Any

from django.core.management.base import BaseCommand

from espace_sante.record.documents import services


class Command(BaseCommand):
    help = (
        "Supprime les clés d'idempotence des dépôts plus anciennes que RECORD_IDEMPOTENCY_HOURS "
        "(24 h). À lancer régulièrement (cron) ou via la tâche purge_deposit_keys."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        removed = services.purge_deposit_keys()
        self.stdout.write(f"{removed} clé(s) d'idempotence expirée(s) supprimée(s).")
