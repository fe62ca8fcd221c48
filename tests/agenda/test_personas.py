"""Named personas and the exact reminders prevention.md gives them.

Each expectation is worked out by hand from docs/domain/prevention.md (the shared
reference's tables), not from the rules file: its age, its window, its interval.
The conventions the engine documents (docs/prevention.md) are applied by hand too:
- a window "from A to B years" runs from the A-th birthday to the day before the
  (B+1)-th; the infant obligations are reminded until 2 years;
- « à faire » once due, « à planifier » when due within 3 months (by 1 March 2027
  for the usual day, 1 December 2026), « fait » when recorded;
- the next dose of a series is reminded only after the previous one is recorded;
- weeks of amenorrhoea count from two weeks before the declared start of
  pregnancy, the birth being expected at 41 weeks without a recorded delivery.

Rule ids name the rules; statuses and dates are the expectations.
"""

from dataclasses import dataclass, field
from datetime import date

import pytest

from espace_sante.agenda.prevention import DONE, TO_DO, TO_PLAN, Facts, Record, forecast

TODAY = date(2026, 12, 1)
CHRONIC = "maladie_cardiaque_ou_respiratoire"


def vac(code: str, *days: date) -> tuple[Record, ...]:
    return tuple(Record(code, day) for day in days)


exam = vac


@dataclass
class Persona:
    name: str
    facts: Facts
    expected: set[tuple[str, str, date]]
    today: date = TODAY
    reasons: dict[str, str] = field(default_factory=dict)


def d(year: int, month: int, day: int) -> date:
    return date(year, month, day)


