"""`espace-sante enroll …`: campaigns from the command line.

enroll campaign NAME --department 31 --start 2026-12-01 [--delay-days 42]
enroll import FILE.csv --campaign NAME [--report errors.csv]
enroll invite --campaign NAME          (emails and letter PDFs now)
enroll create-due                      (automatic creation, for cron)
enroll purge                           (archives past their time, deletions asked)
"""

import sys
import time
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from espace_sante.enrollment import services
from espace_sante.enrollment.models import Campaign


class Command(BaseCommand):
    help = "Campagnes de création des espaces santé : import, invitations, création automatique."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        campaign = sub.add_parser("campaign", help="crée une campagne")
        campaign.add_argument("name")
        campaign.add_argument("--department", required=True)
        campaign.add_argument("--start", type=date.fromisoformat, default=None)
        campaign.add_argument("--delay-days", type=int, default=None)
        imp = sub.add_parser("import", help="importe un fichier de bénéficiaires (CSV)")
        imp.add_argument("file")
        imp.add_argument("--campaign", required=True)
        imp.add_argument("--report", help="écrit les lignes refusées dans ce fichier CSV")
        invite = sub.add_parser("invite", help="envoie les courriels et prépare les courriers")
        invite.add_argument("--campaign", required=True)
        sub.add_parser("create-due", help="crée les espaces dont le délai est passé")
        sub.add_parser("purge", help="supprime les espaces fermés arrivés à échéance")

    def handle(self, *args, action, **options):
        return getattr(self, "do_" + action.replace("-", "_"))(**options)

    def _campaign(self, name):
        try:
            return Campaign.objects.get(name=name)
        except Campaign.DoesNotExist:
            raise CommandError(f"Aucune campagne ne s'appelle « {name} ».") from None

    def do_campaign(self, name, department, start, delay_days, **_):
        from django.utils import timezone

        start = start or timezone.localdate()
        try:
            campaign = services.create_campaign(name, department, start, delay_days)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(
            f"Campagne « {campaign.name} » : département {campaign.department}, "
            f"envois à partir du {campaign.start_date:%d/%m/%Y}, délai {campaign.objection_days} j."
        )

    def do_import(self, file, campaign, report=None, **_):
        campaign = self._campaign(campaign)
        started = time.monotonic()

        def progress(r):
            rate = r.lines / max(time.monotonic() - started, 1e-6)
            self.stderr.write(
                f"\r{r.lines} lignes lues, {r.imported} importées, {r.refused} refusées "
                f"({rate:,.0f} lignes/s)",
                ending="",
            )
            self.stderr.flush()

        try:
            handle = sys.stdin if file == "-" else open(file, encoding="utf-8-sig", newline="")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Impossible de lire {file} : {exc.strerror}") from None
        with handle:
            result = services.import_beneficiaries(
                campaign, handle, file_name=file, progress=progress
            )
        self.stderr.write("")
        self.stdout.write(
            f"{result.lines} lignes : {result.imported} importées, "
            f"{result.already_present} déjà présentes, {result.not_eligible} non éligibles "
            f"(espace existant), {result.refused} refusées."
        )
        if report and result.refused:
            with open(report, "w", encoding="utf-8", newline="") as out:
                out.writelines(services.refused_lines_csv(result))
            self.stdout.write(f"Lignes refusées : {report}")
        elif result.refused:
            for line, field, message in result.errors.values_list("line", "field", "message")[:20]:
                self.stdout.write(f"  ligne {line} ({field}) : {message}")
            if result.errors.count() > 20:
                self.stdout.write("  … (--report FICHIER pour la liste complète)")

    def do_invite(self, campaign, **_):
        campaign = self._campaign(campaign)
        if not services.campaign_has_started(campaign):
            raise CommandError(
                f"La campagne commence le {campaign.start_date:%d/%m/%Y} : rien n'est envoyé avant."
            )
        done = services.send_invitation_emails(campaign)
        batches = services.build_letter_batches(campaign)
        self.stdout.write(
            f"{done['sent']} courriels envoyés, {done['retry']} à réessayer, "
            f"{done['letter']} basculés en courrier ; {len(batches)} fichier(s) de courriers "
            f"({sum(b.count for b in batches)} lettres)."
        )

    def do_create_due(self, **_):
        self.stdout.write(f"{services.create_due_spaces()} espaces créés automatiquement.")

    def do_purge(self, **_):
        self.stdout.write(f"{services.purge_closed_spaces()} espaces supprimés.")
