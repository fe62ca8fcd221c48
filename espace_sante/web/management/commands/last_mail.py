from email import message_from_bytes
from email.policy import default

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Affiche le dernier courriel écrit dans var/mail/ (démonstration sans serveur SMTP), "
        "ou le dernier envoyé à une adresse."
    )

    def add_arguments(self, parser):
        parser.add_argument("recipient", nargs="?", help="Adresse du destinataire.")

    def handle(self, *args, recipient=None, **options):
        folder = getattr(settings, "EMAIL_FILE_PATH", None)
        files = sorted(folder.glob("*.log"), key=lambda p: p.stat().st_mtime) if folder else []
        # The file backend appends messages separated by a line of dashes.
        messages = [
            message_from_bytes(chunk.strip(), policy=default)
            for path in files
            for chunk in path.read_bytes().split(b"-" * 79)
            if chunk.strip()
        ]
        if recipient:
            wanted = recipient.strip().lower()
            messages = [m for m in messages if wanted in (m["To"] or "").lower()]
        if not messages:
            raise CommandError(
                f"Aucun courriel pour {recipient} dans var/mail/."
                if recipient
                else "Aucun courriel n'a encore été écrit dans var/mail/."
            )
        message = messages[-1]
        self.stdout.write(f"À : {message['To']}\nObjet : {message['Subject']}\n")
        body = message.get_body(preferencelist=("plain",))
        self.stdout.write(body.get_content() if body else "")
