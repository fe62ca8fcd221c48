import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from espace_sante.access.policy import actor_for_user
from espace_sante.identity.models import Organization
from espace_sante.messaging import services as messaging
from tests.record.conftest import make_pdf  # noqa: F401  (re-exported for the tests)


def run_worker() -> None:
    """Run the queued background tasks (emails) as the worker would."""
    call_command("db_worker", "--batch", "--no-startup-delay", "--interval", "0", verbosity=0)


def pro_actor(professional, organization_finess: str | None = None):
    """A professional acting for their (first) organisation, as in the portal."""
    role = professional.roles.select_related("organization").first()
    org = (
        Organization.objects.get(finess=organization_finess)
        if organization_finess
        else role.organization
    )
    return actor_for_user(professional.user, organization_id=org.id)


def pdf_upload(name="compte-rendu.pdf", text="Compte rendu"):
    return SimpleUploadedFile(name, make_pdf(text))


@pytest.fixture
def marie(personas):
    return actor_for_user(personas.mother.user)


@pytest.fixture
def dr_martin(personas):
    return pro_actor(personas.gp)


@pytest.fixture
def pharmacist(personas):
    return pro_actor(personas.pharmacist)


@pytest.fixture
def carmes(personas):
    return Organization.objects.get(name="Pharmacie des Carmes")


@pytest.fixture
def conversation(personas, dr_martin):
    return messaging.start_conversation(
        dr_martin,
        personas.mother,
        subject="Vos résultats de prise de sang",
        body="Bonjour Madame Durand,\nVos résultats sont normaux. Voir https://exemple.fr/info",
        attachments=[pdf_upload()],
    )


@pytest.fixture
def photo_bytes() -> bytes:
    """A small JPEG, as a phone would take of a prescription."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (120, 160), (240, 240, 235)).save(buffer, "JPEG")
    return buffer.getvalue()
