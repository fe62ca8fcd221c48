#!/usr/bin/env bash
# A PostgreSQL database run by least-privilege roles (issue 12, docs/decisions/0010):
#   scripts/pg-roles.sh setup DB [APP_ROLE] [OWNER_ROLE]
# creates DB if missing and the two roles (`espace-sante audit roles --apply`, as
# the administrator of PG_ADMIN_URL), runs the migrations as the owner role,
# grants the application role its rights on the tables, and prints the two
# DATABASE_URLs: the owner's for `migrate`, the application's for `serve`,
# `worker` and everything else.
#   scripts/pg-roles.sh check DB [APP_ROLE] [OWNER_ROLE]
# the same, then as the application role: the demo data, a seal, a verify, and
# TRUNCATE / UPDATE / DELETE / ALTER TABLE … DISABLE TRIGGER on the audit trail,
# each of which must be refused. `.ci/run` runs it on a fresh database.
#   scripts/pg-roles.sh drop DB [APP_ROLE] [OWNER_ROLE]
# drops DB and both roles.
# Passwords: AUDIT_APP_ROLE_PASSWORD / AUDIT_OWNER_ROLE_PASSWORD, generated if unset.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
mode=${1:?"usage: $0 setup|check|drop DB [APP_ROLE] [OWNER_ROLE]"}
db=${2:?"usage: $0 setup|check|drop DB [APP_ROLE] [OWNER_ROLE]"}
app=${3:-espace_sante_app}
owner=${4:-espace_sante_owner}
admin=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
server=${admin#*@}          # host:port
PSQL=(psql "$admin/postgres" -v ON_ERROR_STOP=1 -q -X)

if [ "$mode" = drop ]; then
  "${PSQL[@]}" -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null
  for role in "$app" "$owner"; do
    "${PSQL[@]}" -c "DROP ROLE IF EXISTS \"$role\"" >/dev/null
  done
  exit 0
fi

if [ "$mode" = check ]; then
  # Its own var/ (keys, seals): never the checkout's.
  ESPACE_SANTE_VAR_DIR=$(mktemp -d)
  export ESPACE_SANTE_VAR_DIR
  trap 'rm -rf "$ESPACE_SANTE_VAR_DIR"' EXIT
fi

export AUDIT_APP_ROLE_PASSWORD=${AUDIT_APP_ROLE_PASSWORD:-$(openssl rand -hex 16)}
export AUDIT_OWNER_ROLE_PASSWORD=${AUDIT_OWNER_ROLE_PASSWORD:-$(openssl rand -hex 16)}
owner_url="postgres://$owner:$AUDIT_OWNER_ROLE_PASSWORD@$server/$db"
app_url="postgres://$app:$AUDIT_APP_ROLE_PASSWORD@$server/$db"

if ! "${PSQL[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  "${PSQL[@]}" -c "CREATE DATABASE \"$db\"" >/dev/null
fi
# Roles first (no table yet, or the existing ones handed to the owner)…
DATABASE_URL="$admin/$db" "$BIN/espace-sante" audit roles --app "$app" --owner "$owner" --apply
# …the schema created by the owner…
DATABASE_URL="$owner_url" "$BIN/espace-sante" migrate --no-input >/dev/null
# …then the application's rights on the tables that now exist.
DATABASE_URL="$admin/$db" "$BIN/espace-sante" audit roles --app "$app" --owner "$owner" --apply

echo "DATABASE_URL (migrations)  : $owner_url"
echo "DATABASE_URL (application) : $app_url"
[ "$mode" = setup ] && exit 0

echo "== En tant que « $app » : données de démonstration, scellement, vérification"
DATABASE_URL="$app_url" "$BIN/espace-sante" demo >/dev/null
DATABASE_URL="$app_url" "$BIN/espace-sante" audit seal
DATABASE_URL="$app_url" "$BIN/espace-sante" audit verify
echo "== En tant que « $app » : chaque attaque doit être refusée"
for attack in \
  "TRUNCATE access_auditentry CASCADE" \
  "UPDATE access_auditentry SET reason = 'effacé'" \
  "DELETE FROM access_auditentry" \
  "ALTER TABLE access_auditentry DISABLE TRIGGER ALL" \
  "DELETE FROM access_audithead" \
  "TRUNCATE access_audithead"; do
  if out=$(psql "$app_url" -v ON_ERROR_STOP=1 -q -X -c "$attack" 2>&1); then
    echo "ÉCHEC : « $attack » a été accepté pour $app" >&2
    exit 1
  fi
  case "$out" in
    *"permission denied"*|*"must be owner"*) echo "refusé : $attack" ;;
    *) echo "ÉCHEC : « $attack » : $out" >&2; exit 1 ;;
  esac
done
DATABASE_URL="$app_url" "$BIN/espace-sante" audit verify
