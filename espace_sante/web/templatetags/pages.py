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
