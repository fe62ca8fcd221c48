"""Documents of the medical record: the services, one module per concern.

- ``deposit``: add a document (checked, encrypted, durable, traced), a deposit
  by software with its deduplication and replacement, deposits in a batch, the
  orphan blob sweep, the author's own deposits;
- ``idempotency``: a deposit sent again with the same key lands once, and the
  purge of expired keys;
- ``reading``: open a document and its bytes, the lists, pages and searches of
  a record, the titles the history shows;
- ``changes``: the patient's edits, masking and deletion; the author's
  withdrawal and metadata update.

Every function takes the acting ``Actor`` and goes through ``access.guard``:
every access, allowed or refused, is appended to the audit trail in the same
transaction as the action. This module is the public face of the documents:
doors and other apps call these names.
"""

from .changes import (
    DepositChange,
    delete_document,
    set_masked,
    update_deposit,
    update_document,
    withdraw_document,
)
from .deposit import (
    Deposit,
    NewDocument,
    add_document,
    deposit,
    deposit_batch,
    find_own_deposit,
    implausible_date,
    sweep_orphan_blobs,
)
from .idempotency import (
    IDEMPOTENCY_KEY_MAX_LENGTH,
    Idempotency,
    deposit_once,
    fingerprint,
    purge_deposit_keys,
)
from .reading import (
    TITLE,
    DocumentId,
    DocumentPage,
    ListedDocument,
    access_document,
    aware,
    content_copy,
    document_page,
    document_title,
    has_event,
    iter_content,
    list_documents,
    open_content,
    patient_of_document,
    read_content,
    search_documents,
    visible_document_ids,
    visible_titles,
)

__all__ = [
    "IDEMPOTENCY_KEY_MAX_LENGTH",
    "TITLE",
    "Deposit",
    "Idempotency",
    "DepositChange",
    "DocumentId",
    "DocumentPage",
    "ListedDocument",
    "NewDocument",
    "access_document",
    "aware",
    "add_document",
    "content_copy",
    "delete_document",
    "deposit",
    "implausible_date",
    "deposit_batch",
    "deposit_once",
    "document_page",
    "document_title",
    "find_own_deposit",
    "fingerprint",
    "has_event",
    "iter_content",
    "list_documents",
    "open_content",
    "patient_of_document",
    "purge_deposit_keys",
    "read_content",
    "search_documents",
    "set_masked",
    "sweep_orphan_blobs",
    "update_deposit",
    "update_document",
    "visible_document_ids",
    "visible_titles",
    "withdraw_document",
]
