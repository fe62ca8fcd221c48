from django.conf import settings
from django.core.management.base import BaseCommand

from espace_sante.messaging import services


class Command(BaseCommand):
    help = (
        "Prévient les patients puis supprime les conversations sans activité depuis "
        "MESSAGING_RETENTION_DAYS jours, "
        "avec leurs pièces jointes, et les fichiers de pièces jointes orphelins "
        "(à lancer chaque jour, par cron ou via --enqueue)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--enqueue",
            action="store_true",
            help="Mettre la tâche en file pour le worker au lieu de l'exécuter ici.",
        )

    def handle(self, *args, enqueue=False, **options):
        if enqueue:
            from espace_sante.messaging.tasks import apply_retention

            apply_retention.enqueue()
            self.stdout.write("Tâche de conservation de la messagerie mise en file.")
            return
        told = services.warn_before_retention()
        removed = services.apply_retention()
        orphans = services.sweep_orphan_attachments()
        self.stdout.write(
            f"{told} personne(s) prévenue(s), {removed} conversation(s) supprimée(s) "
            f"(conservation : {settings.MESSAGING_RETENTION_DAYS} jours), "
            f"{orphans} pièce(s) jointe(s) orpheline(s) effacée(s)."
        )
