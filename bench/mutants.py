"""Mutation testing of the policy and of the audit chain. Prints figures; asserts nothing.

    .venv/bin/python bench/mutants.py [--only M3] [--list]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/es_bench .venv/bin/python bench/mutants.py

A hand-written list of mutants, each a deliberate break a reviewer would
expect the tests to catch (the four of issue 11 first). Each one is applied
to a copy of the project in a temporary directory (the working tree is never
touched), then the fast policy and audit tests run against it with ``-x``;
a mutant is killed when they fail, and survives when they pass; the first
failing test is printed. Each run builds its own test database: ``--reuse-db``
is not an option, the audit chain's transactional tests flush it, matrix
included, and every later mutant would then be "killed" by an empty matrix.

Not a test: it is slow (a pytest run per mutant) and never part of the suite.
It needs nothing beyond requirements.lock (pytest, pytest-django); the
generated mutants of mutmut are run by bench/mutation.sh.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = "espace_sante/access/policy.py"
CHAIN = "espace_sante/access/chain.py"
SCOPES = "espace_sante/access/scopes.py"
MATRIX = "espace_sante/access/data/matrix.csv"
FAST_TESTS = [
    "tests/access/test_policy_oracle.py",
    "tests/access/test_policy_table.py",
    "tests/access/test_policy_reasons.py",
    "tests/access/test_scopes.py",
    "tests/access/test_policy_memo.py",
    "tests/access/test_space_state.py",
    "tests/access/test_audit_chain.py",
    "tests/access/test_request_context.py",  # the address an entry records and hashes
]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    edits: tuple[tuple[str, str], ...]  # (old, new); each old occurs exactly once
    equivalent: str = ""  # why it cannot be killed, when judged so


def drop(text: str) -> tuple[str, str]:
    return (text, "")


MUTANTS = [
    # The four breaks of issue 11, item 10.
    Mutant(
        "M1 matrix: médecin 10 × 34874-8 set to 0",
        MATRIX,
        (("\n10,1,1,1,1,1,1,1,1,", "\n10,1,1,1,1,1,1,1,0,"),),
    ),
    Mutant(
        "M2a lists: emergency + MASKED returns the unfiltered queryset",
        POLICY,
        (
            (
                "    queryset = queryset.filter(patient_id=patient_id)\n    if actor is None:",
                "    queryset = unfiltered = queryset.filter(patient_id=patient_id)\n"
                "    if actor is None:",
            ),
            (
                "    if masked_ok:\n        return queryset\n",
                "    if masked_ok:\n        return unfiltered\n",
            ),
        ),
    ),
    Mutant(
        "M2b lists: mask everything returns the unfiltered queryset",
        POLICY,
        (("        return queryset.filter(own)\n", "        return queryset\n"),),
    ),
    Mutant(
        "M3 messaging: another patient's conversation is not refused",
        POLICY,
        (
            drop(
                "    if conversation is not None and str(conversation.patient_id) != "
                "str(patient_id):\n        return DENY\n"
            ),
        ),
    ),
    Mutant(
        "M4a read: a withdrawn document is not refused to other professionals",
        POLICY,
        (
            drop(
                '    if document.status == "withdrawn" and not _owns(actor, document):\n'
                "        return DENY\n"
            ),
        ),
    ),
    Mutant(
        "M4b lists: withdrawn documents are listed to everyone",
        POLICY,
        (drop('    queryset = queryset.filter(~Q(status="withdrawn") | ours)\n'),),
    ),
    # Professionals.
    Mutant(
        "a blocked professional reads",
        POLICY,
        (
            (
                "    if relation.blocked or relation.mode is None:\n        return DENY",
                "    if relation.mode is None:\n        return DENY",
            ),
        ),
    ),
    Mutant(
        "a blocked professional lists",
        POLICY,
        (
            (
                "if not relation.space_open or relation.blocked or relation.mode is None:",
                "if not relation.space_open or relation.mode is None:",
            ),
        ),
    ),
    Mutant(
        "professionals read in a space that is not open",
        POLICY,
        (
            (
                "    if not relation.space_open:\n        return DENY  # no space",
                "    if False:\n        return DENY  # no space",
            ),
        ),
    ),
    Mutant(
        "professionals create profile sections",
        POLICY,
        (("if action == Action.CREATE and section is None:", "if action == Action.CREATE:"),),
    ),
    Mutant(
        "professionals edit, delete or mask",
        POLICY,
        (
            (
                "    if action not in READING:\n        return DENY",
                "    if False:\n        return DENY",
            ),
        ),
    ),
    Mutant(
        "masked: the author no longer sees it",
        POLICY,
        (
            (
                "    if document.author_professional_id and str(document.author_professional_id)",
                "    if False and str(document.author_professional_id)",
            ),
        ),
    ),
    Mutant(
        "masked: the médecin traitant no longer sees it",
        POLICY,
        (
            (
                "    if relation.privileged:\n        return True\n",
                "    if False:\n        return True\n",
            ),
        ),
    ),
    Mutant(
        "masked: emergencies see it even under mask everything",
        POLICY,
        (
            (
                "        return relation.settings.emergency_masked and not "
                "relation.settings.mask_everything\n",
                "        return relation.settings.emergency_masked\n",
            ),
        ),
    ),
    Mutant(
        "mask everything no longer masks",
        POLICY,
        (
            (
                "return document.masked_from_professionals or settings.mask_everything",
                "return document.masked_from_professionals",
            ),
        ),
    ),
    Mutant(
        "ETREAT off ignored",
        POLICY,
        (
            (
                "kind == EmergencyAccess.Kind.SAMU and settings.emergency_samu",
                "kind == EmergencyAccess.Kind.SAMU",
            ),
        ),
    ),
    Mutant(
        "BTG off ignored",
        POLICY,
        (
            (
                "kind == EmergencyAccess.Kind.BTG and settings.emergency_btg",
                "kind == EmergencyAccess.Kind.BTG",
            ),
        ),
    ),
    Mutant(
        "professionals see the allergies",
        POLICY,
        (
            (
                'PROFESSIONAL_PROFILE_SECTIONS = {"profile:vaccinations"}',
                'PROFESSIONAL_PROFILE_SECTIONS = {"profile:vaccinations", "profile:allergies"}',
            ),
        ),
    ),
    Mutant(
        "a colleague of the organisation may withdraw",
        POLICY,
        (
            (
                "        actor.organization_id is not None\n"
                "        and document.author_organization_id",
                "        document.author_organization_id",
            ),
        ),
        equivalent="both ids None never compare: the other clause still requires an organisation",
    ),
    # The patient's side.
    Mutant(
        "the titulaire reads INVISIBLE_PATIENT",
        POLICY,
        (
            (
                "        if document.invisible_patient:\n            return DENY",
                "        if False:\n            return DENY",
            ),
        ),
    ),
    Mutant(
        "a parent reads what the minor kept confidential",
        POLICY,
        (("if mode == Mode.REPRESENTATIVE and document.invisible_representatives:", "if False:"),),
    ),
    Mutant(
        "lists: a parent lists what the minor kept confidential",
        POLICY,
        (
            (
                "            queryset = queryset.filter(invisible_representatives=False)\n",
                "            pass\n",
            ),
        ),
    ),
    Mutant(
        "the patient edits a professional's document",
        POLICY,
        (("and not document.is_patient_owned:", "and False:"),),
    ),
    Mutant(
        "the parents' access does not end at 18",
        POLICY,
        ((").exists() and _is_minor(patient_id)", ").exists()"),),
    ),
    Mutant(
        "citizens replace or withdraw",
        POLICY,
        (("if mode is None or action in (Action.REPLACE, Action.WITHDRAW):", "if mode is None:"),),
    ),
    # Apps.
    Mutant(
        "apps: any scope context delegates",
        SCOPES,
        (("scope.context in contexts and scope.covers", "scope.covers"),),
    ),
    Mutant(
        "apps: the grant of the record is not read again",
        POLICY,
        (
            (
                "return scopes.allows(_app_grant_scopes(actor.acting_for, patient_id), "
                "resource, permission)",
                "return True",
            ),
        ),
    ),
    Mutant(
        "apps: reading one item is enough to list",
        POLICY,
        (('    Action.LIST: "s",\n', '    Action.LIST: "r",\n'),),
    ),
    # Messaging.
    Mutant(
        "messaging: the patient starts to anyone",
        POLICY,
        (("return Decision(True, mode) if to_pharmacy else DENY", "return Decision(True, mode)"),),
    ),
    Mutant(
        "messaging: the patient replies to a blocked sender",
        POLICY,
        (
            (
                "not conversation.patient_may_reply or sender_is_blocked(patient_id, conversation)",
                "not conversation.patient_may_reply",
            ),
        ),
    ),
    Mutant(
        "messaging: a deleted conversation stays readable",
        POLICY,
        (
            (
                "        if conversation.patient_deleted_at is not None:\n"
                "            return DENY\n",
                "",
            ),
        ),
    ),
    Mutant(
        "messaging: a professional writes in a closed conversation",
        POLICY,
        (("if relation.blocked or conversation.closed_at is not None:", "if relation.blocked:"),),
    ),
    # The audit chain.
    Mutant("chain: the reason is not hashed", CHAIN, (drop('    "reason",\n'),)),
    Mutant("chain: the previous hash is not hashed", CHAIN, (drop('    "previous_hash",\n'),)),
    Mutant(
        "chain: the format is not hashed",
        CHAIN,
        (drop('    data["format"] = chain_format\n'),),
    ),
    Mutant(
        "chain: the key id is not hashed",
        CHAIN,
        (drop('        data["key_id"] = str(fields.get("key_id") or "")\n'),),
    ),
    Mutant(
        "chain: keys not sorted",
        CHAIN,
        (("sort_keys=True", "sort_keys=False"),),
    ),
    Mutant(
        "chain: times not normalised to UTC",
        CHAIN,
        (
            (
                'return value.astimezone(UTC).isoformat(timespec="microseconds")',
                'return value.isoformat(timespec="microseconds")',
            ),
        ),
    ),
    Mutant(
        "chain: IPv4-mapped IPv6 addresses not unpacked",
        CHAIN,
        (("        address = address.ipv4_mapped\n", "        pass\n"),),
    ),
]


def copy_project(target: Path) -> None:
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "var", "mutants", "__pycache__", "node_modules", ".ruff_cache"
    )
    for name in ("espace_sante", "tests", "pyproject.toml"):
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)


def apply(target: Path, mutant: Mutant) -> None:
    path = target / mutant.path
    text = path.read_text(encoding="utf-8")
    for old, new in mutant.edits:
        found = text.count(old)
        if found != 1:
            raise SystemExit(f"{mutant.name}: {found} occurrences of {old!r} in {mutant.path}")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def run_tests(target: Path) -> str | None:
    """None when the tests pass (the mutant survives), else the first failing test."""
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONDONTWRITEBYTECODE": "1"}
    env["ESPACE_SANTE_VAR_DIR"] = str(target / "var")
    command = [sys.executable, "-m", "pytest", *FAST_TESTS, "-x", "-q", "-p", "no:cacheprovider"]
    done = subprocess.run(command, cwd=target, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode == 0:
        return None
    if "SyntaxError" in done.stdout or "IndentationError" in done.stdout:
        raise SystemExit("The mutant does not compile: fix its edits.")
    failed = [line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    return failed[0] if failed else (done.stdout.strip().splitlines() or ["?"])[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the mutants whose name contains this text")
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    args = parser.parse_args()
    mutants = [m for m in MUTANTS if not args.only or args.only in m.name]
    if args.list:
        for mutant in mutants:
            print(f"{mutant.path}: {mutant.name}")
        return
    survivors = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutants-") as scratch:
        pristine = Path(scratch) / "pristine"
        copy_project(pristine)
        if run_tests(pristine) is not None:
            raise SystemExit("The tests fail without any mutant: fix them first.")
        for number, mutant in enumerate(mutants, 1):
            work = Path(scratch) / f"m{number}"
            shutil.copytree(pristine, work)
            apply(work, mutant)
            t0 = time.perf_counter()
            failure = run_tests(work)
            shutil.rmtree(work)
            verdict = "SURVIVED" if failure is None else "killed"
            print(
                f"{number:3} {verdict:8} {time.perf_counter() - t0:5.1f}s  {mutant.name}",
                flush=True,
            )
            if failure is None:
                survivors.append(mutant)
            else:
                print(f"      by {failure}", flush=True)
    print()
    print(
        f"{len(mutants)} mutants, {len(mutants) - len(survivors)} killed, "
        f"{len(survivors)} survived, in {time.perf_counter() - started:.0f}s"
    )
    for mutant in survivors:
        note = f" (judged equivalent: {mutant.equivalent})" if mutant.equivalent else ""
        print(f"  survived: {mutant.path}: {mutant.name}{note}")


if __name__ == "__main__":
    main()
