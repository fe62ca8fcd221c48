"""Reference data for identities (ANS tables, INS identifier systems).

Kept as data in one place so the access matrix, forms and FHIR mapping read
the same values.
"""

# INS identifier systems (OIDs), see shared/domain/identifiers.md.
INS_NIR = "1.2.250.1.213.1.4.8"
INS_NIA = "1.2.250.1.213.1.4.9"
INS_TEST_NIR = "1.2.250.1.213.1.4.10"
INS_DEMO_NIR = "1.2.250.1.213.1.4.11"
INS_SYSTEMS = [
    (INS_NIR, "NIR"),
    (INS_NIA, "NIA (numéro d'attente)"),
    (INS_TEST_NIR, "NIR de test"),
    (INS_DEMO_NIR, "NIR de démonstration"),
]

RPPS_SYSTEM = "https://rpps.esante.gouv.fr"
RPPS_OID = "1.2.250.1.71.4.2.1"

# ANS TRE_G15-ProfessionSante (the codes the access matrix is keyed on).
PROFESSIONS = [
    ("10", "Médecin"),
    ("21", "Pharmacien"),
    ("26", "Audioprothésiste"),
    ("28", "Opticien-lunetier"),
    ("40", "Chirurgien-dentiste"),
    ("50", "Sage-femme"),
    ("60", "Infirmier"),
    ("70", "Masseur-kinésithérapeute"),
    ("80", "Pédicure-podologue"),
    ("81", "Orthoprothésiste"),
    ("91", "Orthophoniste"),
    ("92", "Orthoptiste"),
    ("94", "Ergothérapeute"),
    ("95", "Psychomotricien"),
    ("96", "Manipulateur ERM"),
    ("98", "Diététicien"),
]
PROFESSION_LABELS = dict(PROFESSIONS)

ORGANIZATION_KINDS = [
    ("hospital", "Établissement de santé"),
    ("practice", "Cabinet libéral ou centre de santé"),
    ("pharmacy", "Pharmacie d'officine"),
    ("laboratory", "Laboratoire de biologie médicale"),
    ("medico_social", "Structure médico-sociale"),
]

IDENTITY_STATUSES = [
    ("provisoire", "Provisoire"),
    ("recuperee", "Récupérée"),
    ("validee", "Validée"),
    ("qualifiee", "Qualifiée"),
]
