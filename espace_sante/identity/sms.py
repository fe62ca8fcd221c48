"""Sending SMS. No operator contract is assumed: the default writes to the log.

A real gateway is a class with ``send(phone, text)`` named in ``SMS_SENDER``.
"""

import logging
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("espace_sante.sms")


class SmsSender(Protocol):
    def send(self, phone: str, text: str) -> None: ...


class LogSmsSender:
    """Writes each SMS to the log (the number is masked by the log filter)."""

    def send(self, phone: str, text: str) -> None:
        logger.info("SMS to %s: %s", phone, text)


def get_sms_sender() -> SmsSender:
    return import_string(settings.SMS_SENDER)()
