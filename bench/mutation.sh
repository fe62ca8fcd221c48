#!/usr/bin/env bash
# Mutation testing of the policy and of the audit chain with mutmut. Prints figures; asserts nothing.
#
#   bench/mutation.sh                                  every mutant of policy.py and chain.py
#   bench/mutation.sh --max-children 2 'espace_sante.access.chain*'
#                                                      some (mutmut's names, shell patterns)
#
# Configuration: [tool.mutmut] in pyproject.toml (what is mutated, which tests run).
# mutmut copies the project into mutants/ (ignored by git), runs the tests once
# to learn which tests reach each function, then runs, for each mutant, only
# those tests, on SQLite, each run with its own new test database (never
# --reuse-db: the audit chain's transactional tests flush it). Results are kept
# in mutants/: a run stopped with Ctrl+C resumes where it stopped; delete
# mutants/ to start again after changing the tests.
# Slow: 6 to 35 s per mutant on the shared 2-core machine, 973 mutants.
# Not part of the suite. The hand-written mutants are in bench/mutants.py.
set -euo pipefail
cd "$(dirname "$0")/.."

MUTMUT_VERSION=3.8.1
if ! .venv/bin/python -c "import mutmut, sys; sys.exit(mutmut.__version__ != '$MUTMUT_VERSION')" 2>/dev/null; then
    # Not in requirements.lock on purpose: only this bench needs it.
    .venv/bin/pip install --quiet "mutmut==$MUTMUT_VERSION"
fi

# SQLite in a scratch directory: mutmut forks a process per mutant, which an
# open PostgreSQL connection would not survive.
export ESPACE_SANTE_VAR_DIR="$PWD/mutants/var"
unset DATABASE_URL

started=$(date +%s)
.venv/bin/mutmut run "$@" || true
echo
echo "mutmut run took $(( $(date +%s) - started )) s"
echo
echo "Survivors and timeouts (mutmut show NAME prints the diff):"
# Mutants outside the patterns given are listed as "not checked": left out.
.venv/bin/mutmut results | grep -v ': not checked$' || echo "    none"
