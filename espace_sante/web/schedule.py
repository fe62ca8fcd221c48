"""Every periodic job of the service, in one place: what runs, and when (Europe/Paris).

The scheduler (``web/scheduler.py``, ``espace-sante scheduler``) only enqueues
these tasks; the worker runs them. Each task is idempotent: run late, twice,
or after a missed turn, it does its work once. Times are cron lines (minute
hour day month weekday); ``settings.SCHEDULE_OVERRIDES`` changes one per job.
"""

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class Job:
    name: str
    task: str  # dotted path of a django-tasks task
    cron: str
    description: str  # in French: what `espace-sante scheduler --list` shows operators


JOBS = (
    Job(
        "notification_digests",
        "espace_sante.access.tasks.send_notification_digests",
        "*/15 * * * *",
        "récapitulatif quotidien des notifications (hors heures de silence)",
    ),
    Job(
        "agenda_daily_reminders",
        "espace_sante.agenda.tasks.daily_reminders",
        "0 7 * * *",
        "rappels du jour de l'agenda (rendez-vous de demain, prévention)",
    ),
    Job(
        "messaging_retention",
        "espace_sante.messaging.tasks.apply_retention",
        "30 3 * * *",
        "messagerie : avertissements puis suppression des conversations anciennes",
    ),
    Job(
        "enrollment_create_due",
        "espace_sante.web.tasks.create_due_spaces",
        "10 * * * *",
        "création automatique des espaces dont le délai d'opposition est passé",
    ),
    Job(
        "enrollment_purge",
        "espace_sante.enrollment.tasks.purge_closed_spaces",
        "0 4 * * *",
        "suppression des espaces fermés arrivés à échéance",
    ),
    Job(
        "record_deposit_keys",
        "espace_sante.record.documents.tasks.purge_deposit_keys",
        "20 * * * *",
        "suppression des clés d'idempotence des dépôts expirées",
    ),
    Job(
        "record_orphan_blobs",
        "espace_sante.record.documents.tasks.sweep_orphan_blobs",
        "40 * * * *",
        "fichiers chiffrés orphelins et fichiers temporaires oubliés",
    ),
    Job(
        "audit_seal",
        "espace_sante.access.tasks.seal_audit_trail",
        "*/10 * * * *",
        "scellement du journal d'accès",
    ),
)


def jobs(only: list[str] | None = None) -> list[Job]:
    """The jobs with their times after ``SCHEDULE_OVERRIDES``; only those named, if any."""
    overrides: dict[str, str] = settings.SCHEDULE_OVERRIDES or {}
    unknown = (set(overrides) | set(only or [])) - {job.name for job in JOBS}
    if unknown:
        raise ValueError(f"Unknown scheduled jobs: {sorted(unknown)}")
    return [
        Job(job.name, job.task, overrides.get(job.name, job.cron), job.description)
        for job in JOBS
        if not only or job.name in only
    ]
