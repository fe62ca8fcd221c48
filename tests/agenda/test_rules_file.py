"""The rules file: the shipped one is complete, a malformed one is refused by line."""

import pytest

from espace_sante.agenda.prevention import (
    COLUMNS,
    KINDS,
    RULES_FILE,
    RuleFileError,
    default_rules,
    load_rules,
)

HEADER = "# version: 2027-01-01\n" + ",".join(COLUMNS) + "\n"
GOOD = (
    "depistage-sein,screening,Dépistage du cancer du sein,recommandé,F,,,birth,50y,75y,,,"
    "mammographie,,,2y,,,,votre dernière mammographie,tous les 2 ans,Programme national"
)


def write(tmp_path, *rows, header=HEADER):
    path = tmp_path / "rules.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def replace(row: str, column: str, value: str) -> str:
    cells = row.split(",")
    cells[COLUMNS.index(column)] = value
    return ",".join(cells)


def test_the_shipped_file_is_versioned_and_covers_every_table():
    book = default_rules()
    assert book.version == "2026-12-01"
    assert {rule.kind for rule in book.rules} == set(KINDS)
    assert len([rule for rule in book.rules if rule.kind == "child_checkup"]) == 20
    # M'T dents: every year from 3 to 24 inclusive.
    assert len([rule for rule in book.rules if rule.kind == "dental"]) == 22
    assert all(rule.source and rule.why and rule.label for rule in book.rules)


def test_a_good_file_loads(tmp_path):
    book = load_rules(write(tmp_path, GOOD))
    assert book.version == "2027-01-01"
    assert [rule.id for rule in book.rules] == ["depistage-sein"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("kind", "depistage", "type « depistage » inconnu"),
        ("level", "conseillé", "niveau « conseillé » inconnu"),
        ("sex", "X", "sexe « X » inconnu"),
        ("anchor", "conception", "origine « conception » inconnue"),
        ("from", "50 ans", "« 50 ans » n'est pas une durée"),
        ("from", "1y2w", "« 1y2w » n'est pas une durée"),
        ("to", "40y", "l'âge « to » (40y) n'est pas après « from » (50y)"),
        ("codes", "mammo", "code(s) inconnu(s) : mammo"),
        ("dose", "1", "donnez soit « dose » (une fois), soit « every » ou « season »"),
        ("every", "", "donnez soit « dose » (une fois), soit « every » ou « season »"),
        ("season", "10-15/02-30", "saison"),
        ("why", "", "la colonne « why » est vide"),
        (
            "after",
            "depistage-inconnu",
            "« after » renvoie à la règle inconnue « depistage-inconnu »",
        ),
    ],
)
def test_a_malformed_rule_is_refused_naming_its_line(tmp_path, column, value, message):
    path = write(tmp_path, replace(GOOD, "id", "autre-regle"), replace(GOOD, column, value))
    with pytest.raises(RuleFileError) as refused:
        load_rules(path)
    text = str(refused.value)
    assert "rules.csv, ligne 4 (règle « depistage-sein »)" in text
    assert message in text


def test_a_duplicated_id_is_refused(tmp_path):
    with pytest.raises(RuleFileError, match=r"ligne 4 .* déjà pris ligne 3"):
        load_rules(write(tmp_path, GOOD, GOOD))


def test_a_row_with_a_missing_column_is_refused(tmp_path):
    with pytest.raises(RuleFileError, match=r"ligne 3 .* 21 colonnes au lieu de 22"):
        load_rules(write(tmp_path, GOOD.rsplit(",", 1)[0]))


def test_a_file_without_version_is_refused(tmp_path):
    with pytest.raises(RuleFileError, match="version"):
        load_rules(write(tmp_path, GOOD, header=",".join(COLUMNS) + "\n"))


def test_a_file_with_other_columns_is_refused(tmp_path):
    header = "# version: 2027-01-01\n" + ",".join(reversed(COLUMNS)) + "\n"
    with pytest.raises(RuleFileError, match="ligne 2 : les colonnes doivent être"):
        load_rules(write(tmp_path, GOOD, header=header))


def test_the_shipped_file_is_the_one_loaded():
    assert RULES_FILE.name == "prevention_rules.csv"
    assert load_rules().version == default_rules().version