PERSONAS = [
    Persona(
        "Léa, née il y a 3 jours",
        Facts(d(2026, 11, 28), "F"),
        {
            ("examen-enfant-j8", TO_DO, d(2026, 11, 28)),
            ("examen-enfant-2e-semaine", TO_PLAN, d(2026, 12, 6)),
            ("examen-enfant-2-mois", TO_PLAN, d(2027, 1, 28)),
            ("examen-enfant-3-mois", TO_PLAN, d(2027, 2, 28)),
            ("vac-hexavalent-1", TO_PLAN, d(2027, 1, 28)),
            ("vac-pneumocoque-1", TO_PLAN, d(2027, 1, 28)),
            ("vac-rotavirus-1", TO_PLAN, d(2027, 1, 28)),
            ("vac-meningocoque-b-1", TO_PLAN, d(2027, 2, 28)),
        },
        reasons={
            "examen-enfant-j8": "Vous avez 3 jours : un examen de santé est obligatoire dans "
            "les 8 jours après la naissance (certificat du 8e jour)."
        },
    ),
    Persona(
        "Hugo, 2 mois et demi, vaccins et examens de 2 mois faits",
        Facts(
            d(2026, 9, 15),
            "M",
            vaccinations=vac("hexavalent", d(2026, 11, 16))
            + vac("pneumocoque", d(2026, 11, 16))
            + vac("rotavirus", d(2026, 11, 16)),
            exams=exam("examen_enfant", d(2026, 9, 20), d(2026, 9, 26), d(2026, 11, 16)),
        ),
        {
            ("examen-enfant-2-mois", DONE, d(2026, 11, 16)),
            ("examen-enfant-3-mois", TO_PLAN, d(2026, 12, 15)),
            ("examen-enfant-4-mois", TO_PLAN, d(2027, 1, 15)),
            ("examen-enfant-5-mois", TO_PLAN, d(2027, 2, 15)),
            ("vac-hexavalent-1", DONE, d(2026, 11, 16)),
            # 4 months, but 2 months after the first dose given a day late.
            ("vac-hexavalent-2", TO_PLAN, d(2027, 1, 16)),
            ("vac-pneumocoque-1", DONE, d(2026, 11, 16)),
            ("vac-pneumocoque-2", TO_PLAN, d(2027, 1, 16)),
            ("vac-meningocoque-b-1", TO_PLAN, d(2026, 12, 15)),
            ("vac-rotavirus-1", DONE, d(2026, 11, 16)),
            ("vac-rotavirus-2", TO_PLAN, d(2026, 12, 16)),
        },
    ),
    Persona(
        "Inès, 1 an, à jour de ses vaccins de la première année",
        Facts(
            d(2025, 11, 20),
            "F",
            vaccinations=vac("hexavalent", d(2026, 1, 20), d(2026, 3, 20), d(2026, 10, 20))
            + vac("pneumocoque", d(2026, 1, 20), d(2026, 3, 20), d(2026, 10, 20))
            + vac("meningocoque_b", d(2026, 2, 20), d(2026, 4, 20))
            + vac("meningocoque_acwy", d(2026, 5, 20))
            + vac("rotavirus", d(2026, 1, 20), d(2026, 2, 20)),
            exams=exam(
                "examen_enfant",
                d(2025, 11, 22),
                d(2025, 11, 29),
                d(2026, 1, 21),
                d(2026, 2, 20),
                d(2026, 3, 21),
                d(2026, 4, 20),
                d(2026, 5, 21),
                d(2026, 8, 21),
                d(2026, 11, 21),
            ),
        ),
        {
            ("vac-hexavalent-1", DONE, d(2026, 1, 20)),
            ("vac-hexavalent-2", DONE, d(2026, 3, 20)),
            ("vac-hexavalent-3", DONE, d(2026, 10, 20)),
            ("vac-pneumocoque-1", DONE, d(2026, 1, 20)),
            ("vac-pneumocoque-2", DONE, d(2026, 3, 20)),
            ("vac-pneumocoque-3", DONE, d(2026, 10, 20)),
            ("vac-meningocoque-b-1", DONE, d(2026, 2, 20)),
            ("vac-meningocoque-b-2", DONE, d(2026, 4, 20)),
            ("vac-meningocoque-b-3", TO_DO, d(2026, 11, 20)),
            ("vac-meningocoque-acwy-1", DONE, d(2026, 5, 20)),
            ("vac-meningocoque-acwy-2", TO_DO, d(2026, 11, 20)),
            ("vac-ror-1", TO_DO, d(2026, 11, 20)),
            ("examen-enfant-12-mois", DONE, d(2026, 11, 21)),
            ("examen-enfant-13-mois", TO_PLAN, d(2026, 12, 20)),
        },
    ),
    Persona(
        "Nina, 16 mois, attend sa 2e dose de ROR",
        Facts(
            d(2025, 7, 10),
            "F",
            vaccinations=vac("hexavalent", d(2025, 9, 10), d(2025, 11, 10), d(2026, 6, 10))
            + vac("pneumocoque", d(2025, 9, 10), d(2025, 11, 10), d(2026, 6, 10))
            + vac("meningocoque_b", d(2025, 10, 10), d(2025, 12, 10), d(2026, 7, 10))
            + vac("meningocoque_acwy", d(2026, 1, 10), d(2026, 7, 10))
            + vac("ror", d(2026, 7, 10)),
        ),
        {
            ("vac-hexavalent-1", DONE, d(2025, 9, 10)),
            ("vac-hexavalent-2", DONE, d(2025, 11, 10)),
            ("vac-hexavalent-3", DONE, d(2026, 6, 10)),
            ("vac-pneumocoque-1", DONE, d(2025, 9, 10)),
            ("vac-pneumocoque-2", DONE, d(2025, 11, 10)),
            ("vac-pneumocoque-3", DONE, d(2026, 6, 10)),
            ("vac-meningocoque-b-1", DONE, d(2025, 10, 10)),
            ("vac-meningocoque-b-2", DONE, d(2025, 12, 10)),
            ("vac-meningocoque-b-3", DONE, d(2026, 7, 10)),
            ("vac-meningocoque-acwy-1", DONE, d(2026, 1, 10)),
            ("vac-meningocoque-acwy-2", DONE, d(2026, 7, 10)),
            ("vac-ror-1", DONE, d(2026, 7, 10)),
            ("vac-ror-2", TO_DO, d(2026, 11, 10)),
            ("examen-enfant-16-18-mois", TO_DO, d(2026, 11, 10)),
        },
    ),
    Persona(
        "Adam, né le 31 décembre 2024 : ni méningocoque B ni ACWY obligatoires",
        Facts(
            d(2024, 12, 31),
            "M",
            vaccinations=vac("hexavalent", d(2025, 3, 3), d(2025, 5, 2), d(2025, 12, 1))
            + vac("pneumocoque", d(2025, 3, 3), d(2025, 5, 2), d(2025, 12, 1))
            + vac("ror", d(2025, 12, 31), d(2026, 5, 2)),
        ),
        {
            ("vac-hexavalent-1", DONE, d(2025, 3, 3)),
            ("vac-hexavalent-2", DONE, d(2025, 5, 2)),
            ("vac-hexavalent-3", DONE, d(2025, 12, 1)),
            ("vac-pneumocoque-1", DONE, d(2025, 3, 3)),
            ("vac-pneumocoque-2", DONE, d(2025, 5, 2)),
            ("vac-pneumocoque-3", DONE, d(2025, 12, 1)),
            ("vac-ror-1", DONE, d(2025, 12, 31)),
            ("vac-ror-2", DONE, d(2026, 5, 2)),
            # 24–25 months: from 31 December 2026 to 27 February 2027 (26 months, clamped).
            ("examen-enfant-24-25-mois", TO_PLAN, d(2026, 12, 31)),
        },
    ),
    Persona(
        "Gabriel, 2 ans et 5 mois : rien avant ses 3 ans",
        Facts(d(2024, 7, 1), "M"),
        set(),
    ),
    Persona(
        "Zoé, bientôt 3 ans",
        Facts(d(2023, 12, 20), "F"),
        {
            ("examen-enfant-3-ans", TO_PLAN, d(2026, 12, 20)),
            ("dentaire-3ans", TO_PLAN, d(2026, 12, 20)),
        },
    ),
    Persona(
        "Lucas, 6 ans et demi, rappel, examen et dentiste faits",
        Facts(
            d(2020, 6, 1),
            "M",
            vaccinations=vac("dtcap", d(2026, 6, 15)),
            exams=exam("examen_enfant", d(2026, 7, 1)) + exam("examen_dentaire", d(2026, 6, 20)),
        ),
        {
            ("vac-dtcap-6ans", DONE, d(2026, 6, 15)),
            ("examen-enfant-6-ans", DONE, d(2026, 7, 1)),
            ("dentaire-6ans", DONE, d(2026, 6, 20)),
        },
    ),
    Persona(
        "Emma, 9 ans, rien de noté",
        Facts(d(2017, 2, 15), "F"),
        {
            ("examen-enfant-8-9-ans", TO_DO, d(2025, 2, 15)),
            ("dentaire-9ans", TO_DO, d(2026, 2, 15)),
            ("dentaire-10ans", TO_PLAN, d(2027, 2, 15)),
        },
    ),
    Persona(
        "Jules, 12 ans, rien de noté",
        Facts(d(2014, 9, 1), "M"),
        {
            ("examen-enfant-11-13-ans", TO_DO, d(2025, 9, 1)),
            ("dentaire-12ans", TO_DO, d(2026, 9, 1)),
            ("vac-dtcap-11ans", TO_DO, d(2025, 9, 1)),
            ("vac-hpv-1", TO_DO, d(2025, 9, 1)),
            ("vac-meningocoque-acwy-ado", TO_DO, d(2025, 9, 1)),
        },
    ),
    Persona(
        "Chloé, 13 ans, 1re dose contre les papillomavirus il y a 7 mois",
        Facts(
            d(2013, 5, 10),
            "F",
            vaccinations=vac("hpv", d(2026, 5, 5))
            + vac("dtcap_adulte", d(2024, 6, 1))
            + vac("meningocoque_acwy", d(2024, 6, 1)),
            exams=exam("examen_enfant", d(2024, 6, 1)) + exam("examen_dentaire", d(2026, 5, 20)),
        ),
        {
            ("vac-hpv-1", DONE, d(2026, 5, 5)),
            ("vac-hpv-2", TO_DO, d(2026, 11, 5)),
            ("vac-dtcap-11ans", DONE, d(2024, 6, 1)),
            ("vac-meningocoque-acwy-ado", DONE, d(2024, 6, 1)),
            ("examen-enfant-11-13-ans", DONE, d(2024, 6, 1)),
            ("dentaire-13ans", DONE, d(2026, 5, 20)),
        },
    ),
    Persona(
        # The official calendar: a series begun before 15 keeps its 2-dose scheme.
        "Tom, 16 ans, une seule dose contre les papillomavirus à 13 ans",
        Facts(d(2010, 3, 1), "M", vaccinations=vac("hpv", d(2024, 1, 10))),
        {
            ("vac-hpv-2-apres-15ans", TO_DO, d(2025, 3, 1)),
            ("examen-enfant-15-16-ans", TO_DO, d(2025, 3, 1)),
            ("dentaire-16ans", TO_DO, d(2026, 3, 1)),
            ("dentaire-17ans", TO_PLAN, d(2027, 3, 1)),
            ("vac-meningocoque-acwy-ado", TO_DO, d(2021, 3, 1)),
        },
    ),
    Persona(
        "Léna, 17 ans, rattrapage contre les papillomavirus commencé à 16 ans (3 doses)",
        Facts(d(2009, 5, 5), "F", vaccinations=vac("hpv", d(2025, 10, 1))),
        {
            ("vac-hpv-rattrapage-1", DONE, d(2025, 10, 1)),
            ("vac-hpv-rattrapage-2", TO_DO, d(2025, 12, 1)),
            ("dentaire-17ans", TO_DO, d(2026, 5, 5)),
            ("vac-meningocoque-acwy-ado", TO_DO, d(2020, 5, 5)),
        },
    ),
    Persona(
        "Sarah, 20 ans, à jour",
        Facts(
            d(2006, 4, 15),
            "F",
            vaccinations=vac("hpv", d(2018, 1, 1), d(2018, 7, 1))
            + vac("meningocoque_acwy", d(2019, 5, 1)),
            exams=exam("examen_dentaire", d(2026, 5, 1)) + exam("bilan_prevention", d(2025, 2, 1)),
        ),
        {
            ("vac-meningocoque-acwy-ado", DONE, d(2019, 5, 1)),
            ("dentaire-20ans", DONE, d(2026, 5, 1)),
            ("bilan-prevention-18-25ans", DONE, d(2025, 2, 1)),
        },
    ),
    Persona(
        "Yanis, 24 ans, rien de noté",
        Facts(d(2002, 11, 30), "M"),
        {
            ("dentaire-24ans", TO_DO, d(2026, 11, 30)),
            ("bilan-prevention-18-25ans", TO_DO, d(2020, 11, 30)),
            ("vac-meningocoque-acwy-ado", TO_DO, d(2013, 11, 30)),
            ("vac-hpv-rattrapage-1", TO_DO, d(2017, 11, 30)),
        },
    ),
    Persona(
        "Manon, 26 ans, un premier examen cytologique à 25 ans",
        Facts(d(2000, 8, 1), "F", exams=exam("cytologie_col", d(2025, 9, 1))),
        {
            ("depistage-col-cytologie-1", DONE, d(2025, 9, 1)),
            ("depistage-col-cytologie-2", TO_DO, d(2026, 9, 1)),
            ("vac-dtcap-25ans", TO_DO, d(2025, 8, 1)),
            ("vac-hpv-rattrapage-1", TO_DO, d(2015, 8, 1)),
        },
    ),
    Persona(
        "Camille, 28 ans, deux examens cytologiques normaux",
        Facts(
            d(1998, 3, 10),
            "F",
            vaccinations=vac("dtcap_adulte", d(2023, 4, 1))
            + vac("hpv", d(2010, 1, 1), d(2010, 7, 1)),
            exams=exam("cytologie_col", d(2023, 4, 1), d(2024, 4, 15)),
        ),
        {
            ("depistage-col-cytologie-1", DONE, d(2023, 4, 1)),
            ("depistage-col-cytologie-2", DONE, d(2024, 4, 15)),
            ("depistage-col-cytologie-3ans", DONE, d(2027, 4, 15)),
            ("vac-dtcap-25ans", DONE, d(2023, 4, 1)),
        },
        reasons={
            "depistage-col-cytologie-3ans": "Vous avez 28 ans et votre dernier examen "
            "cytologique du col de l'utérus date d'avril 2024 : la prochaine fois, en avril 2027."
        },
    ),
    Persona(
        "Julie, 31 ans, dernier examen cytologique à 28 ans",
        Facts(d(1995, 6, 20), "F", exams=exam("cytologie_col", d(2023, 9, 1))),
        {
            ("depistage-col-hpv", TO_DO, d(2026, 9, 1)),
            ("vac-dtcap-25ans", TO_DO, d(2020, 6, 20)),
        },
        reasons={
            "depistage-col-hpv": "Vous avez 31 ans et votre dernier examen de dépistage du col "
            "de l'utérus date de septembre 2023."
        },
    ),
    Persona(
        "Aurélie, 38 ans, test HPV négatif il y a 2 ans",
        Facts(
            d(1988, 1, 5),
            "F",
            vaccinations=vac("dtcap_adulte", d(2015, 1, 1)),
            exams=exam("test_hpv", d(2024, 10, 1)),
        ),
        {
            ("depistage-col-hpv", DONE, d(2029, 10, 1)),
            ("vac-dtcap-25ans", DONE, d(2015, 1, 1)),
        },
    ),
    Persona(
        "Marc, 38 ans, homme sans rien de noté",
        Facts(d(1988, 5, 5), "M"),
        {("vac-dtcap-25ans", TO_DO, d(2013, 5, 5))},
    ),
    Persona(
        "Karim, 41 ans : rien jusqu'à 45 ans",
        Facts(d(1985, 10, 10), "M"),
        set(),
    ),
    Persona(
        "Sophie, 45 ans, rappel dTP à 42 ans (moins de 5 ans : celui de 45 ans est sauté)",
        Facts(
            d(1981, 9, 1),
            "F",
            vaccinations=vac("dtp", d(2023, 10, 1)),
            exams=exam("test_hpv", d(2022, 12, 1)),
        ),
        {
            ("vac-dtp-45ans", DONE, d(2023, 10, 1)),
            ("bilan-prevention-45-50ans", TO_DO, d(2026, 9, 1)),
            ("depistage-col-hpv", DONE, d(2027, 12, 1)),
        },
    ),
    Persona(
        "Nathalie, 52 ans, dernière mammographie en mars 2025",
        Facts(
            d(1974, 6, 10),
            "F",
            vaccinations=vac("dtp", d(2019, 9, 1)),
            exams=exam("mammographie", d(2025, 3, 12))
            + exam("test_colorectal", d(2025, 11, 20))
            + exam("test_hpv", d(2023, 1, 15))
            + exam("bilan_prevention", d(2020, 1, 10)),
        ),
        {
            ("depistage-sein", TO_PLAN, d(2027, 3, 12)),
            ("depistage-colorectal", DONE, d(2027, 11, 20)),
            ("depistage-col-hpv", DONE, d(2028, 1, 15)),
            ("vac-dtp-45ans", DONE, d(2019, 9, 1)),
        },
        today=d(2027, 1, 15),
        reasons={
            "depistage-sein": "Vous avez 52 ans et votre dernière mammographie date de mars 2025."
        },
    ),
    Persona(
        "Philippe, né un 29 février, 58 ans, jamais dépisté",
        Facts(d(1968, 2, 29), "M"),
        {
            ("depistage-colorectal", TO_DO, d(2018, 2, 28)),
            ("vac-dtp-45ans", TO_DO, d(2013, 2, 28)),
        },
    ),
    Persona(
        "Martine, 65 ans dans dix semaines, rien de noté",
        Facts(d(1962, 2, 10), "F"),
        {
            ("vac-dtp-45ans", TO_DO, d(2007, 2, 10)),
            ("vac-dtp-65ans", TO_PLAN, d(2027, 2, 10)),
            ("vac-zona-1", TO_PLAN, d(2027, 2, 10)),
            ("vac-pneumocoque-65ans", TO_PLAN, d(2027, 2, 10)),
            ("bilan-prevention-60-65ans", TO_DO, d(2022, 2, 10)),
            ("depistage-sein", TO_DO, d(2012, 2, 10)),
            ("depistage-colorectal", TO_DO, d(2012, 2, 10)),
            ("depistage-col-hpv", TO_DO, d(1992, 2, 10)),
        },
    ),
    Persona(
        "Jean, 70 ans, vacciné contre la grippe et le Covid-19 cet automne",
        Facts(
            d(1956, 5, 20),
            "M",
            vaccinations=vac("grippe", d(2026, 10, 20))
            + vac("covid19", d(2026, 10, 20))
            + vac("zona", d(2026, 1, 10), d(2026, 3, 15))
            + vac("pneumocoque", d(2025, 6, 1))
            + vac("dtp", d(2021, 6, 1)),
            exams=exam("test_colorectal", d(2025, 5, 1)) + exam("bilan_prevention", d(2026, 6, 1)),
        ),
        {
            ("vac-grippe", DONE, d(2027, 10, 15)),
            ("vac-covid19", DONE, d(2027, 10, 15)),
            ("vac-zona-1", DONE, d(2026, 1, 10)),
            ("vac-zona-2", DONE, d(2026, 3, 15)),
            ("vac-pneumocoque-65ans", DONE, d(2025, 6, 1)),
            ("vac-dtp-65ans", DONE, d(2021, 6, 1)),
            ("depistage-colorectal", DONE, d(2027, 5, 1)),
            ("bilan-prevention-70-75ans", DONE, d(2026, 6, 1)),
        },
    ),
    Persona(
        "Gisèle, 80 ans, rien de noté",
        Facts(d(1946, 7, 1), "F"),
        {
            ("vac-dtp-75ans", TO_DO, d(2021, 7, 1)),
            ("vac-grippe", TO_DO, d(2026, 10, 15)),
            ("vac-covid19", TO_DO, d(2026, 10, 15)),
            ("vac-zona-1", TO_DO, d(2011, 7, 1)),
            ("vac-pneumocoque-65ans", TO_DO, d(2011, 7, 1)),
            ("vac-vrs-75ans", TO_DO, d(2021, 7, 1)),
        },
    ),
    Persona(
        "Robert, 68 ans, insuffisant cardiaque : le VRS dès 65 ans",
        Facts(
            d(1958, 3, 3),
            "M",
            vaccinations=vac("grippe", d(2026, 11, 2))
            + vac("covid19", d(2026, 11, 2))
            + vac("zona", d(2024, 1, 1), d(2024, 3, 1))
            + vac("pneumocoque", d(2023, 5, 1))
            + vac("dtp", d(2023, 4, 1)),
            exams=exam("test_colorectal", d(2026, 1, 10)),
            conditions=frozenset({CHRONIC}),
        ),
        {
            ("vac-vrs-65ans-maladie-chronique", TO_DO, d(2023, 3, 3)),
            ("vac-grippe", DONE, d(2027, 10, 15)),
            ("vac-covid19", DONE, d(2027, 10, 15)),
            ("vac-zona-1", DONE, d(2024, 1, 1)),
            ("vac-zona-2", DONE, d(2024, 3, 1)),
            ("vac-pneumocoque-65ans", DONE, d(2023, 5, 1)),
            ("vac-dtp-65ans", DONE, d(2023, 4, 1)),
            ("depistage-colorectal", DONE, d(2028, 1, 10)),
        },
    ),
    Persona(
        "Léon, 89 ans, rappel dTP à 87 ans",
        Facts(d(1936, 12, 15), "M", vaccinations=vac("dtp", d(2024, 5, 1))),
        {
            ("vac-dtp-85ans", DONE, d(2024, 5, 1)),
            ("vac-grippe", TO_DO, d(2026, 10, 15)),
            ("vac-covid19", TO_DO, d(2026, 10, 15)),
            ("vac-zona-1", TO_DO, d(2001, 12, 15)),
            ("vac-pneumocoque-65ans", TO_DO, d(2001, 12, 15)),
            ("vac-vrs-75ans", TO_DO, d(2011, 12, 15)),
        },
    ),
    Persona(
        "Élise, 32 ans, enceinte de 10 semaines d'aménorrhée",
        Facts(
            d(1994, 4, 4),
            "F",
            vaccinations=vac("dtcap_adulte", d(2019, 6, 1)),
            exams=exam("consultation_prenatale", d(2026, 11, 10)) + exam("test_hpv", d(2024, 6, 1)),
            pregnancy_start=d(2026, 10, 6),
        ),
        {
            ("grossesse-consultation-1", DONE, d(2026, 11, 10)),
            ("grossesse-consultation-4e-mois", TO_PLAN, d(2027, 1, 6)),
            ("grossesse-consultation-5e-mois", TO_PLAN, d(2027, 2, 6)),
            ("grossesse-echographie-1", TO_PLAN, d(2026, 12, 8)),
            ("grossesse-echographie-2", TO_PLAN, d(2027, 2, 9)),
            ("grossesse-entretien-prenatal", TO_DO, d(2026, 10, 6)),
            ("grossesse-preparation-naissance", TO_PLAN, d(2027, 1, 6)),
            ("grossesse-dentaire", TO_PLAN, d(2027, 1, 6)),
            ("grossesse-coqueluche", TO_PLAN, d(2027, 2, 9)),
            ("grossesse-covid19", TO_DO, d(2026, 9, 22)),
            ("vac-dtcap-25ans", DONE, d(2019, 6, 1)),
            ("depistage-col-hpv", DONE, d(2029, 6, 1)),
        },
        reasons={
            "grossesse-entretien-prenatal": "Vous êtes enceinte de 10 semaines d'aménorrhée : "
            "l'entretien prénatal précoce est obligatoire dès que la grossesse est déclarée."
        },
    ),
    Persona(
        "Fatou, 36 ans, a accouché il y a 5 semaines",
        Facts(
            d(1990, 9, 9),
            "F",
            exams=exam("entretien_prenatal", d(2026, 3, 20))
            + exam("examen_dentaire", d(2026, 6, 1)),
            pregnancy_start=d(2026, 2, 10),
            delivery_date=d(2026, 10, 27),
        ),
        {
            ("grossesse-entretien-postnatal", TO_DO, d(2026, 11, 24)),
            ("grossesse-dentaire", DONE, d(2026, 6, 1)),
            ("vac-dtcap-25ans", TO_DO, d(2015, 9, 9)),
            ("depistage-col-hpv", TO_DO, d(2020, 9, 9)),
        },
        reasons={
            "grossesse-entretien-postnatal": "Votre bébé est né le 27 octobre 2026 : l'entretien "
            "postnatal précoce est obligatoire entre la 4e et la 8e semaine après la naissance."
        },
    ),
    Persona(
        "Brigitte, 52 ans, a désactivé la prévention personnalisée",
        Facts(d(1974, 6, 10), "F", prevention_off=True),
        set(),
    ),
    Persona(
        "Valérie, 56 ans, pas concernée par le col de l'utérus, a écarté le rappel dTP",
        Facts(
            d(1970, 1, 20),
            "F",
            exams=exam("mammographie", d(2026, 1, 5)) + exam("test_colorectal", d(2024, 8, 1)),
            not_concerned=frozenset({"depistage-col-hpv"}),
            dismissed={"vac-dtp-45ans": d(2015, 1, 20)},
        ),
        {
            ("depistage-sein", DONE, d(2028, 1, 5)),
            ("depistage-colorectal", TO_DO, d(2026, 8, 1)),
        },
    ),
    Persona(
        "Didier, 60 ans : ni sein ni col de l'utérus pour un homme",
        Facts(d(1966, 6, 6), "M"),
        {
            ("depistage-colorectal", TO_DO, d(2016, 6, 6)),
            ("vac-dtp-45ans", TO_DO, d(2011, 6, 6)),
            ("bilan-prevention-60-65ans", TO_DO, d(2026, 6, 6)),
        },
    ),
    Persona(
        "Jeanne, 76 ans, en août : la grippe se prépare pour octobre",
        Facts(
            d(1950, 1, 1),
            "F",
            vaccinations=vac("zona", d(2020, 1, 1), d(2020, 3, 1))
            + vac("pneumocoque", d(2020, 1, 1))
            + vac("vrs", d(2025, 10, 1))
            + vac("dtp", d(2025, 1, 10))
            + vac("grippe", d(2026, 10, 20))
            + vac("covid19", d(2026, 10, 20)),
        ),
        {
            ("vac-grippe", TO_PLAN, d(2027, 10, 15)),
            ("vac-covid19", TO_PLAN, d(2027, 10, 15)),
            ("vac-zona-1", DONE, d(2020, 1, 1)),
            ("vac-zona-2", DONE, d(2020, 3, 1)),
            ("vac-pneumocoque-65ans", DONE, d(2020, 1, 1)),
            ("vac-vrs-75ans", DONE, d(2025, 10, 1)),
            ("vac-dtp-75ans", DONE, d(2025, 1, 10)),
        },
        today=d(2027, 8, 1),
    ),
]


