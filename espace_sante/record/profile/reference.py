"""Reference data of the medical profile (shared/domain/profile.md), shipped as data.

Sections, choice lists and the measure types with their LOINC code, UCUM unit,
French label and the range a value must fall in. Nothing here touches the
database; models, forms, services and pages read these tables.
"""

from dataclasses import dataclass
from decimal import Decimal

# --- Sections, in the order of the official service ------------------------


@dataclass(frozen=True)
class SectionInfo:
    key: str  # internal name; the audit trail records "profile:<key>"
    slug: str  # URL
    label: str
    intro: str
    empty: str  # what a section with no entry says
    add_label: str = ""  # "Ajouter une allergie"
    edit_label: str = ""  # "Modifier une allergie"


SECTION_INFOS = [
    SectionInfo(
        "conditions",
        "maladies",
        "Maladies et sujets de santé",
        "Vos maladies, actuelles ou passées, et les sujets de santé qui vous concernent.",
        "Aucune maladie ni aucun sujet de santé indiqué.",
        "Ajouter une maladie ou un sujet de santé",
        "Modifier une maladie ou un sujet de santé",
    ),
    SectionInfo(
        "treatments",
        "traitements",
        "Traitements",
        "Les médicaments que vous prenez ou avez pris.",
        "Aucun traitement indiqué.",
        "Ajouter un traitement",
        "Modifier un traitement",
    ),
    SectionInfo(
        "allergies",
        "allergies",
        "Allergies",
        "Les substances auxquelles vous êtes allergique ou intolérant.",
        "Aucune allergie indiquée.",
        "Ajouter une allergie",
        "Modifier une allergie",
    ),
    SectionInfo(
        "vaccinations",
        "vaccinations",
        "Vaccinations",
        "Les vaccins que vous avez reçus, notés par vous ou par un professionnel.",
        "Aucune vaccination n'est notée.",
        "Ajouter une vaccination",
        "Modifier une vaccination",
    ),
    SectionInfo(
        "screenings",
        "examens-de-prevention",
        "Dépistages et examens de prévention",
        "Les dépistages, examens de santé de l'enfant et rendez-vous de prévention que vous "
        "avez faits : ils mettent à jour vos rappels de prévention.",
        "Aucun examen de prévention n'est noté.",
        "Ajouter un examen de prévention",
        "Modifier un examen de prévention",
    ),
    SectionInfo(
        "hospitalisations",
        "hospitalisations",
        "Hospitalisations",
        "Vos séjours à l'hôpital ou en clinique.",
        "Aucune hospitalisation indiquée.",
        "Ajouter une hospitalisation",
        "Modifier une hospitalisation",
    ),
    SectionInfo(
        "family_history",
        "antecedents-familiaux",
        "Antécédents familiaux",
        "Les maladies de vos proches parents qui peuvent compter pour votre santé.",
        "Aucun antécédent familial indiqué.",
        "Ajouter un antécédent familial",
        "Modifier un antécédent familial",
    ),
    SectionInfo(
        "measures",
        "mesures",
        "Mesures",
        "Poids, taille, tension, glycémie et autres mesures de santé, avec leur évolution.",
        "Aucune mesure n'est notée.",
        "Ajouter une mesure",
        "Modifier une mesure",
    ),
    SectionInfo(
        "lifestyle",
        "habitudes-de-vie",
        "Habitudes de vie",
        "Alimentation, activité physique, sommeil, écrans, alcool et tabac.",
        "Aucune habitude de vie indiquée.",
        "Indiquer vos habitudes de vie",
        "Modifier vos habitudes de vie",
    ),
    SectionInfo(
        "disabilities",
        "handicaps",
        "Handicaps",
        "Vos handicaps et les aides dont vous bénéficiez.",
        "Aucun handicap indiqué.",
        "Ajouter un handicap",
        "Modifier un handicap",
    ),
    SectionInfo(
        "blood_group",
        "groupe-sanguin",
        "Groupe sanguin",
        "Votre groupe sanguin et votre facteur rhésus.",
        "Groupe sanguin non indiqué.",
        "Indiquer votre groupe sanguin",
        "Modifier votre groupe sanguin",
    ),
    SectionInfo(
        "contacts",
        "entourage",
        "Entourage et volontés",
        "Les personnes à prévenir, votre personne de confiance, vos aidants, "
        "votre position sur le don d'organes et vos directives anticipées.",
        "Aucune personne de l'entourage indiquée.",
        "Ajouter une personne de votre entourage",
        "Modifier une personne de votre entourage",
    ),
]
SECTION_INFO = {info.key: info for info in SECTION_INFOS}
# Organ donation has no page of its own: it is shown with the entourage.
WISHES = SectionInfo(
    "wishes",
    "volontes",
    "Don d'organes",
    "Votre position sur le don d'organes et de tissus après votre décès.",
    "Position non indiquée.",
    "Indiquer votre position sur le don d'organes",
    "Modifier votre position sur le don d'organes",
)
SECTION_INFO[WISHES.key] = WISHES

