"""SMART on FHIR scopes: the one parser the policy and the FHIR doors share.

A scope names a context, a resource type and what may be done with it:

- SMART v1: ``patient/Observation.read``, ``.write``, ``.*``;
- SMART v2: ``patient/DocumentReference.rs``, ``user/*.cruds`` — the letters
  c(reate) r(ead) u(pdate) d(elete) s(earch), each at most once, in that order.

v1 is read as v2 (``read`` = ``rs``, ``write`` = ``cud``, ``*`` = ``cruds``),
as the SMART App Launch 2.0 specification maps them.

Deny by default: anything else grants nothing — OpenID scopes (``openid``,
``fhirUser``, ``launch/patient``…), a misspelt permission, a resource name
that is not a FHIR type name, and v2 scopes narrowed by a query
(``patient/Observation.rs?category=…``): we do not evaluate the query, so
the scope is not widened to the whole resource type.

A scope only delegates: what the app may do is at most what the citizen it
acts for may do, which the policy decides after the scopes allow the action.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

CONTEXTS = ("patient", "user", "system")
LETTERS = "cruds"
V1 = {"read": "rs", "write": "cud", "*": "cruds"}
# What a permission letter means, for messages and for callers that name it.
NAMES = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]{1,63})\.([^/?\s]+)$")


@dataclass(frozen=True)
class Scope:
    context: str  # patient, user or system
    resource: str  # a FHIR resource type, or "*"
    permissions: str  # a subset of "cruds", in that order

    def __str__(self) -> str:
        return f"{self.context}/{self.resource}.{self.permissions}"

    def covers(self, resource: str) -> bool:
        return self.resource in ("*", resource)


def _letters(text: str) -> str | None:
    if text in V1:
        return V1[text]
    if not text or any(letter not in LETTERS for letter in text):
        return None
    # v2 letters are unique and in the order c, r, u, d, s.
    ordered = "".join(letter for letter in LETTERS if letter in text)
    return text if ordered == text else None


def parse(scope: str) -> Scope | None:
    """One scope, or None when it grants no data access (see the module's docstring)."""
    found = _SCOPE.match(scope or "")
    if found is None:
        return None
    context, resource, permissions = found.groups()
    letters = _letters(permissions)
    return Scope(context, resource, letters) if letters else None


def parse_all(scopes: Iterable[str] | str) -> tuple[Scope, ...]:
    """Every data scope of a space-separated string or an iterable of scopes."""
    if isinstance(scopes, str):
        scopes = scopes.split()
    return tuple(found for found in map(parse, scopes) if found is not None)


def _letter(action: str) -> str:
    letter = NAMES.get(action, action)
    if len(letter) != 1 or letter not in LETTERS:
        raise ValueError(f"Unknown SMART permission {action!r}")
    return letter


def allows(
    scopes: Iterable[str] | str,
    resource: str,
    action: str,
    contexts: tuple[str, ...] = ("patient",),
) -> bool:
    """Do ``scopes`` let an app do ``action`` on ``resource``?

    ``action`` is a permission letter (``"r"``) or its name (``"read"``);
    ``contexts`` the scope contexts the caller accepts — a patient's app acts
    in the ``patient`` context only: ``user/`` and ``system/`` scopes would
    reach beyond the record it was launched for.
    """
    letter = _letter(action)
    return any(
        scope.context in contexts and scope.covers(resource) and letter in scope.permissions
        for scope in parse_all(scopes)
    )


def reads(scopes: Iterable[str] | str, resource: str) -> bool:
    """Any reading of ``resource`` (read or search) is allowed."""
    return allows(scopes, resource, "r") or allows(scopes, resource, "s")


def intersect(first: Iterable[str] | str, second: Iterable[str] | str) -> frozenset[str]:
    """What both sets of scopes allow, as v2 scopes (``patient/DocumentReference.rs``).

    An app's actor holds what the patient granted *and* its token carries:
    ``patient/*.rs`` granted and ``patient/Observation.cruds`` in the token
    give ``patient/Observation.rs``.
    """
    found = set()
    for one in parse_all(first):
        for other in parse_all(second):
            if one.context != other.context:
                continue
            if one.resource != "*" and other.resource != "*" and one.resource != other.resource:
                continue
            resource = other.resource if one.resource == "*" else one.resource
            letters = "".join(x for x in LETTERS if x in one.permissions and x in other.permissions)
            if letters:
                found.add(str(Scope(one.context, resource, letters)))
    return frozenset(found)


def normalise(scopes: Iterable[str] | str) -> str:
    """The data scopes of ``scopes``, as sorted space-separated v2 scopes (what a grant stores)."""
    return " ".join(sorted({str(scope) for scope in parse_all(scopes)}))
