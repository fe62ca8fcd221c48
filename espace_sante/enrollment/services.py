"""The opt-out lifecycle (lifecycle.md): the enrollment services, one module per concern.

- ``lifecycle``: the state machine; every change of ``Person.space_state``
  goes through ``transition``, recorded in ``SpaceTransition`` with the
  person's row locked;
- ``campaigns`` and ``imports``: campaigns and beneficiary files;
- ``codes``: provisional codes and their checks;
- ``activation``: activation, objection, a new code;
- ``invitations``: emails and letter batches;
- ``creation``: automatic creation after the objection delay;
- ``notices``: the notices that tell people (email, SMS) and their task;
- ``closing`` and ``purge``: closing, suspension, reopening, deletion.

This module is the app's public face: doors and other apps call these names.
"""

from .activation import (
    EmailTaken,
    activate,
    object_to_creation,
    objection_receipt_pdf,
    request_new_code,
)
from .campaigns import (
    campaign_counts,
    create_campaign,
)
from .closing import (
    CLOSING_CODE_ATTEMPTS,
    ClosingCodeLocked,
    close_space,
    closing_code_matches,
    find_person,
    resume_space,
    send_closing_code,
    suspend_space,
)
from .codes import (
    CodeCheck,
    CodeRefused,
    check_code,
    format_code,
    issue_code,
    normalize_code,
)
from .creation import (
    create_due_spaces,
)
from .imports import (
    import_beneficiaries,
    refused_lines_csv,
)
from .invitations import (
    build_letter_batches,
    campaign_has_started,
    next_email_retry,
    open_letter_batch,
    send_invitation_emails,
)
from .lifecycle import (
    S,
    TransitionRefused,
    can,
    history,
    lock_person,
    transition,
)
from .notices import (
    NOTICE_SMS,
    send_notice,
    send_notice_sms,
)
from .purge import (
    purge_closed_spaces,
)

__all__ = [
    "CLOSING_CODE_ATTEMPTS",
    "ClosingCodeLocked",
    "CodeCheck",
    "CodeRefused",
    "EmailTaken",
    "NOTICE_SMS",
    "S",
    "TransitionRefused",
    "activate",
    "build_letter_batches",
    "campaign_counts",
    "campaign_has_started",
    "can",
    "check_code",
    "close_space",
    "closing_code_matches",
    "create_campaign",
    "create_due_spaces",
    "find_person",
    "format_code",
    "history",
    "import_beneficiaries",
    "issue_code",
    "lock_person",
    "next_email_retry",
    "normalize_code",
    "object_to_creation",
    "objection_receipt_pdf",
    "open_letter_batch",
    "purge_closed_spaces",
    "refused_lines_csv",
    "request_new_code",
    "resume_space",
    "send_closing_code",
    "send_invitation_emails",
    "send_notice",
    "send_notice_sms",
    "suspend_space",
    "transition",
]
