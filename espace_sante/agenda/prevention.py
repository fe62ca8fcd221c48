"""The prevention forecast: each person's reminders, from the rules file and their facts.

Pure: no database, no clock, no settings. ``forecast(facts, today)`` takes plain
dataclasses and returns ``Reminder`` objects; ``agenda.services`` builds the facts
from the profile. The rules are data (``data/prevention_rules.csv``, explained in
docs/prevention.md), loaded and checked once per process.

Ages are calendar ages: "2m" is reached on the same day of the month two months
after birth (the 31st becomes the month's last day), "1y" twelve months after it;
weeks and days count days. A rule's window runs from its ``from`` age included to
its ``to`` age excluded, so "11 to 14 years" is written 11y–15y.
"""

import calendar
import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

from espace_sante.access.dates import MONTHS, french_date

RULES_FILE = Path(__file__).parent / "data" / "prevention_rules.csv"
CODES_FILE = Path(__file__).parent / "data" / "prevention_codes.csv"

TO_DO = "à faire"
TO_PLAN = "à planifier"
DONE = "fait"

MANDATORY = "obligatoire"
RECOMMENDED = "recommandé"

NOT_CONCERNED = "non_concerne"
DISMISSED = "ecarte"

KINDS = ("vaccination", "child_checkup", "dental", "screening", "pregnancy", "bilan")
ANCHORS = ("birth", "pregnancy", "amenorrhoea", "delivery")
# What may come before: a reminder shows this long before it is due ("à planifier").
HORIZON_MONTHS = 3
# Weeks of amenorrhoea count from two weeks before the declared start of pregnancy;
# without a recorded delivery, the birth is expected at 41 weeks of amenorrhoea.
AMENORRHOEA_BEFORE_START = timedelta(days=14)
EXPECTED_TERM = timedelta(weeks=41)

COLUMNS = (
    "id",
    "kind",
    "label",
    "level",
    "sex",
    "condition",
    "born_from",
    "anchor",
    "from",
    "to",
    "counts_from",
    "counts_to",
    "codes",
    "dose",
    "interval",
    "every",
    "season",
    "after",
    "unless",
    "last_phrase",
    "why",
    "source",
)


class RuleFileError(ValueError):
    """The rules file is malformed; the message names the line and the rule."""


# --- Ages and dates -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Span:
    """An age or a delay: whole months (years are 12 months) or whole days (weeks are 7)."""

    months: int = 0
    days: int = 0

    def after(self, start: date) -> date:
        if self.months:
            return add_months(start, self.months)
        return start + timedelta(days=self.days)

    def rough_months(self, upper: bool) -> int:
        """Bounds in months for the age index (exact checks follow)."""
        if self.days:
            return self.days // 28 + 1 if upper else self.days // 31
        return self.months


@dataclass(frozen=True, slots=True)
class Bound:
    """An age counted from an anchor (birth, start of pregnancy, delivery…)."""

    anchor: str
    span: Span


_SPAN = re.compile(r"^(?:(?P<y>\d+)y)?(?:(?P<m>\d+)m)?$|^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?$")


def parse_span(text: str) -> Span:
    match = _SPAN.match(text.strip())
    if not text.strip() or match is None:
        raise ValueError(
            f"« {text} » n'est pas une durée : écrivez des années et des mois (« 1y6m ») "
            "ou des semaines et des jours (« 13w6d »)"
        )
    parts = {key: int(value) for key, value in match.groupdict().items() if value}
    if "y" in parts or "m" in parts:
        return Span(months=12 * parts.get("y", 0) + parts.get("m", 0))
    return Span(days=7 * parts.get("w", 0) + parts.get("d", 0))


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _month_days(year: int, month: int) -> int:
    # calendar.monthrange also computes a weekday: a third of a forecast's time.
    if month == 2 and calendar.isleap(year):
        return 29
    return _MONTH_DAYS[month - 1]