# --- Choice lists (stored encrypted, as their code) -----------------------

ALLERGY_SEVERITIES = {
    "legere": "Légère",
    "moderee": "Modérée",
    "severe": "Sévère (réaction grave, choc)",
    "inconnue": "Je ne sais pas",
}

# The exams the prevention calendar counts (shared/domain/prevention.md), by the code the
# agenda's rules use (agenda/data/prevention_codes.csv, kind "exam"): stored encrypted.
PREVENTION_EXAMS = {
    "examen_enfant": "Examen de santé de l'enfant",
    "examen_dentaire": "Examen bucco-dentaire (M'T dents)",
    "mammographie": "Mammographie de dépistage",
    "test_colorectal": "Test de dépistage du cancer colorectal",
    "cytologie_col": "Examen cytologique du col de l'utérus (frottis)",
    "test_hpv": "Test HPV du col de l'utérus",
    "consultation_prenatale": "Consultation prénatale",
    "echographie_grossesse": "Échographie de grossesse",
    "entretien_prenatal": "Entretien prénatal précoce",
    "consultation_anesthesie": "Consultation d'anesthésie",
    "preparation_naissance": "Séance de préparation à la naissance",
    "entretien_postnatal": "Entretien postnatal précoce",
    "bilan_prevention": "Mon bilan prévention",
}

VACCINATION_ROUTES = {
    "IM": "Intramusculaire (dans le muscle)",
    "SC": "Sous-cutanée (sous la peau)",
    "ID": "Intradermique (dans la peau)",
    "PO": "Par la bouche",
    "NASALE": "Par le nez",
    "AUTRE": "Autre",
}
VACCINATION_SITES = {
    "bras_gauche": "Bras gauche",
    "bras_droit": "Bras droit",
    "cuisse_gauche": "Cuisse gauche",
    "cuisse_droite": "Cuisse droite",
    "fesse": "Fesse",
    "autre": "Autre",
}
# Suggestions offered while typing (a <datalist>); any other name is accepted.
VACCINE_SUGGESTIONS = [
    "Hexavalent (diphtérie, tétanos, coqueluche, polio, Haemophilus, hépatite B)",
    "Pneumocoque (conjugué)",
    "Méningocoque C",
    "Méningocoques ACWY",
    "Méningocoque B",
    "ROR (rougeole, oreillons, rubéole)",
    "dTcaP (diphtérie, tétanos, coqueluche, polio)",
    "dTP (diphtérie, tétanos, polio)",
    "Papillomavirus (HPV)",
    "Grippe saisonnière",
    "Covid-19",
    "Zona",
    "Hépatite B",
    "BCG (tuberculose)",
    "Rotavirus",
    "VRS (bronchiolite)",
    "Fièvre jaune",
]

