"""Secure messaging (services.md): the services, one module per concern.

- ``rules``: the guard on a patient's messaging, rate limits, clean text, refusals;
- ``attachments``: files in (checked, encrypted) and out (guarded, decrypted);
- ``writing``: start a conversation, reply, close, delete;
- ``reading``: a conversation, the inboxes of both sides, unread counts;
- ``notices``: the email about a new message, and its task;
- ``retention``: warn, then delete old conversations and orphan files;
- ``extensions``: what an app built on messaging (the pharmacy) adds to its pages.

Every function takes the acting ``Actor`` and goes through ``access.guard``.
Only professionals (for an organisation, or its mailbox) start a conversation;
the patient's side reads and replies, and starts only to send a prescription
to a pharmacy: the pharmacy app does that with ``check_access`` (``to_pharmacy``)
and ``open_conversation``, and shows its pages through ``extensions``.
This module is the app's public face: doors and other apps call these names.
"""

from .attachments import (
    access_attachment,
    attachment_limits,
    describe_attachment,
    iter_attachment,
    save_attachment_to_documents,
)
from .reading import (
    conversations_with,
    inbox,
    may_read_in_list,
    professional_inbox,
    read_conversation,
    unread_for_patient,
    unread_for_professional,
    unread_in,
)
from .retention import (
    apply_retention,
    sweep_orphan_attachments,
    warn_before_retention,
)
from .rules import (
    MessagingRefused,
    check_access,
)
from .writing import (
    access_conversation,
    close_conversation,
    conversation_of_message,
    delete_for_patient,
    open_conversation,
    reply,
    start_conversation,
)

__all__ = [
    "MessagingRefused",
    "access_attachment",
    "access_conversation",
    "attachment_limits",
    "apply_retention",
    "check_access",
    "close_conversation",
    "conversation_of_message",
    "conversations_with",
    "delete_for_patient",
    "describe_attachment",
    "inbox",
    "iter_attachment",
    "may_read_in_list",
    "open_conversation",
    "professional_inbox",
    "read_conversation",
    "reply",
    "save_attachment_to_documents",
    "start_conversation",
    "sweep_orphan_attachments",
    "unread_for_patient",
    "unread_for_professional",
    "unread_in",
    "warn_before_retention",
]
