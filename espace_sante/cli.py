"""The `espace-sante` command: Django's manage.py, plus `serve`, `worker` and `demo`."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "espace_sante.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    argv[0] = "espace-sante"
    if len(argv) > 1 and argv[1] == "worker":
        if os.environ.get("TASKS_BACKEND", "").startswith("django_tasks_rq"):
            # RQ on Redis: its worker, with the scheduler for tasks enqueued for later.
            argv[1:2] = ["rqworker", "default", "--with-scheduler"]
            argv += ["--job-class", "django_tasks_rq.Job"]
        # Otherwise `worker` is ours: the database queue's worker, kept alive
        # through database outages (web/worker.py).
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
