"""The PostgreSQL roles that keep the audit trail out of the application's reach.

Two roles: the owner, which owns every table and runs the migrations, and the
application's role, which the web and the worker connect as. The application
may read and write the tables it works on, but on the audit trail it may only
add (``INSERT``) and read (``SELECT``) entries, and move the chain heads
(``INSERT``/``UPDATE``, no ``DELETE``): no ``TRUNCATE``, ``UPDATE`` or ``DELETE``
of entries, and, not being the owner nor a superuser, no ``ALTER TABLE`` (so
no ``DISABLE TRIGGER``).

``statements`` gives the SQL; ``espace-sante audit roles`` prints it or, with
``--apply``, runs it as the (super)user of ``DATABASE_URL``.
"""

from __future__ import annotations

import re

APPEND_ONLY_TABLE = "access_auditentry"
HEAD_TABLE = "access_audithead"

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class RoleNameError(ValueError):
    pass


def quoted(name: str) -> str:
    """A role, database or table name, checked and double-quoted."""
    if not _NAME.match(name):
        raise RoleNameError(
            f"Nom invalide : « {name} » (lettres minuscules, chiffres et _ seulement)."
        )
    return f'"{name}"'


def _create_role(name: str, password: str | None) -> str:
    login = "LOGIN PASSWORD '{}'".format(password.replace("'", "''")) if password else "LOGIN"
    return (
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{name}') THEN "
        f"CREATE ROLE {quoted(name)} {login} NOSUPERUSER NOCREATEDB NOCREATEROLE "
        "NOBYPASSRLS NOREPLICATION; "
        "ELSE "
        f"ALTER ROLE {quoted(name)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS "
        "NOREPLICATION; "
        "END IF; END $$"
    )


def statements(
    *,
    database: str,
    app: str,
    owner: str,
    tables: list[str],
    app_password: str | None = None,
    owner_password: str | None = None,
) -> list[str]:
    """The SQL that creates (or tightens) both roles and sets every privilege."""
    if app == owner:
        raise RoleNameError("Le rôle de l'application doit être distinct du propriétaire.")
    a, o, db = quoted(app), quoted(owner), quoted(database)
    sql = [
        _create_role(owner, owner_password),
        _create_role(app, app_password),
        f"REVOKE {o} FROM {a}",  # the application must not inherit the owner's rights
        f"GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {o}, {a}",
        f"GRANT USAGE, CREATE ON SCHEMA public TO {o}",
        f"GRANT USAGE ON SCHEMA public TO {a}",
        f"REVOKE CREATE ON SCHEMA public FROM {a}",
    ]
    sql += [f"ALTER TABLE public.{quoted(table)} OWNER TO {o}" for table in tables]
    sql += [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {a}",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {a}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {a}",
    ]
    # The audit trail: add and read entries; move heads, never remove them.
    # (Before the first migration the tables do not exist yet: run this again
    # after ``migrate``, as scripts/pg-roles.sh does.)
    if APPEND_ONLY_TABLE in tables:
        sql += [
            f"REVOKE ALL ON public.{quoted(APPEND_ONLY_TABLE)} FROM {a}",
            f"GRANT SELECT, INSERT ON public.{quoted(APPEND_ONLY_TABLE)} TO {a}",
        ]
    if HEAD_TABLE in tables:
        sql += [
            f"REVOKE ALL ON public.{quoted(HEAD_TABLE)} FROM {a}",
            f"GRANT SELECT, INSERT, UPDATE ON public.{quoted(HEAD_TABLE)} TO {a}",
        ]
    sql += [
        # Tables the owner creates later (new migrations) are open to the app the
        # same way; the audit tables already exist, so they keep their narrow grants.
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {a}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {o} IN SCHEMA public "
        f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {a}",
    ]
    return sql
