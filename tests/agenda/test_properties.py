"""Properties of the forecast over every birth date from 1930 to 2026 (hypothesis).

Ages and intervals are computed here with dateutil's relativedelta, independently
of the engine's own date arithmetic; the ages and intervals come from prevention.md.
"""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from espace_sante.agenda.prevention import (
    DONE,
    TO_DO,
    TO_PLAN,
    Facts,
    Record,
    add_months,
    default_rules,
    forecast,
    months_between,
)

births = st.dates(min_value=date(1930, 1, 1), max_value=date(2026, 12, 31))
sexes = st.sampled_from(["F", "M"])
DAY = timedelta(days=1)


def statuses(facts: Facts, today: date) -> dict[str, tuple[str, date]]:
    return {r.rule_id: (r.status, r.due) for r in forecast(facts, today)}


@given(births, st.dates(min_value=date(1930, 1, 1), max_value=date(2126, 12, 31)), sexes)
def test_no_reminder_before_birth(birth, today, sex):
    reminders = forecast(Facts(birth, sex), today)
    if today < birth:
        assert reminders == []
    for reminder in reminders:
        assert reminder.due >= birth


@given(births, st.integers(min_value=-1200, max_value=1500))
def test_calendar_months_agree_with_relativedelta(day, months):
    try:
        expected = day + relativedelta(months=months)
    except ValueError:  # before year 1
        return
    assert add_months(day, months) == expected
    later = day + relativedelta(months=abs(months))
    assert months_between(day, later) == abs(months)
    assert months_between(day, later - DAY) == abs(months) - 1


# prevention.md: "within 8 days of birth (J8) · 2nd week · 2nd, 3rd, 4th, 5th, 6th month ·
# 9th month · 12th month · 13th month · 16–18 months · 24–25 months · 3, 4, 5, 6 years ·
# 7th year · 8–9 years · 11–13 years · 15–16 years", read as "at N" (docs/prevention.md).
CHECKUP_AGES = [
    relativedelta(days=0),
    relativedelta(days=8),
    *(relativedelta(months=m) for m in (2, 3, 4, 5, 6, 9, 12, 13, 16, 24)),
    *(relativedelta(years=y) for y in (3, 4, 5, 6, 7, 8, 11, 15)),
]


@settings(max_examples=15, deadline=None)
@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2026, 12, 31)), sexes)
def test_a_child_reaching_16_has_been_offered_exactly_the_20_checkups(birth, sex):
    assert len(CHECKUP_AGES) == 20
    facts = Facts(birth, sex)
    offered: dict[str, date] = {}
    day, sixteen = birth, birth + relativedelta(years=16)
    while day < sixteen:
        for reminder in forecast(facts, day):
            if reminder.kind == "child_checkup" and reminder.status == TO_DO:
                offered.setdefault(reminder.rule_id, reminder.due)
        day += timedelta(days=3)  # the shortest window (the 2nd week) lasts 7 days
    assert len(offered) == 20
    assert sorted(offered.values()) == [birth + age for age in CHECKUP_AGES]
    assert not [
        r for r in forecast(facts, sixteen + relativedelta(years=1)) if r.kind == "child_checkup"
    ]


# prevention.md: breast women 50–74, colorectal everyone 50–74, cervical women 25–65
# (cytology 25–29, HPV test 30–65), Mon bilan prévention 18–25, 45–50, 60–65, 70–75.
BOUNDS = [
    ("depistage-sein", {"F"}, 50, 75),
    ("depistage-colorectal", {"F", "M"}, 50, 75),
    ("depistage-col-cytologie-1", {"F"}, 25, 30),
    ("depistage-col-hpv", {"F"}, 30, 66),
    ("bilan-prevention-18-25ans", {"F", "M"}, 18, 26),
    ("bilan-prevention-45-50ans", {"F", "M"}, 45, 51),
    ("bilan-prevention-60-65ans", {"F", "M"}, 60, 66),
    ("bilan-prevention-70-75ans", {"F", "M"}, 70, 76),
]


@given(births, sexes, st.sampled_from(BOUNDS))
def test_screening_eligibility_flips_exactly_at_the_age_bounds(birth, sex, bound):
    rule_id, sexes_concerned, first, after_last = bound
    start = birth + relativedelta(years=first)
    end = birth + relativedelta(years=after_last)
    facts = Facts(birth, sex)
    if sex not in sexes_concerned:
        for day in (start, end - DAY):
            assert rule_id not in statuses(facts, day)
        return
    assert statuses(facts, start - DAY).get(rule_id, (None,))[0] != TO_DO
    assert statuses(facts, start)[rule_id] == (TO_DO, start)
    assert statuses(facts, end - DAY)[rule_id][0] == TO_DO
    assert rule_id not in statuses(facts, end)


# prevention.md intervals: breast and colorectal every 2 years, HPV test every 5 years,
# cytology 3 years after two normal ones.
RECURRING = [
    ("depistage-sein", "mammographie", "F", 50, 75, relativedelta(years=2)),
    ("depistage-colorectal", "test_colorectal", "M", 50, 75, relativedelta(years=2)),
    ("depistage-col-hpv", "test_hpv", "F", 30, 66, relativedelta(years=5)),
]


