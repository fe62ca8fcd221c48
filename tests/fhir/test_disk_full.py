"""A full disk during a FHIR push: a 503 OperationOutcome with Retry-After (issue 12, item 4).

The blob store sits on a real 64 KiB disk (``full_disk``, ENOSPC from the kernel).
"""

import base64
import hashlib

from espace_sante.record.documents.models import Document
from tests.record.conftest import make_pdf

from .conftest import assert_outcome, document_reference
from .test_transactions import provide_bundle

BIG_PDF = make_pdf(pages=1000)  # 124 KB: does not fit


def test_a_push_on_a_full_disk_answers_503_with_retry_after(gp_software, personas, full_disk):
    pushed = gp_software.post("DocumentReference", document_reference(personas.mother, BIG_PDF))
    body = assert_outcome(pushed, 503, "espace de stockage plein", "rien n'a été enregistré")
    assert body["issue"][0]["code"] == "no-store"
    assert pushed.headers["Retry-After"] == "300"
    assert Document.objects.count() == 0
    assert full_disk.files() == []
    # A small document still fits: the store works again as soon as there is room.
    again = gp_software.post("DocumentReference", document_reference(personas.mother))
    assert again.status_code == 201, again.text


def test_a_transaction_whose_second_document_fills_the_disk_stores_nothing(
    gp_software, personas, full_disk
):
    bundle = provide_bundle(personas.mother, documents=2)
    attachment = bundle["entry"][3]["resource"]["content"][0]["attachment"]
    attachment["size"] = len(BIG_PDF)
    attachment["hash"] = base64.b64encode(hashlib.sha1(BIG_PDF).digest()).decode()  # noqa: S324
    bundle["entry"][4]["resource"]["data"] = base64.b64encode(BIG_PDF).decode()
    pushed = gp_software.post("", bundle)
    assert_outcome(pushed, 503, "espace de stockage plein", "Rien n'a été enregistré")
    assert pushed.headers["Retry-After"] == "300"
    assert Document.objects.count() == 0
    assert full_disk.files() == []  # the first document's blob too
