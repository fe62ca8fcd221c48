# The pharmacy flow travels as conversations: the messaging tests' personas and helpers.
from tests.messaging.conftest import (  # noqa: F401  (fixtures re-exported for these tests)
    carmes,
    conversation,
    dr_martin,
    make_pdf,
    marie,
    pdf_upload,
    pharmacist,
    photo_bytes,
    pro_actor,
    run_worker,
)
