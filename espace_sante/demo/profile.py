"""Demo medical profiles: Jean's chronic diseases, Marie's allergy and circle, Léo's growth.

Idempotent: a patient who already has any profile entry is left alone. Written
through the profile services (as the service itself, ``SYSTEM``), so demo data
is validated, encrypted and traced like any other. Measures are dated relative
to today, so the charts always show the last two years.
"""

from datetime import date, time, timedelta
from decimal import Decimal

from django.utils import timezone

from espace_sante.access.policy import SYSTEM
from espace_sante.record.profile import services
from espace_sante.record.profile.models import Measure

WEIGHT, HEIGHT, HEAD = "29463-7", "8302-2", "8287-5"
BLOOD_PRESSURE, GLUCOSE, HBA1C = "85354-9", "2339-0", "4548-4"
# Every table a demo profile writes to: the sections' and the measures'.
PROFILE_MODELS = [*(section.model for section in services.SECTIONS.values()), Measure]


def has_profile(patient) -> bool:
    return any(model.objects.filter(patient_id=patient.id).exists() for model in PROFILE_MODELS)


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    for candidate in (day.day, 30, 29, 28):  # 31 January + 1 month = 28 or 29 February
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _measure(patient, code, day: date, value, second=None, unit=None, at=time(8, 30)):
    data = {"value": str(value), "date": day, "time": at}
    if second is not None:
        data["second_value"] = str(second)
    if unit:
        data["unit"] = unit
    services.add_measure(SYSTEM, patient, code, data)


def _vaccinate(patient, vaccine, day, *, route="IM", site="", lot="", by=""):
    services.add_entry(
        SYSTEM,
        patient,
        "vaccinations",
        {
            "vaccine": vaccine,
            "vaccinated_on": day,
            "route": route,
            "site": site,
            "lot_number": lot,
            "performer": by,
        },
    )