def add_months(start: date, months: int) -> date:
    """``start`` plus whole months, the day kept or clamped to the month's end."""
    total = start.month - 1 + months
    year, month = start.year + total // 12, total % 12 + 1
    day = start.day
    if day > 28:
        day = min(day, _month_days(year, month))
    return date(year, month, day)


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (so that ``add_months(start, n) <= end``)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if start.day > end.day and min(start.day, _month_days(end.year, end.month)) > end.day:
        months -= 1
    return months


def long_date(day: date) -> str:
    return french_date(day)


def month_year(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.year}"


def _count(number: int, unit: str) -> str:
    plural = unit if unit.endswith("s") or number < 2 else unit + "s"
    return f"{number} {plural}"


# --- Facts in, reminders out ----------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """A vaccination or an exam the profile holds: its code (prevention_codes.csv), its date."""

    code: str
    on: date


@dataclass(frozen=True, slots=True)
class Facts:
    birth_date: date
    sex: str  # "F" or "M" (the INS knows no other)
    vaccinations: tuple[Record, ...] = ()
    exams: tuple[Record, ...] = ()
    conditions: frozenset[str] = frozenset()  # e.g. "maladie_cardiaque_ou_respiratoire"
    pregnancy_start: date | None = None  # the declared start of pregnancy
    delivery_date: date | None = None
    # The person's choices: rules they are not concerned by; reminders they
    # dismissed, by rule, with the due date of the occurrence dismissed.
    not_concerned: frozenset[str] = frozenset()
    dismissed: Mapping[str, date] = field(default_factory=dict)
    prevention_off: bool = False


class Reminder:
    """One reminder of a forecast; ``reason``, why in plain French, is written when read.

    Writing the sentence (dates in French, the person's age) took a third of a
    forecast's time, and the daily job reads only the status and the due date.
    """

    __slots__ = ("_rule", "status", "due", "until", "done_on", "_person", "_last", "_reason")

    def __init__(
        self,
        rule: "Rule",
        person: "_Person",
        status: str,  # à faire / à planifier / fait
        due: date,  # when it is or was due; for a done recurring one, the next time
        until: date | None,  # last day of the window (None: no upper age)
        done_on: date | None,
        last: date | None,  # a recurring rule's last record, which the sentence names
    ) -> None:
        self._rule = rule
        self._person = person
        self.status = status
        self.due = due
        self.until = until
        self.done_on = done_on
        self._last = last
        self._reason: str | None = None

    @property
    def rule_id(self) -> str:
        return self._rule.id

    @property
    def kind(self) -> str:
        return self._rule.kind

    @property
    def label(self) -> str:
        return self._rule.label

    @property
    def level(self) -> str:  # obligatoire / recommandé
        return self._rule.level

    @property
    def source(self) -> str:
        return self._rule.source

    @property
    def reason(self) -> str:
        if self._reason is None:
            self._reason = _reason(
                self._rule, self._person, self.status, self.due, self.done_on, self._last
            )
        return self._reason

    def _shown(self) -> tuple[object, ...]:
        return (
            self.rule_id,
            self.kind,
            self.label,
            self.level,
            self.status,
            self.due,
            self.until,
            self.reason,
            self.source,
            self.done_on,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reminder):
            return NotImplemented
        return self._shown() == other._shown()

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def __repr__(self) -> str:
        return f"Reminder{self._shown()!r}"


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    kind: str
    label: str
    level: str
    sex: str | None
    condition: str | None
    born_from: date | None
    anchor: str
    start: Span
    end: Bound | None
    counts_from: Span
    counts_to: Bound | None
    codes: tuple[str, ...]  # in the file's order: the first is the one "mark done" records
    dose: int
    interval: Span | None
    every: Mapping[str, Span] | None  # per code: the next one this long after the last
    season: tuple[tuple[int, int], tuple[int, int]] | None  # (month, day) start and end
    after: str | None
    unless: str | None
    last_phrase: str
    why: str
    source: str
    line: int


# --- The rules file ---------------------------------------------------------


