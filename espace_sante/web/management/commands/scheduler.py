"""`espace-sante scheduler`: enqueue the periodic jobs at their times (web/scheduler.py)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from espace_sante.web import schedule
from espace_sante.web.scheduler import Scheduler


class Command(BaseCommand):
    help = (
        "Planificateur des tâches périodiques (récapitulatifs de notifications, purges, "
        "scellement du journal…) : les met en file à leur heure pour le worker. Plusieurs "
        "planificateurs peuvent tourner : chaque passage n'est mis en file qu'une fois."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--list", action="store_true", help="Afficher les tâches et leur prochain passage."
        )
        parser.add_argument(
            "--only",
            action="append",
            metavar="TÂCHE",
            help="Ne planifier que cette tâche (répétable).",
        )

    def handle(self, *args: Any, list: bool = False, only: list[str] | None = None, **options: Any):
        known = {job.name for job in schedule.JOBS}
        unknown = sorted(set(only or []) - known)
        if unknown:
            raise CommandError(
                f"Tâche(s) périodique(s) inconnue(s) : {', '.join(unknown)} "
                f"(connues : {', '.join(sorted(known))})."
            )
        try:
            jobs = schedule.jobs(only)
            scheduler = Scheduler(jobs)
        except ValueError as error:  # a name in SCHEDULE_OVERRIDES, or a bad cron line
            raise CommandError(f"SCHEDULE_OVERRIDES : {error}") from None
        for job, upcoming in scheduler.next_runs():
            when = timezone.localtime(upcoming).strftime("%d/%m/%Y %H:%M:%S") if upcoming else "—"
            self.stdout.write(
                f"  {job.name:<24} {job.cron:<16} prochain : {when}  {job.description}"
            )
        if list:
            return
        self.stdout.write(
            f"Planificateur {scheduler.scheduler_id} : {len(jobs)} tâche(s) périodique(s), "
            "heure de Paris (Ctrl+C pour arrêter)."
        )
        self.stdout.flush()
        scheduler.run()
