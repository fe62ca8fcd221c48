"""Ready-to-use professional software clients for the demo organisations.

For each demo organisation: an EC P-256 key pair (private key written under
``var/fhir-clients/``, mode 0600, never committed), an OAuth2 client whose
public key is registered, and the values a script needs to call the API.
Running it again reuses the keys and clients.
"""

import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from jwcrypto import jwk

from espace_sante.demo.people import ORGANIZATIONS
from espace_sante.fhir.models import SoftwareClient
from espace_sante.fhir.services import register_software, update_keys
from espace_sante.identity.models import Organization, Role

SOFTWARE_NAME = "Logiciel de démonstration"


def _private_key(path: Path, kid: str) -> jwk.JWK:
    if path.exists():
        return jwk.JWK.from_pem(path.read_bytes())
    key = jwk.JWK.generate(kty="EC", crv="P-256", kid=kid)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_to_pem(private_key=True, password=None))
    return key


def public_jwks(key: jwk.JWK, kid: str) -> dict:
    public = json.loads(key.export_public())
    public.update(kid=kid, use="sig", alg="ES256")
    return {"keys": [public]}


class Command(BaseCommand):
    help = "Crée (ou réutilise) une paire de clés et un client FHIR par structure de démonstration."

    def handle(self, *args, **options):
        folder = Path(settings.VAR_DIR) / "fhir-clients"
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        base = settings.SITE_URL.rstrip("/")
        demo_finess = [data["finess"] for data in ORGANIZATIONS]
        for organization in Organization.objects.filter(finess__in=demo_finess).order_by("name"):
            kid = f"demo-{organization.finess}"
            key_path = folder / f"{organization.finess}.pem"
            key = _private_key(key_path, kid)
            jwks = public_jwks(key, kid)
            client = (
                SoftwareClient.objects.select_related("application")
                .filter(organization=organization, software_name=SOFTWARE_NAME)
                .first()
            )
            if client is None:
                client = register_software(organization, SOFTWARE_NAME, jwks)
            elif client.jwks != jwks:
                update_keys(client, jwks)
            role = (
                Role.objects.filter(organization=organization, end_date__isnull=True)
                .select_related("professional")
                .order_by("professional__last_name")
                .first()
            )
            config = {
                "fhir_base": f"{base}/fhir/R4",
                "token_url": f"{base}/o/token/",
                "client_id": client.application.client_id,
                "private_key_file": str(key_path.resolve()),
                "kid": kid,
                "organization_finess": organization.finess,
                "professional_rpps": role.professional.rpps if role else "",
                "professional_profession": role.professional.profession if role else "",
            }
            config_path = folder / f"{organization.finess}.json"
            config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
            self.stdout.write(self.style.SUCCESS(organization.name))
            for name, value in config.items():
                self.stdout.write(f"  {name}: {value}")
            self.stdout.write(f"  configuration : {config_path.resolve()}")
            self.stdout.write("")