def test_at_least_thirty_personas_with_distinct_names():
    assert len(PERSONAS) >= 30
    assert len({persona.name for persona in PERSONAS}) == len(PERSONAS)


@pytest.mark.parametrize("persona", PERSONAS, ids=[persona.name for persona in PERSONAS])
def test_persona_gets_exactly_the_reminders_of_the_calendar(persona):
    reminders = forecast(persona.facts, persona.today)
    got = {(r.rule_id, r.status, r.due) for r in reminders}
    assert len(got) == len(reminders), "one reminder per rule"
    missing, unexpected = persona.expected - got, got - persona.expected
    assert not missing and not unexpected, f"manquants {missing}, en trop {unexpected}"
    by_rule = {r.rule_id: r for r in reminders}
    for rule_id, reason in persona.reasons.items():
        assert by_rule[rule_id].reason == reason


def test_every_reminder_says_why_in_french_and_its_level():
    for persona in PERSONAS:
        for reminder in forecast(persona.facts, persona.today):
            assert reminder.reason.startswith(("Vous ", "Votre "))
            assert reminder.reason.endswith(".")
            assert reminder.level in ("obligatoire", "recommandé")


def test_levels_follow_the_calendar():
    lea = {r.rule_id: r.level for r in forecast(PERSONAS[0].facts, TODAY)}
    assert lea["vac-hexavalent-1"] == "obligatoire"
    assert lea["examen-enfant-j8"] == "obligatoire"
    assert lea["vac-rotavirus-1"] == "recommandé"
    emma = {r.rule_id: r.level for r in forecast(Facts(d(2017, 2, 15), "F"), TODAY)}
    # M'T dents: compulsory at 3, 6, 9, 12 and 15, offered the other years.
    assert emma["dentaire-9ans"] == "obligatoire"
    assert emma["dentaire-10ans"] == "recommandé"