@given(
    st.dates(min_value=date(1930, 1, 1), max_value=date(1990, 12, 31)),
    st.sampled_from(RECURRING),
    st.integers(min_value=0, max_value=10_000),
)
def test_a_recorded_exam_removes_its_reminder_and_schedules_the_next(birth, recurring, offset):
    rule_id, code, sex, first, after_last, every = recurring
    start = birth + relativedelta(years=first)
    end = birth + relativedelta(years=after_last)
    done = start + timedelta(days=offset % (end - start).days)
    facts = Facts(birth, sex, exams=(Record(code, done),))
    assert statuses(facts, done)[rule_id] == (DONE, done + every)
    following = done + every
    if following < end:
        assert statuses(facts, following - DAY)[rule_id][0] in (DONE, TO_PLAN)
        assert statuses(facts, following)[rule_id] == (TO_DO, following)
    else:
        assert rule_id not in statuses(facts, following)


@given(st.dates(min_value=date(1940, 1, 1), max_value=date(2020, 12, 31)), sexes, st.data())
def test_a_recorded_dose_schedules_the_next_at_its_interval(birth, sex, data):
    # prevention.md: shingles, 2 doses 2 months apart, from 65 with no upper age.
    sixty_five = birth + relativedelta(years=65)
    first = sixty_five + timedelta(days=data.draw(st.integers(0, 3000)))
    facts = Facts(birth, sex, vaccinations=(Record("zona", first),))
    after = statuses(facts, first)
    assert after["vac-zona-1"] == (DONE, first)
    assert after["vac-zona-2"][1] == first + relativedelta(months=2)
    assert statuses(facts, first + relativedelta(months=2))["vac-zona-2"][0] == TO_DO
    second = Facts(
        birth,
        sex,
        vaccinations=(Record("zona", first), Record("zona", first + relativedelta(months=2))),
    )
    assert statuses(second, first + relativedelta(years=5))["vac-zona-2"][0] == DONE


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2014, 12, 31)), sexes, st.data())
def test_hpv_second_dose_six_months_after_the_first(birth, sex, data):
    # prevention.md: HPV, 2 doses at 11–14; the calendar spaces them 6 months apart.
    eleven = birth + relativedelta(years=11)
    first = eleven + timedelta(days=data.draw(st.integers(0, 900)))
    facts = Facts(birth, sex, vaccinations=(Record("hpv", first),))
    assert statuses(facts, first)["vac-hpv-1"] == (DONE, first)
    assert statuses(facts, first + relativedelta(months=6))["vac-hpv-2"] == (
        TO_DO,
        first + relativedelta(months=6),
    )


@given(st.dates(min_value=date(1930, 1, 1), max_value=date(1980, 12, 31)), sexes, st.data())
def test_a_recent_dtp_dose_skips_the_fixed_age_booster(birth, sex, data):
    # prevention.md: a fixed-age booster (45, 65) is skipped when the last dose is < 5 years old.
    age = data.draw(st.sampled_from([45, 65]))
    booster = birth + relativedelta(years=age)
    rule_id = f"vac-dtp-{age}ans"
    recent = booster - timedelta(days=data.draw(st.integers(1, 5 * 365 - 5)))
    old = booster - relativedelta(years=5) - timedelta(days=data.draw(st.integers(1, 2000)))
    assert (
        statuses(Facts(birth, sex, vaccinations=(Record("dtp", recent),)), booster)[rule_id][0]
        == DONE
    )
    assert statuses(Facts(birth, sex, vaccinations=(Record("dtp", old),)), booster)[rule_id] == (
        TO_DO,
        booster,
    )


records = st.builds(
    Record,
    st.sampled_from(
        ["hexavalent", "ror", "hpv", "dtp", "dtcap_adulte", "zona", "grippe", "mammographie"]
        + ["test_colorectal", "test_hpv", "cytologie_col", "examen_enfant", "examen_dentaire"]
    ),
    st.dates(min_value=date(1930, 1, 1), max_value=date(2027, 12, 31)),
)


@settings(max_examples=300)
@given(
    births,
    sexes,
    st.lists(records, max_size=6),
    st.one_of(st.none(), st.dates(min_value=date(1945, 1, 1), max_value=date(2027, 12, 31))),
    st.dates(min_value=date(1930, 1, 1), max_value=date(2060, 12, 31)),
)
def test_the_age_index_never_drops_a_reminder(birth, sex, recorded, pregnancy, today):
    # The engine reads only the rules near the person's age: the same as reading them all.
    facts = Facts(birth, sex, exams=tuple(recorded), pregnancy_start=pregnancy)
    rules = default_rules()

    def by_rule(reminders):
        return sorted(reminders, key=lambda reminder: reminder.rule_id)

    assert by_rule(rules.forecast(facts, today)) == by_rule(
        rules.forecast(facts, today, exhaustive=True)
    )
