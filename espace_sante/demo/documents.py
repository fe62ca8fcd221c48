"""Demo documents: realistic PDFs (and one structured CDA) in the demo records.

Idempotent: each carries a producer identifier (``master_identifier``) and is
skipped when already there.
"""

import io
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from espace_sante.access.policy import Actor, ActorKind
from espace_sante.record.documents import services
from espace_sante.record.documents.models import Document

PARIS = ZoneInfo("Europe/Paris")
_CSS = """
@page { size: A4; margin: 2cm; }
body { font-family: 'DejaVu Sans', sans-serif; font-size: 10.5pt; color: #1e1e1e; }
header { border-bottom: 2px solid #000091; margin-bottom: 1.2em; padding-bottom: .6em; }
h1 { font-size: 15pt; color: #000091; margin: .6em 0; }
table { border-collapse: collapse; width: 100%; margin: .8em 0; }
th, td { border: 1px solid #bbb; padding: 4px 6px; text-align: left; }
th { background: #eef; }
.small { font-size: 9pt; color: #555; }
"""


def _pdf(organization, author, patient, title, body_html, when) -> bytes:
    from weasyprint import HTML

    html = f"""<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">
    <style>{_CSS}</style></head><body>
    <header><strong>{escape(organization.name)}</strong><br>
    <span class="small">{escape(organization.address_line)}, {organization.postal_code}
    {escape(organization.city)} — FINESS {organization.finess}</span></header>
    <p>Patient : <strong>{escape(patient.display_name)}</strong>, né(e) le
    {patient.birth_date:%d/%m/%Y}</p>
    <h1>{escape(title)}</h1>{body_html}
    <p class="small">{escape(author.display_name)} — RPPS {author.rpps} — {when:%d/%m/%Y}</p>
    </body></html>"""
    return HTML(string=html).write_pdf()


