from django.conf import settings
from django.core.management.base import BaseCommand

from espace_sante.demo.people import DEMO_PASSWORD, DEMO_TOTP_SECRET, PEOPLE, load_demo


class Command(BaseCommand):
    help = "Charge les données de démonstration (sans effet si elles sont déjà là)."

    def handle(self, *args, **options):
        sign_ins = load_demo()
        out = self.stdout
        out.write("")
        out.write(f"Comptes de démonstration (mot de passe pour tous : {DEMO_PASSWORD})")
        for entry in sign_ins:
            out.write(f"  - {entry.email:<34} {entry.who} — 2e facteur : {entry.second_factor}")
        # Opt-out enrollment: a campaign of the demo département, ready to invite.
        from espace_sante.demo.enrollment import load_enrollment_demo

        enrollment = load_enrollment_demo(DEMO_PASSWORD)
        out.write(
            f"  - {enrollment['operator']:<34} opérateur (2e facteur : code TOTP) — /operateur/ "
            f"(campagne « {enrollment['campaign'].name} », personnes dans {enrollment['file']})"
        )
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            folder = settings.EMAIL_FILE_PATH
            out.write(f"Les codes envoyés par courriel sont écrits dans {folder}/")
            out.write("  (le dernier : espace-sante last_mail [ADRESSE])")
        out.write(
            f"Code TOTP des professionnels et de l'opérateur : secret {DEMO_TOTP_SECRET} dans "
            "votre application d'authentification, ou : espace-sante demo_totp"
        )
        # What a professional types in the portal's patient search (INS and traits).
        out.write("Patients de démonstration (recherche « Mes patients » du portail) :")
        for person in PEOPLE:
            name = f"{person['first_names'].split()[0]} {person['birth_name']}"
            out.write(
                f"  - {name:<14} INS {person['ins_matricule']}, "
                f"né(e) le {person['birth_date']:%d/%m/%Y}"
            )
