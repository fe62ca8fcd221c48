"""Pieces of page every app's templates share: ``{% load pages %}``."""

from django import template

register = template.Library()


@register.inclusion_tag("web/_breadcrumb.html")
def breadcrumb(*steps: str) -> dict:
    """« Vous êtes ici » : a label and an address per page above, then this page's label.

    ``{% url 'messaging:inbox' as inbox %}{% breadcrumb "Messagerie" inbox "Nouveau" %}``
    """
    *above, current = steps
    return {"above": list(zip(above[::2], above[1::2], strict=True)), "current": current}


@register.simple_tag
def login_code_minutes() -> int:
    """How long an emailed or texted sign-in code lasts, in minutes (the setting)."""
    from django.conf import settings

    return int(settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT) // 60
