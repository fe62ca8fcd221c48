"""Signed JWT assertions of professional software, checked against its registered keys.

Two kinds, signed with the same private key of the installation:
- the client assertion of the token request (RFC 7523, ``private_key_jwt``);
- the acting-professional assertion sent with every FHIR request.
Both must be short-lived and are single-use: their ``jti`` is remembered
until they expire, so a captured assertion cannot be replayed.
"""

import secrets
from datetime import UTC, datetime

import jwt
from django.db import IntegrityError, transaction
from django.utils import timezone

from .models import SoftwareClient, UsedAssertion

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "ES256", "ES384"]
MAX_LIFETIME_SECONDS = 300  # five minutes, as short as the software can manage
LEEWAY_SECONDS = 30  # clocks of the software and the server may differ a little


class AssertionRefused(Exception):
    """The assertion cannot be trusted; the message (French) says why."""


def _keys(client: SoftwareClient, kid: str | None):
    try:
        keyset = jwt.PyJWKSet.from_dict(client.jwks or {})
    except (jwt.PyJWKSetError, jwt.InvalidKeyError, ValueError, TypeError, KeyError):
        raise AssertionRefused(
            "Les clés publiques enregistrées pour ce logiciel sont inutilisables : "
            "demandez à l'opérateur de les enregistrer de nouveau."
        ) from None
    keys = [key for key in keyset.keys if kid is None or key.key_id == kid]
    if not keys:
        raise AssertionRefused(
            f"La clé « {kid} » n'est pas enregistrée pour ce logiciel : signez avec la clé "
            "déclarée à l'opérateur."
        )
    return keys


def unverified_issuer(token: str) -> str:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise AssertionRefused("L'assertion n'est pas un JWT lisible.") from None
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise AssertionRefused("L'assertion doit indiquer son émetteur (iss).")
    if "\x00" in issuer:  # PostgreSQL cannot even look such a text up
        raise AssertionRefused("L'émetteur de l'assertion (iss) contient un caractère NUL.")
    return issuer


def verify(token: str, client: SoftwareClient, audiences: list[str], what: str) -> dict:
    """The claims of ``token`` if signed by ``client``'s key, fresh, for us, and unused."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AssertionRefused(f"{what} n'est pas un JWT lisible.") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise AssertionRefused(
            f"{what} est signée avec l'algorithme « {algorithm} », refusé "
            f"(acceptés : {', '.join(ALGORITHMS)})."
        )
    claims = None
    for key in _keys(client, header.get("kid")):
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[algorithm],
                audience=audiences,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "exp", "iat", "jti", "aud"]},
            )
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise AssertionRefused(
                f"{what} a expiré : le logiciel doit en signer une nouvelle pour chaque requête."
            ) from None
        except jwt.InvalidAudienceError:
            raise AssertionRefused(
                f"{what} n'est pas destinée à ce serveur (aud attendu : {audiences[0]})."
            ) from None
        except jwt.MissingRequiredClaimError as exc:
            raise AssertionRefused(f"{what} doit contenir « {exc.claim} ».") from None
        except jwt.ImmatureSignatureError:
            raise AssertionRefused(f"{what} n'est pas encore valable (iat ou nbf).") from None
        except jwt.PyJWTError:
            raise AssertionRefused(f"{what} est invalide.") from None
    if claims is None:
        raise AssertionRefused(
            f"La signature de {what.lower()} ne correspond à aucune clé enregistrée pour ce "
            "logiciel."
        )
    if any(isinstance(value, str) and "\x00" in value for value in claims.values()):
        # Looked up (jti, sub, organization…) in text columns, which PostgreSQL refuses with NUL.
        raise AssertionRefused(f"{what} contient un caractère NUL (U+0000).")
    if claims["iss"] != client.application.client_id:
        raise AssertionRefused(f"{what} a été émise par un autre client (iss).")
    try:
        lifetime = int(claims["exp"]) - int(claims["iat"])
    except (TypeError, ValueError):
        raise AssertionRefused(f"{what} a des dates illisibles (iat, exp).") from None
    if lifetime > MAX_LIFETIME_SECONDS:
        raise AssertionRefused(
            f"{what} est valable trop longtemps ({lifetime} s) : {MAX_LIFETIME_SECONDS} s au plus."
        )
    _consume(client, str(claims["jti"]), int(claims["exp"]), what)
    return claims


def _consume(client: SoftwareClient, jti: str, exp: int, what: str) -> None:
    """Remember ``jti`` until it expires; a second use is refused as a replay."""
    if not jti or len(jti) > 200:
        raise AssertionRefused(
            f"{what} doit avoir un identifiant unique (jti) de 200 caractères au plus."
        )
    expires_at = datetime.fromtimestamp(exp + LEEWAY_SECONDS, tz=UTC)
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint, so a replay leaves the caller's work intact
                UsedAssertion.objects.create(client=client, jti=jti, expires_at=expires_at)
        else:
            # Autocommit: one round trip, committed at once (no BEGIN/COMMIT around it).
            UsedAssertion.objects.create(client=client, jti=jti, expires_at=expires_at)
    except IntegrityError:
        raise AssertionRefused(
            f"{what} a déjà été utilisée (rejeu) : chaque requête doit porter une assertion "
            "nouvelle, avec un jti unique."
        ) from None
    if secrets.randbelow(200) == 0:
        # Now and then, forget the ids that could not be replayed anyway.
        UsedAssertion.objects.filter(expires_at__lt=timezone.now()).delete()