def _vsm_cda(patient, author, organization, when) -> bytes:
    """A structured (N3) medical summary with its narrative sections."""
    sections = [
        (
            "Pathologies en cours",
            "<list><item>Diabète de type 2 (depuis 2012)</item>"
            "<item>Hypertension artérielle</item></list>",
        ),
        (
            "Traitements au long cours",
            "<table><thead><tr><th>Médicament</th><th>Posologie"
            "</th></tr></thead><tbody><tr><td>Metformine 1000 mg</td><td>1 cp matin et soir"
            "</td></tr><tr><td>Ramipril 5 mg</td><td>1 cp le matin</td></tr></tbody></table>",
        ),
        ("Allergies", "<paragraph>Aucune allergie connue.</paragraph>"),
        (
            "Points de vigilance",
            "<paragraph>Surveillance de la fonction rénale tous les "
            "6 mois. Examen des pieds annuel.</paragraph>",
        ),
    ]
    components = "".join(
        f'<component><section><code code="x" codeSystem="2.16.840.1.113883.6.1"/>'
        f"<title>{title}</title><text>{text}</text></section></component>"
        for title, text in sections
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <realmCode code="FR"/>
  <typeId root="2.16.840.1.113883.1.3" extension="POCD_HD000040"/>
  <id root="1.2.250.1.213.1.1.9" extension="demo-vsm-jean"/>
  <code code="60591-5" codeSystem="2.16.840.1.113883.6.1"
        displayName="Synthèse du dossier médical"/>
  <title>Volet de synthèse médicale</title>
  <effectiveTime value="{when:%Y%m%d%H%M%S}+0100"/>
  <confidentialityCode code="N" codeSystem="2.16.840.1.113883.5.25"/>
  <languageCode code="fr-FR"/>
  <recordTarget><patientRole>
    <id root="{patient.ins_system}" extension="{patient.ins_matricule}"/>
  </patientRole></recordTarget>
  <author><assignedAuthor><id root="1.2.250.1.71.4.2.1" extension="{author.id_nat}"/>
  </assignedAuthor></author>
  <custodian><assignedCustodian><representedCustodianOrganization>
    <id root="1.2.250.1.71.4.2.2" extension="{organization.structure_id}"/>
  </representedCustodianOrganization></assignedCustodian></custodian>
  <component><structuredBody>{components}</structuredBody></component>
</ClinicalDocument>""".encode()


def _when(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def _software_of(professional, organization) -> Actor:
    """The depositing professional, as their software would assert them."""
    return Actor(
        ActorKind.PROFESSIONAL,
        professional_id=professional.id,
        organization_id=organization.id,
        profession=professional.profession,
    )


def load_document_demo(people: dict, professionals: dict, organizations: dict) -> int:
    """Fill the demo records; returns how many documents were added."""
    gp, cardio, pharmacist, biologist = (
        professionals["10001234565"],
        professionals["10002345675"],
        professionals["10003456786"],
        professionals["10004567896"],
    )
    practice, hospital, lab = (
        organizations["310001235"],
        organizations["310004569"],
        organizations["440003218"],
    )
    del pharmacist
    marie, jean = people["marie"], people["jean"]

    bio_table = (
        "<table><thead><tr><th>Examen</th><th>Résultat</th><th>Valeurs de référence</th>"
        "</tr></thead><tbody>{}</tbody></table><p>Résultats validés par le biologiste.</p>"
    )
    entries = [
        (
            marie,
            "demo-marie-bio-2026",
            "11502-2",
            "Bilan sanguin",
            biologist,
            lab,
            _when(2026, 9, 15, 8, 30),
            bio_table.format(
                "<tr><td>Hémoglobine</td><td>13,2 g/dL</td><td>12,0 – 16,0</td></tr>"
                "<tr><td>Ferritine</td><td>18 µg/L</td><td>15 – 150</td></tr>"
                "<tr><td>TSH</td><td>1,9 mUI/L</td><td>0,4 – 4,0</td></tr>"
            ),
        ),
        (
            marie,
            "demo-marie-ordo-2026",
            "57833-6",
            "Ordonnance",
            gp,
            practice,
            _when(2026, 10, 2, 17, 10),
            "<p>Fer (sulfate ferreux) 80 mg : 1 comprimé par jour pendant 3 mois.</p>"
            "<p>Vitamine D 100 000 UI : 1 ampoule, à renouveler dans 3 mois.</p>",
        ),
        (
            marie,
            "demo-marie-vsm-2026",
            "60591-5",
            "Synthèse médicale",
            gp,
            practice,
            _when(2026, 3, 20, 11, 0),
            "<p>Antécédents : appendicectomie (2004). Allergie : pénicilline (urticaire).</p>"
            "<p>Vaccinations à jour (dTcaP 2013). Pas de traitement au long cours.</p>",
        ),
        (
            jean,
            "demo-jean-sortie-2026",
            "11490-0",
            "Lettre de liaison — sortie de cardiologie",
            cardio,
            hospital,
            _when(2026, 6, 12, 15, 45),
            "<p>Hospitalisation du 8 au 12 juin 2026 pour douleur thoracique. Coronarographie "
            "sans lésion significative. Retour à domicile.</p><p>Traitement de sortie inchangé. "
            "Consultation de contrôle dans 3 mois.</p>",
        ),
        (
            jean,
            "demo-jean-imagerie-2026",
            "18748-4",
            "Compte rendu d'échographie cardiaque",
            cardio,
            hospital,
            _when(2026, 6, 10, 10, 20),
            "<p>Fraction d'éjection ventriculaire gauche conservée (60 %). Pas de valvulopathie "
            "significative.</p><p>Conclusion : examen normal pour l'âge.</p>",
        ),
        (
            jean,
            "demo-jean-bio-2026",
            "11502-2",
            "Bilan diabète",
            biologist,
            lab,
            _when(2026, 10, 28, 7, 50),
            bio_table.format(
                "<tr><td>HbA1c</td><td>7,1 %</td><td>&lt; 7,0</td></tr>"
                "<tr><td>Glycémie à jeun</td><td>1,32 g/L</td><td>0,70 – 1,10</td></tr>"
                "<tr><td>Créatinine</td><td>9,8 mg/L</td><td>7,0 – 12,0</td></tr>"
            ),
        ),
    ]
    added = 0
    for patient, key, type_code, title, author, organization, when, body in entries:
        if Document.objects.filter(patient=patient, master_identifier=key).exists():
            continue
        content = _pdf(organization, author, patient, title, body, when)
        services.add_document(
            _software_of(author, organization),
            patient,
            io.BytesIO(content),
            services.NewDocument(
                title=title,
                type_code=type_code,
                source=Document.Source.PROFESSIONAL,
                document_date=when,
                author_professional=author,
                author_organization=organization,
                master_identifier=key,
                # Marie hid her blood test from professionals: her médecin
                # traitant still sees it, a doctor with her consent does not.
                masked_from_professionals=key == "demo-marie-bio-2026",
            ),
        )
        added += 1
    if not Document.objects.filter(patient=jean, master_identifier="demo-jean-vsm").exists():
        when = _when(2026, 2, 5, 9, 0)
        services.add_document(
            _software_of(gp, practice),
            jean,
            io.BytesIO(_vsm_cda(jean, gp, practice, when)),
            services.NewDocument(
                title="Volet de synthèse médicale",
                type_code="60591-5",
                source=Document.Source.PROFESSIONAL,
                author_professional=gp,
                author_organization=practice,
                master_identifier="demo-jean-vsm",
            ),
        )
        added += 1
    return added
