#!/usr/bin/env bash
# The whole test suite: on SQLite always, and again on PostgreSQL when
# DATABASE_URL points at one. Browser tests need Debian's Chromium.
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

echo "== Suite complète sur SQLite"
env -u DATABASE_URL "$BIN/pytest" "${browser_args[@]}" "$@"

case "$pg_url" in
  postgres://*|postgresql://*|pgsql://*)
    echo "== Suite complète sur PostgreSQL"
    DATABASE_URL="$pg_url" "$BIN/pytest" "${browser_args[@]}" "$@"
    ;;
  "") echo "(DATABASE_URL n'est pas défini : la suite ne tourne pas sur PostgreSQL.)" ;;
esac