# profile.md: mother, father, grandparents, siblings, great-grandparents, aunt, uncle, other.
FAMILY_RELATIONS = {
    "mere": "Mère",
    "pere": "Père",
    "grand_parent": "Grand-parent",
    "frere_soeur": "Frère ou sœur",
    "arriere_grand_parent": "Arrière-grand-parent",
    "tante": "Tante",
    "oncle": "Oncle",
    "autre": "Autre parent",
}

DISABILITY_KINDS = {
    "sensoriel": "Sensoriel (vue, audition…)",
    "neurodeveloppemental": "Neurodéveloppemental (autisme, troubles « dys », TDAH…)",
    "psychique": "Psychique",
    "moteur": "Moteur",
    "polyhandicap": "Polyhandicap",
    "maladie_invalidante": "Maladie invalidante",
    "autre": "Autre",
}
# Bands of the incapacity rate set by the MDPH.
DISABILITY_RATES = {
    "": "Non renseigné",
    "moins_50": "Moins de 50 %",
    "50_79": "De 50 % à 79 %",
    "80_plus": "80 % ou plus",
    "en_cours": "Demande en cours",
}

BLOOD_GROUPS = {
    "A+": "A+ (A positif)",
    "A-": "A− (A négatif)",
    "B+": "B+ (B positif)",
    "B-": "B− (B négatif)",
    "AB+": "AB+ (AB positif)",
    "AB-": "AB− (AB négatif)",
    "O+": "O+ (O positif)",
    "O-": "O− (O négatif)",
}

CONTACT_KINDS = {
    "urgence": "Personne à prévenir en cas d'urgence",
    "confiance": "Personne de confiance",
    "aidant": "Proche aidant (une personne qui m'aide)",
    "aide": "Personne que j'aide (je suis son aidant)",
}

ORGAN_DONATION = {
    "accepte": "J'accepte de donner mes organes et tissus",
    "refuse": "Je refuse de donner mes organes et tissus",
    "non_renseigne": "Je ne souhaite pas me prononcer",
}

# --- Measures (LOINC codes of the ANS "Mesures de santé" guide, UCUM units) --


@dataclass(frozen=True)
class Unit:
    code: str  # UCUM
    label: str  # as shown
    minimum: Decimal
    maximum: Decimal
    decimals: int
    factor: Decimal = Decimal(1)  # value in this unit x factor = value in the first unit


@dataclass(frozen=True)
class Component:
    code: str
    label: str
    subject: str  # "La pression systolique", for messages
    feminine: bool
    minimum: Decimal
    maximum: Decimal


@dataclass(frozen=True)
class MeasureType:
    code: str
    slug: str
    label: str
    subject: str  # how a sentence starts: "Le poids", "La taille"
    feminine: bool  # "compris" or "comprise"
    units: tuple[Unit, ...]  # the first is the one charts use
    example: str
    components: tuple[Component, ...] = ()  # blood pressure: systolic, diastolic
    hint: str = ""

    @property
    def unit(self) -> Unit:
        return self.units[0]

    def unit_for(self, code: str) -> Unit | None:
        return next((unit for unit in self.units if unit.code == code), None)


def _u(code: str, label: str, minimum: str, maximum: str, decimals: int, factor: str = "1") -> Unit:
    return Unit(code, label, Decimal(minimum), Decimal(maximum), decimals, Decimal(factor))


BLOOD_PRESSURE = "85354-9"
SYSTOLIC = "8480-6"
DIASTOLIC = "8462-4"

