"""``espace-sante audit``: verify, seal and key the audit trail; set up its database roles.

- ``verify [--patient UUID]``: every chain, its head and the latest seal. Exit
  code 0 when whole; 1, with one French line per problem naming the patient and
  the entry's sequence, when an entry was deleted, edited, inserted, moved or
  recomputed, or the trail is shorter than sealed.
- ``seal [--enqueue [--every SECONDS]]``: sign the chain heads and append the
  seal to ``var/audit-seals/`` (or hand that to the worker, again every N s).
- ``rotate-key``: a new HMAC key for new entries; old keys stay to verify.
- ``rotate-seal-key``: a seal signed with the current seal key announces a new
  one, which signs every later seal; old public keys stay to verify.
- ``roles --app ROLE --owner ROLE [--apply]``: the least-privilege PostgreSQL
  roles (``access/roles.py``), printed, or run with ``--apply``.
"""

import os
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction

from espace_sante.access import audit_keys, roles, seals
from espace_sante.access.tasks import seal_audit_trail
from espace_sante.access.verification import snapshot, verify


class Command(BaseCommand):
    help = (
        "Journal d'accès : vérifier les chaînes d'empreintes et les scellements, sceller, "
        "changer de clé, préparer les rôles PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        check = sub.add_parser(
            "verify",
            help="Vérifier la chaîne de chaque patient (ou d'un seul avec --patient) "
            "et le dernier scellement.",
        )
        check.add_argument("--patient", help="Identifiant (UUID) d'un patient.")
        seal = sub.add_parser(
            "seal", help="Signer les têtes de chaîne et les ajouter au fichier des scellements."
        )
        seal.add_argument("--enqueue", action="store_true", help="Confier le scellement au worker.")
        seal.add_argument(
            "--every",
            type=int,
            default=0,
            help="Avec --enqueue : le worker recommence toutes les N secondes.",
        )
        sub.add_parser(
            "rotate-key",
            help="Nouvelle clé d'empreinte pour les nouvelles entrées (les anciennes restent).",
        )
        sub.add_parser(
            "rotate-seal-key",
            help="Sceller une dernière fois avec la clé de scellement actuelle, qui annonce "
            "la nouvelle.",
        )
        role = sub.add_parser(
            "roles", help="SQL des rôles PostgreSQL : propriétaire et application restreinte."
        )
        role.add_argument("--app", required=True, help="Rôle de l'application (web, worker).")
        role.add_argument("--owner", required=True, help="Rôle propriétaire (migrations).")
        role.add_argument(
            "--apply", action="store_true", help="Exécuter le SQL (connexion superutilisateur)."
        )

    def handle(self, *args: Any, subcommand: str | None = None, **options: Any) -> None:
        if subcommand == "verify":
            self.verify(options.get("patient"))
        elif subcommand == "seal":
            self.seal(bool(options.get("enqueue")), int(options.get("every") or 0))
        elif subcommand == "rotate-seal-key":
            try:
                done = seals.seal(rotate=True)
            except (seals.SealError, audit_keys.AuditKeyError) as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                self.style.SUCCESS(
                    f"Nouvelle clé de scellement : annoncée par le scellement n° {done.number}, "
                    f"signé par l'ancienne ; sa clé publique s'ajoute à "
                    f"{audit_keys.seal_public_key_path()} (les anciennes y restent)."
                )
            )
        elif subcommand == "rotate-key":
            old, new = audit_keys.rotate_hmac_key()
            self.stdout.write(
                self.style.SUCCESS(
                    f"Nouvelle clé d'empreinte du journal : {new} (l'ancienne, {old}, "
                    f"reste dans {audit_keys.hmac_keys_path()} pour la vérification)."
                )
            )
        elif subcommand == "roles":
            self.roles(options["app"], options["owner"], bool(options.get("apply")))
        else:
            raise CommandError(f"Sous-commande inconnue : {subcommand}")

    def verify(self, patient: str | None) -> None:
        wanted: str | uuid.UUID | None = patient
        if patient:
            try:
                wanted = uuid.UUID(patient)
            except ValueError:
                raise CommandError(f"Identifiant de patient invalide : {patient}") from None
        try:
            latest = seals.latest()
        except seals.SealError as error:
            raise CommandError(f"Scellements du journal altérés : {error}") from None
        with snapshot():
            patients, entries, problems = verify(wanted, latest)
        for problem in problems:
            self.stderr.write(str(problem))
        if problems:
            raise CommandError(
                f"Journal d'accès altéré : {len(problems)} anomalie(s) "
                f"sur {patients} patient(s), {entries} entrée(s) vérifiée(s)."
            )
        sealed = (
            f" ; dernier scellement n° {latest.number} du {latest.at} respecté"
            if latest
            else " ; aucun scellement encore (espace-sante audit seal)"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Journal d'accès intègre : {patients} patient(s), "
                f"{entries} entrée(s) vérifiée(s){sealed}."
            )
        )

    def seal(self, enqueue: bool, every: int) -> None:
        if enqueue:
            seal_audit_trail.enqueue(every)
            self.stdout.write("Scellement confié au worker.")
            return
        try:
            done = seals.seal()
        except (seals.SealError, audit_keys.AuditKeyError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Scellement n° {done.number} : {done.patients} patient(s), "
                f"{done.entries} entrée(s), dans {seals.seals_dir()}."
            )
        )

    def roles(self, app: str, owner: str, apply: bool) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("Les rôles ne concernent que PostgreSQL (DATABASE_URL).")
        try:
            sql = roles.statements(
                database=str(connection.settings_dict["NAME"]),
                app=app,
                owner=owner,
                tables=sorted(connection.introspection.table_names()),
                app_password=os.environ.get("AUDIT_APP_ROLE_PASSWORD") or None,
                owner_password=os.environ.get("AUDIT_OWNER_ROLE_PASSWORD") or None,
            )
        except roles.RoleNameError as error:
            raise CommandError(str(error)) from None
        if not apply:
            for statement in sql:
                self.stdout.write(statement + ";")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
        self.stdout.write(
            self.style.SUCCESS(
                f"Rôles prêts : « {owner} » possède les tables (migrations), « {app} » n'a que "
                "SELECT/INSERT sur le journal d'accès."
            )
        )
