#!/usr/bin/env bash
# The whole test suite: on SQLite always, and again on PostgreSQL when
# DATABASE_URL points at one. Browser tests need Debian's Chromium.
# Each suite runs on every core with pytest-xdist (PYTEST_WORKERS=0: one process).
# On the 2-core CI machine this beat running the two suites side by side, one
# process each (docs/development.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

with_browser=1
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installation de Chromium (paquet Debian) pour les tests dans le navigateur…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "ATTENTION : /usr/bin/chromium manque (sudo apt-get install chromium) :" \
         "les tests dans le navigateur ne sont pas lancés." >&2
    with_browser=0
  fi
fi

pg_url="${DATABASE_URL:-}"
workers=(-n "${PYTEST_WORKERS:-auto}")

# With PostgreSQL, the fuzzer's 10,000 requests (tests/fuzz: 95 % of their time is
# schemathesis drawing requests, the same on both databases) and the reliability suite
# (tests/reliability: processes killed, outages, 20-way races; most of it needs PostgreSQL,
# the rest checks files before any database) run once, on PostgreSQL, the production
# database: .ci/run must stay under 30 minutes on 2 cores. Without PostgreSQL they run on
# SQLite.
#
# SQLITE_PASS=browser (what .ci/run sets) keeps only the browser tests in the SQLite pass:
# the demo's database under the pages people use; everything else runs on PostgreSQL.
sqlite_args=()
case "$pg_url" in
  postgres://*|postgresql://*|pgsql://*)
    sqlite_args=(--ignore=tests/reliability)
    if [ "${SQLITE_PASS:-all}" = browser ]; then
      sqlite_args+=(-m "browser")
    elif [ "$with_browser" = 1 ]; then
      sqlite_args+=(-m "not fuzz")
    else
      sqlite_args+=(-m "not fuzz and not browser")
    fi ;;
  *)
    if [ "$with_browser" = 0 ]; then sqlite_args=(-m "not browser"); fi ;;
esac

if [ "${SQLITE_PASS:-all}" = browser ] && [ -n "$pg_url" ]; then
  echo "== Tests dans le navigateur sur SQLite"
else
  echo "== Suite complète sur SQLite"
fi
env -u DATABASE_URL FUZZ_REQUESTS="${FUZZ_REQUESTS:-10000}" "$BIN/pytest" "${workers[@]}" "${sqlite_args[@]}" "$@"

case "$pg_url" in
  postgres://*|postgresql://*|pgsql://*)
    echo "== Suite complète sur PostgreSQL"
    # The browser tests ran in the SQLite pass: the pages are the same on both databases,
    # and everything behind them runs here again (keeps .ci/run under 30 minutes on 2 cores).
    DATABASE_URL="$pg_url" FUZZ_REQUESTS="${FUZZ_REQUESTS:-10000}" \
      "$BIN/pytest" "${workers[@]}" -m "not browser" "$@"
    ;;
  "") echo "(DATABASE_URL n'est pas défini : la suite ne tourne pas sur PostgreSQL.)" ;;
esac