MEASURE_TYPES = [
    MeasureType(
        "29463-7", "poids", "Poids", "Le poids", False, (_u("kg", "kg", "0.5", "400", 1),), "72,5"
    ),
    MeasureType(
        "8302-2", "taille", "Taille", "La taille", True, (_u("cm", "cm", "20", "260", 1),), "165"
    ),
    MeasureType(
        BLOOD_PRESSURE,
        "tension-arterielle",
        "Tension artérielle",
        "La tension artérielle",
        True,
        (_u("mm[Hg]", "mmHg", "20", "300", 0),),
        "128",
        components=(
            Component(
                SYSTOLIC,
                "Pression systolique (le chiffre le plus haut)",
                "La pression systolique",
                True,
                Decimal(50),
                Decimal(300),
            ),
            Component(
                DIASTOLIC,
                "Pression diastolique (le chiffre le plus bas)",
                "La pression diastolique",
                True,
                Decimal(20),
                Decimal(200),
            ),
        ),
        hint="En millimètres de mercure (mmHg) : « 13/8 » sur un tensiomètre s'écrit 130 et 80.",
    ),
    MeasureType(
        "8867-4",
        "frequence-cardiaque",
        "Fréquence cardiaque",
        "La fréquence cardiaque",
        True,
        (_u("/min", "battements par minute", "20", "250", 0),),
        "68",
    ),
    MeasureType(
        "8310-5",
        "temperature",
        "Température",
        "La température",
        True,
        (_u("Cel", "°C", "30", "45", 1),),
        "37,2",
    ),
    MeasureType(
        "39156-5",
        "imc",
        "Indice de masse corporelle (IMC)",
        "L'IMC",
        False,
        (_u("kg/m2", "kg/m²", "8", "100", 1),),
        "23,4",
    ),
    MeasureType(
        "8280-0",
        "tour-de-taille",
        "Tour de taille",
        "Le tour de taille",
        False,
        (_u("cm", "cm", "30", "250", 1),),
        "88",
    ),
    MeasureType(
        "2339-0",
        "glycemie",
        "Glycémie",
        "La glycémie",
        True,
        (
            _u("mg/dL", "mg/dL", "10", "1000", 0),
            _u("g/L", "g/L", "0.1", "10", 2, "100"),
            _u("mmol/L", "mmol/L", "0.5", "55", 1, "18.016"),
        ),
        "1,05",
        hint="Choisissez l'unité écrite sur votre lecteur ou votre compte rendu.",
    ),
    MeasureType(
        "4548-4",
        "hba1c",
        "Hémoglobine glyquée (HbA1c)",
        "L'hémoglobine glyquée",
        True,
        (_u("%", "%", "3", "20", 1),),
        "6,8",
    ),
    MeasureType(
        "41950-7",
        "pas",
        "Nombre de pas par jour",
        "Le nombre de pas",
        False,
        (_u("/d", "pas par jour", "0", "100000", 0),),
        "8000",
    ),
    MeasureType(
        "72514-3",
        "douleur",
        "Douleur (de 0 à 10)",
        "L'intensité de la douleur",
        True,
        (_u("{score}", "sur 10", "0", "10", 0),),
        "3",
        hint="0 : aucune douleur ; 10 : la pire douleur imaginable.",
    ),
    MeasureType(
        "8287-5",
        "perimetre-cranien",
        "Périmètre crânien (enfant)",
        "Le périmètre crânien",
        False,
        (_u("cm", "cm", "20", "70", 1),),
        "48,5",
    ),
]
MEASURES = {m.code: m for m in MEASURE_TYPES}
MEASURES_BY_SLUG = {m.slug: m for m in MEASURE_TYPES}


def french_number(value: Decimal | int | float, decimals: int | None = None) -> str:
    """A number as French readers write it: decimal comma, thin space between thousands."""
    value = Decimal(str(value))
    if decimals is not None:
        # As many decimals as the unit has (« 1,10 g/L », « 68,0 kg »), like a lab report.
        value = value.quantize(Decimal(1).scaleb(-decimals))
    else:
        value = value.normalize()
    text = format(value, "f")
    if "." in text:
        whole, fraction = text.split(".")
    else:
        whole, fraction = text, ""
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    groups: list[str] = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    # Thin no-break space between thousands, as the French typographic rule.
    result = sign + "\u202f".join(groups)
    return f"{result},{fraction}" if fraction else result
