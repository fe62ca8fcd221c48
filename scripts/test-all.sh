#!/usr/bin/env bash
# The whole test suite: on SQLite always, and again on PostgreSQL when
# DATABASE_URL points at one. Browser tests need Debian's Chromium.
# Each suite runs on every core with pytest-xdist (PYTEST_WORKERS=0: one process).
# On the 2-core CI machine this beat running the two suites side by side, one
# process each (docs/development.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

browser_args=()
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installation de Chromium (paquet Debian) pour les tests dans le navigateur…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "ATTENTION : /usr/bin/chromium manque (sudo apt-get install chromium) :" \
         "les tests dans le navigateur ne sont pas lancés." >&2
    browser_args=(-m "not browser")
  fi
fi

pg_url="${DATABASE_URL:-}"
workers=(-n "${PYTEST_WORKERS:-auto}")

# The fuzzer's 10,000 requests (tests/fuzz) run once, on the production database
# when there is one; the SQLite pass then sends 2,000 with the same seed.
case "$pg_url" in
  postgres://*|postgresql://*|pgsql://*) sqlite_fuzz="${FUZZ_REQUESTS:-500}" ;;
  *) sqlite_fuzz="${FUZZ_REQUESTS:-10000}" ;;
esac

echo "== Suite complète sur SQLite"
env -u DATABASE_URL FUZZ_REQUESTS="$sqlite_fuzz" "$BIN/pytest" "${workers[@]}" "${browser_args[@]}" "$@"

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
