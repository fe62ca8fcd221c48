from email import message_from_bytes
from email.policy import default

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Affiche le dernier courriel écrit dans var/mail/ (démonstration sans serveur SMTP)."

    def handle(self, *args, **options):
        folder = getattr(settings, "EMAIL_FILE_PATH", None)
        files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime) if folder else []
        if not files:
            raise CommandError("Aucun courriel n'a encore été écrit dans var/mail/.")
        # The file backend appends messages separated by a line of dashes.
        raw = files[-1].read_bytes().split(b"-" * 79)
        last = next(chunk for chunk in reversed(raw) if chunk.strip())
        message = message_from_bytes(last.strip(), policy=default)
        self.stdout.write(f"À : {message['To']}\nObjet : {message['Subject']}\n")
        body = message.get_body(preferencelist=("plain",))
        self.stdout.write(body.get_content() if body else "")