def _jean(jean, today: date) -> None:
    add = services.add_entry
    add(SYSTEM, jean, "conditions", {"name": "Diabète de type 2", "start_date": date(2012, 3, 1)})
    add(
        SYSTEM,
        jean,
        "conditions",
        {"name": "Hypertension artérielle", "start_date": date(2015, 9, 1)},
    )
    add(
        SYSTEM,
        jean,
        "treatments",
        {
            "name": "Metformine 1000 mg",
            "dosage": "1 comprimé matin et soir, au milieu du repas",
            "start_date": date(2012, 3, 15),
        },
    )
    add(
        SYSTEM,
        jean,
        "treatments",
        {
            "name": "Ramipril 5 mg",
            "dosage": "1 comprimé le matin",
            "start_date": date(2015, 9, 15),
        },
    )
    add(
        SYSTEM,
        jean,
        "family_history",
        {"relation": "pere", "condition": "Infarctus du myocarde à 61 ans"},
    )
    services.set_lifestyle(
        SYSTEM,
        jean,
        {
            "physical_activity": "Marche 30 minutes par jour, jardinage",
            "tobacco": "Ancien fumeur, arrêt en 2000",
            "alcohol": "Un verre de vin au repas du dimanche",
        },
    )
    services.set_blood_group(SYSTEM, jean, "O+")
    # Last season's flu vaccine only: this season's is in his prevention reminders
    # (the season runs from 15 October to 31 January).
    last_season = date(today.year - 1 if today.month >= 2 else today.year - 2, 10, 20)
    _vaccinate(jean, "Grippe saisonnière", last_season, site="bras_gauche", by="Pharmacie")
    # Two years of follow-up: HbA1c every 3 months, the rest monthly.
    hba1c = ["7,6", "7,4", "7,3", "7,1", "7,2", "6,9", "7,0", "6,8", "6,9"]
    for index, value in enumerate(hba1c):
        # About every 3 months, the last one ten days ago, all within two years.
        _measure(jean, HBA1C, today - timedelta(days=10 + 88 * (len(hba1c) - 1 - index)), value)
    glucose = ["1,38", "1,32", "1,41", "1,29", "1,35", "1,26", "1,30", "1,22", "1,27", "1,19",
               "1,24", "1,18", "1,21", "1,25", "1,16", "1,20", "1,14", "1,19", "1,12", "1,17",
               "1,15", "1,10", "1,13", "1,08"]  # fmt: skip
    pressures = [(146, 88), (142, 86), (144, 90), (139, 85), (141, 87), (137, 84), (138, 83),
                 (135, 82), (140, 86), (134, 81), (136, 83), (133, 80), (131, 79), (135, 82),
                 (132, 80), (130, 78), (134, 81), (129, 79), (131, 80), (128, 78), (132, 79),
                 (127, 77), (130, 78), (128, 76)]  # fmt: skip
    for index in range(24):
        day = add_months(today, index - 23) - timedelta(1)
        _measure(jean, GLUCOSE, day, glucose[index], unit="g/L", at=time(7, 45))
        _measure(jean, BLOOD_PRESSURE, day, *pressures[index], at=time(8, 0))
        if index % 2 == 0:
            weight = Decimal("84.6") - Decimal("0.3") * (index // 2)
            _measure(jean, WEIGHT, day, weight)
    _measure(jean, HEIGHT, add_months(today, -23), "172")
    services.set_measure_target(SYSTEM, jean, HBA1C, {"value": "7"})
    services.set_measure_target(
        SYSTEM, jean, BLOOD_PRESSURE, {"value": "130", "second_value": "80"}
    )


def _marie(marie, today: date) -> None:
    add = services.add_entry
    add(
        SYSTEM,
        marie,
        "allergies",
        {"substance": "Pénicilline", "reaction": "Urticaire généralisée", "severity": "moderee"},
    )
    services.set_blood_group(SYSTEM, marie, "A+")
    add(
        SYSTEM,
        marie,
        "contacts",
        {
            "kind": "urgence",
            "name": "Paul DURAND",
            "relation": "Conjoint",
            "phone": "06 23 45 67 89",
        },
    )
    add(
        SYSTEM,
        marie,
        "contacts",
        {
            "kind": "confiance",
            "name": "Sophie BERNARD",
            "relation": "Sœur",
            "phone": "06 98 76 54 32",
            "email": "sophie.bernard@demo.example",
        },
    )
    services.set_organ_donation(SYSTEM, marie, "accepte")
    _vaccinate(
        marie,
        "dTcaP (diphtérie, tétanos, coqueluche, polio)",
        date(2013, 6, 12),  # the adult booster at 25
        site="bras_gauche",
        lot="X2K45",
        by="Dr Claire Martin",
    )
    _vaccinate(marie, "Covid-19", date(2021, 6, 18), site="bras_gauche", by="Centre de vaccination")
    _measure(marie, HEIGHT, add_months(today, -14), "165")
    for index, value in enumerate(["63,8", "63,1", "62,7", "63,0", "62,4", "62,2"]):
        _measure(marie, WEIGHT, add_months(today, 2 * index - 11), value)


# The French calendar for an infant (hexavalent at 2, 4 and 11 months...), in months.
HEXAVALENT = "Hexavalent (diphtérie, tétanos, coqueluche, polio, Haemophilus, hépatite B)"
INFANT_VACCINES = [
    (2, HEXAVALENT, "cuisse_droite"),
    (2, "Pneumocoque (conjugué)", "cuisse_gauche"),
    (4, HEXAVALENT, "cuisse_droite"),
    (4, "Pneumocoque (conjugué)", "cuisse_gauche"),
    (5, "Méningocoque C", "cuisse_droite"),
    (11, HEXAVALENT, "cuisse_droite"),
    (11, "Pneumocoque (conjugué)", "cuisse_gauche"),
    (12, "ROR (rougeole, oreillons, rubéole)", "cuisse_droite"),
    (12, "Méningocoque C", "cuisse_gauche"),
    (16, "ROR (rougeole, oreillons, rubéole)", "cuisse_droite"),
    (72, "DTCaP (rappel de 6 ans : diphtérie, tétanos, coqueluche, polio)", "bras_gauche"),
]  # fmt: skip
# Growth close to the WHO median for a boy: (months, kg, cm, head cm or None).
GROWTH = [
    (0, "3,4", "50", "34,5"), (1, "4,5", "54,7", "37,3"), (2, "5,6", "58,4", "39,1"),
    (4, "7,0", "63,9", "41,6"), (6, "7,9", "67,6", "43,3"), (9, "8,9", "72,0", "45,0"),
    (12, "9,6", "75,7", "46,1"), (18, "10,9", "82,3", "47,4"), (24, "12,2", "87,1", "48,3"),
    (36, "14,3", "96,1", "49,5"), (48, "16,3", "103,3", None), (60, "18,3", "110,0", None),
    (72, "20,5", "116,0", None),
]  # fmt: skip


def _leo(leo, today: date) -> None:
    for months, vaccine, site in INFANT_VACCINES:
        day = add_months(leo.birth_date, months) + timedelta(days=3)
        if day <= today:
            _vaccinate(leo, vaccine, day, site=site, by="Dr Claire Martin")
    for months, weight, height, head in GROWTH:
        day = add_months(leo.birth_date, months) + timedelta(days=3 if months else 0)
        if day >= today:  # measured at 10:00: not later than now
            continue
        _measure(leo, WEIGHT, day, weight, at=time(10, 0))
        _measure(leo, HEIGHT, day, height, at=time(10, 0))
        if head:
            _measure(leo, HEAD, day, head, at=time(10, 0))


def load_profile_demo(people: dict) -> None:
    """Fill the demo people's profiles (keys "marie", "leo", "jean"), once."""
    today = timezone.localdate()
    for key, fill in (("jean", _jean), ("marie", _marie), ("leo", _leo)):
        patient = people.get(key)
        if patient is not None and not has_profile(patient):
            fill(patient, today)