def known_codes(path: Path = CODES_FILE) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """code -> (kind, French label, names the profile uses for it)."""
    with path.open(encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {
            row["code"]: (
                row["kind"],
                row["label"],
                tuple(name for name in row["profile_names"].split("|") if name),
            )
            for row in rows
        }


def _bound(text: str, anchor: str) -> Bound:
    if ":" in text:
        anchor, text = text.split(":", 1)
        if anchor not in ANCHORS:
            raise ValueError(f"origine « {anchor} » inconnue (attendu : {', '.join(ANCHORS)})")
    return Bound(anchor, parse_span(text))


def _season(text: str) -> tuple[tuple[int, int], tuple[int, int]]:
    match = re.fullmatch(r"(\d\d)-(\d\d)/(\d\d)-(\d\d)", text)
    if match is None:
        raise ValueError(f"saison « {text} » : écrivez « MM-JJ/MM-JJ », par exemple 10-15/01-31")
    sm, sd, em, ed = (int(part) for part in match.groups())
    for month, day in ((sm, sd), (em, ed)):
        try:
            date(2001, month, day)  # 29 February is refused too: not every year has one
        except ValueError:
            raise ValueError(f"saison « {text} » : le {day:02}/{month:02} n'existe pas") from None
    return (sm, sd), (em, ed)


def _rule(row: dict[str, str], line: int, codes: Mapping[str, object]) -> Rule:
    def required(name: str) -> str:
        value = row[name].strip()
        if not value:
            raise ValueError(f"la colonne « {name} » est vide")
        return value

    kind = required("kind")
    if kind not in KINDS:
        raise ValueError(f"type « {kind} » inconnu (attendu : {', '.join(KINDS)})")
    level = required("level")
    if level not in (MANDATORY, RECOMMENDED):
        raise ValueError(f"niveau « {level} » inconnu (attendu : {MANDATORY} ou {RECOMMENDED})")
    sex = row["sex"].strip() or None
    if sex not in (None, "F", "M"):
        raise ValueError(f"sexe « {sex} » inconnu (attendu : F, M ou vide)")
    anchor = required("anchor")
    if anchor not in ANCHORS:
        raise ValueError(f"origine « {anchor} » inconnue (attendu : {', '.join(ANCHORS)})")
    start = parse_span(required("from"))
    end = _bound(row["to"], anchor) if row["to"].strip() else None
    if end and end.anchor == anchor and (end.span.months > 0) == (start.months > 0):
        if (end.span.months, end.span.days) <= (start.months, start.days):
            raise ValueError(f"l'âge « to » ({row['to']}) n'est pas après « from » ({row['from']})")
    rule_codes = tuple(dict.fromkeys(code.strip() for code in required("codes").split("|")))
    unknown = sorted(set(rule_codes) - set(codes))
    if unknown:
        raise ValueError(f"code(s) inconnu(s) : {', '.join(unknown)} (voir prevention_codes.csv)")
    every: dict[str, Span] | None = None
    if row["every"].strip():
        every = {}
        for part in row["every"].split("|"):
            code, _, text = part.rpartition(":")
            if code and code not in rule_codes:
                raise ValueError(f"« every » nomme le code {code}, absent de « codes »")
            for one in [code] if code else rule_codes:
                every[one] = parse_span(text)
        if set(every) != set(rule_codes):
            raise ValueError("« every » doit donner un délai pour chaque code")
    season = _season(row["season"].strip()) if row["season"].strip() else None
    dose_text = row["dose"].strip()
    if bool(dose_text) == bool(every or season):
        raise ValueError("donnez soit « dose » (une fois), soit « every » ou « season » (répété)")
    if every and season:
        raise ValueError("« every » et « season » ne vont pas ensemble")
    dose = int(dose_text) if dose_text else 1
    if dose < 1:
        raise ValueError("« dose » doit être un entier positif")
    interval = parse_span(row["interval"]) if row["interval"].strip() else None
    if every and not row["last_phrase"].strip():
        raise ValueError("une règle répétée doit dire « last_phrase » (« votre dernière … »)")
    born_from = date.fromisoformat(row["born_from"].strip()) if row["born_from"].strip() else None
    return Rule(
        id=required("id"),
        kind=kind,
        label=required("label"),
        level=level,
        sex=sex,
        condition=row["condition"].strip() or None,
        born_from=born_from,
        anchor=anchor,
        start=start,
        end=end,
        counts_from=parse_span(row["counts_from"]) if row["counts_from"].strip() else start,
        counts_to=_bound(row["counts_to"], anchor) if row["counts_to"].strip() else end,
        codes=rule_codes,
        dose=dose,
        interval=interval,
        every=every,
        season=season,
        after=row["after"].strip() or None,
        unless=row["unless"].strip() or None,
        last_phrase=row["last_phrase"].strip(),
        why=required("why"),
        source=required("source"),
        line=line,
    )


def load_rules(path: Path = RULES_FILE, codes_path: Path = CODES_FILE) -> "RuleBook":
    """Read and check the rules file; ``RuleFileError`` names the first bad line."""
    codes = known_codes(codes_path)
    version = None
    rules: list[Rule] = []
    with path.open(encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    body_start = 0
    for number, text in enumerate(lines, 1):
        if not text.startswith("#"):
            body_start = number - 1
            break
        found = re.match(r"#\s*version:\s*(\S+)", text)
        if found:
            version = found.group(1)
    if version is None:
        raise RuleFileError(f"{path.name} : la ligne « # version: AAAA-MM-JJ » manque en tête")
    reader = csv.reader(lines[body_start:])
    header = next(reader, None)
    if header is None or tuple(h.strip() for h in header) != COLUMNS:
        raise RuleFileError(
            f"{path.name}, ligne {body_start + 1} : les colonnes doivent être {','.join(COLUMNS)}"
        )
    seen: dict[str, int] = {}
    for offset, cells in enumerate(reader, body_start + 2):
        if not any(cell.strip() for cell in cells):
            continue
        rule_id = cells[0].strip() if cells else ""
        where = f"{path.name}, ligne {offset} (règle « {rule_id} »)"
        if len(cells) != len(COLUMNS):
            raise RuleFileError(f"{where} : {len(cells)} colonnes au lieu de {len(COLUMNS)}")
        try:
            rule = _rule(dict(zip(COLUMNS, cells, strict=True)), offset, codes)
        except ValueError as error:
            raise RuleFileError(f"{where} : {error}") from None
        if rule.id in seen:
            raise RuleFileError(f"{where} : l'identifiant est déjà pris ligne {seen[rule.id]}")
        seen[rule.id] = offset
        rules.append(rule)
    for rule in rules:
        for name in ("after", "unless"):
            other = getattr(rule, name)
            if other is not None and (other not in seen or other == rule.id):
                raise RuleFileError(
                    f"{path.name}, ligne {rule.line} (règle « {rule.id} ») : "
                    f"« {name} » renvoie à la règle inconnue « {other} »"
                )
    return RuleBook(version, tuple(rules))


# --- The engine -------------------------------------------------------------


class _Person:
    """What one forecast needs, computed once: anchors, dates by code."""

    __slots__ = ("facts", "today", "horizon", "anchors", "dates", "_situations")

    def __init__(self, facts: Facts, today: date) -> None:
        self.facts = facts
        self.today = today
        self.horizon = add_months(today, HORIZON_MONTHS)
        anchors: dict[str, date] = {"birth": facts.birth_date}
        start = facts.pregnancy_start
        if start is not None:
            anchors["pregnancy"] = start
            anchors["amenorrhoea"] = start - AMENORRHOEA_BEFORE_START
            anchors["delivery"] = facts.delivery_date or (anchors["amenorrhoea"] + EXPECTED_TERM)
        self.anchors = anchors
        dates: dict[str, list[tuple[date, str]]] = {}
        for record in (*facts.vaccinations, *facts.exams):
            if record.on <= today:  # a date to come is not a fact yet
                dates.setdefault(record.code, []).append((record.on, record.code))
        for found in dates.values():
            found.sort()
        self.dates = dates
        self._situations: dict[bool, str] = {}

    def situation(self, rule: Rule) -> str:
        """« Vous avez 52 ans », « Vous êtes enceinte de … »: once per person and anchor."""
        pregnancy = rule.anchor != "birth"
        found = self._situations.get(pregnancy)
        if found is None:
            found = self._situations[pregnancy] = _situation(pregnancy, self)
        return found

    def counted(self, rule: Rule) -> list[tuple[date, str]]:
        """The records that count for ``rule``, oldest first."""
        if not self.dates or self.dates.keys().isdisjoint(rule.codes):
            return []
        anchor = self.anchors.get(rule.anchor)
        if anchor is None:
            return []  # a pregnancy rule, and no pregnancy declared
        low = rule.counts_from.after(anchor)
        high = None
        if rule.counts_to is not None:
            high = rule.counts_to.span.after(self.anchors[rule.counts_to.anchor])
        found: list[tuple[date, str]] = []
        for code in rule.codes:
            for item in self.dates.get(code, ()):
                if item[0] >= low and (high is None or item[0] < high):
                    found.append(item)
        if len(rule.codes) > 1:
            found.sort()
        return found

    def satisfied(self, rule: Rule) -> bool:
        return len(self.counted(rule)) >= rule.dose


class RuleBook:
    """The checked rules, indexed by age so that a forecast reads only those near it."""

    def __init__(self, version: str, rules: tuple[Rule, ...]) -> None:
        self.version = version
        self.rules = rules
        self.by_id = {rule.id: rule for rule in rules}
        self.pregnancy_rules = tuple(rule for rule in rules if rule.anchor != "birth")
        birth = [rule for rule in rules if rule.anchor == "birth"]

        def first(rule: Rule) -> int:
            return rule.start.rough_months(upper=False) - HORIZON_MONTHS - 1

        def last(rule: Rule) -> int | None:  # None: no upper age known from the birth
            if rule.end is None or rule.end.anchor != "birth":
                return None
            return rule.end.span.rough_months(upper=True)

        bounds = [(rule, first(rule), last(rule)) for rule in birth]
        oldest = 1 + max(
            low + HORIZON_MONTHS + 1 if high is None else high for _, low, high in bounds
        )
        # A rule is near an age (in whole months) when its window, shown HORIZON_MONTHS
        # early, may hold it; the exact dates are checked for the near ones only.
        self._by_age: list[tuple[Rule, ...]] = [
            tuple(
                rule for rule, low, high in bounds if low <= age and (high is None or age <= high)
            )
            for age in range(oldest + 1)
        ]

    def near(self, age_months: int) -> tuple[Rule, ...]:
        """The birth rules that may concern someone of this age (the oldest ages share one)."""
        return self._by_age[max(0, min(age_months, len(self._by_age) - 1))]

    def forecast(self, facts: Facts, today: date, exhaustive: bool = False) -> list[Reminder]:
        """The reminders; ``exhaustive`` reads every rule instead of the index (for tests)."""
        if facts.prevention_off or today < facts.birth_date:
            return []
        person = _Person(facts, today)
        candidates: Iterable[Rule] = self.near(months_between(facts.birth_date, today))
        if exhaustive:
            candidates = self.rules
        elif facts.pregnancy_start is not None:
            candidates = (*candidates, *self.pregnancy_rules)
        reminders = []
        for rule in candidates:
            reminder = self._evaluate(rule, person)
            if reminder is not None:
                reminders.append(reminder)
        return reminders

    def _evaluate(self, rule: Rule, person: _Person) -> Reminder | None:
        facts, today = person.facts, person.today
        if rule.id in facts.not_concerned:
            return None
        if rule.sex is not None and rule.sex != facts.sex:
            return None
        if rule.condition is not None and rule.condition not in facts.conditions:
            return None
        if rule.born_from is not None and facts.birth_date < rule.born_from:
            return None
        anchor = person.anchors.get(rule.anchor)
        if anchor is None:
            return None  # a pregnancy rule, and no pregnancy declared
        start = rule.start.after(anchor)
        if start > person.horizon:
            return None
        end = None
        if rule.end is not None:
            end = rule.end.span.after(person.anchors[rule.end.anchor])
            if today >= end:
                return None
        if rule.unless is not None and person.satisfied(self.by_id[rule.unless]):
            return None
        if rule.after is not None and not person.satisfied(self.by_id[rule.after]):
            return None
        counted = person.counted(rule)
        done_on: date | None = None
        if rule.season is not None:
            due, done_on = self._season(rule, person, start, counted)
        elif rule.every is not None:
            if counted:
                done_on, code = counted[-1]
                due = rule.every[code].after(done_on)
                if due <= today:
                    done_on = None
                due = max(due, start)
            else:
                due = start
        else:
            if len(counted) >= rule.dose:
                done_on = due = counted[rule.dose - 1][0]
            elif len(counted) < rule.dose - 1:
                return None  # the earlier dose is reminded first
            else:
                due = start
                if rule.dose > 1 and rule.interval is not None:
                    due = max(start, rule.interval.after(counted[rule.dose - 2][0]))
                if end is not None and due >= end:
                    return None
        if done_on is not None and (rule.every is None or due > person.horizon):
            status = DONE
        elif due <= today:
            status = TO_DO
        elif due <= person.horizon:
            # A recurring exam coming back within the horizon: time to plan the next one.
            status, done_on = TO_PLAN, None
        else:
            return None
        if status != DONE:
            dismissed = facts.dismissed.get(rule.id)
            if dismissed is not None and due <= dismissed:
                return None
        return Reminder(
            rule,
            person,
            status,
            due,
            end - timedelta(days=1) if end is not None else None,
            done_on,
            counted[-1][0] if rule.every is not None and counted else None,
        )

    @staticmethod
    def _season(
        rule: Rule, person: _Person, start: date, counted: list[tuple[date, str]]
    ) -> tuple[date, date | None]:
        """(due, done_on) for a seasonal rule: this season's or the next one's."""
        assert rule.season is not None  # noqa: S101 (called for seasonal rules only)
        (sm, sd), (em, ed) = rule.season
        today = person.today
        wraps = (em, ed) < (sm, sd)
        year = today.year - 1 if wraps and (today.month, today.day) <= (em, ed) else today.year
        opens = date(year, sm, sd)
        closes = date(year + 1 if wraps else year, em, ed)
        if today > closes:
            opens, closes = date(year + 1, sm, sd), date(year + 2 if wraps else year + 1, em, ed)
        if start > closes:
            opens, closes = date(opens.year + 1, sm, sd), date(closes.year + 1, em, ed)
        if opens <= today:
            for day, _code in counted:
                if opens <= day <= today:
                    return date(opens.year + 1, sm, sd), day
        return max(opens, start), None


def _situation(pregnancy: bool, person: "_Person") -> str:
    today = person.today
    if pregnancy:
        delivery = person.anchors["delivery"]
        if today < delivery:
            weeks = (today - person.anchors["amenorrhoea"]).days // 7
            return f"Vous êtes enceinte de {weeks} semaines d'aménorrhée"
        if person.facts.delivery_date is not None:
            return f"Votre bébé est né le {long_date(delivery)}"
        return f"Votre accouchement était prévu le {long_date(delivery)}"
    birth = person.facts.birth_date
    months = months_between(birth, today)
    if months >= 24:
        return f"Vous avez {_count(months // 12, 'an')}"
    if months >= 1:
        return f"Vous avez {months} mois"
    return f"Vous avez {_count((today - birth).days, 'jour')}"


def _reason(
    rule: Rule, person: _Person, status: str, due: date, done_on: date | None, last: date | None
) -> str:
    situation = person.situation(rule)
    if last is not None:  # a recurring rule, done before
        when = month_year(last)
        of = "d'" if when[0] in "ao" else "de "  # d'avril, d'août, d'octobre
        sentence = f"{situation} et {rule.last_phrase} date {of}{when}"
        if status == DONE:
            return f"{sentence} : la prochaine fois, en {month_year(due)}."
        return f"{sentence}."
    if status == DONE and done_on is not None:
        return f"{situation} : {rule.why}. Fait le {long_date(done_on)}."
    return f"{situation} : {rule.why}."


@cache
def default_rules() -> RuleBook:
    """The shipped rules, read and checked once per process."""
    return load_rules()


def forecast(facts: Facts, today: date, rules: RuleBook | None = None) -> list[Reminder]:
    """The person's reminders on ``today`` (due, coming within three months, or done), unsorted."""
    return (rules or default_rules()).forecast(facts, today)
