"""Paramètres → Notifications: every kind sent today, on by default, switched off and on again."""

import pytest

from espace_sante.access import notifications
from espace_sante.access.models import AuditEntry, NotificationPreference

pytestmark = pytest.mark.django_db
URL = "/parametres/notifications/"
Kind = NotificationPreference.Kind


@pytest.fixture
def marie(client, personas):
    client.force_login(personas.mother.user)
    return personas.mother


# What the service sends today: a new message and a professional's access at once;
# a new document, an appointment and a prevention reminder in the daily digest
# (test_digests.py). The catalogue will add connected apps.
SENT = {
    Kind.NEW_DOCUMENT,
    Kind.NEW_MESSAGE,
    Kind.APPOINTMENT,
    Kind.PREVENTION,
    Kind.PROFESSIONAL_ACCESS,
}


def test_every_kind_sent_is_listed_and_on_by_default(client, marie):
    page = client.get(URL).content.decode()
    assert "no-store" in client.get(URL)["Cache-Control"]
    for kind, label in Kind.choices:
        if kind in SENT:
            assert f'name="{kind}" id="id_{kind}" checked' in page
            assert label in page.replace("&#x27;", "'")
        else:  # issue 18, item 10: no switch that changes nothing
            assert f'name="{kind}"' not in page
    assert all(notifications.preferences(marie.id).values())


def test_switching_off_the_access_email_and_on_again(client, marie):
    wanted = {kind: "on" for kind in Kind.values if kind != Kind.PROFESSIONAL_ACCESS}
    response = client.post(URL, wanted, follow=True)
    assert "Vos préférences de notification sont enregistrées." in response.content.decode()
    assert notifications.preferences(marie.id)[Kind.PROFESSIONAL_ACCESS] is False
    assert not notifications.is_enabled(marie.id, Kind.PROFESSIONAL_ACCESS)
    assert notifications.is_enabled(marie.id, Kind.NEW_DOCUMENT)
    [traced] = AuditEntry.objects.filter(patient_id=marie.id, action="notification_settings")
    assert traced.reason == "professional_access=non"

    client.post(URL, {kind: "on" for kind in Kind.values})
    assert notifications.is_enabled(marie.id, Kind.PROFESSIONAL_ACCESS)
    # Saving without a change traces nothing more.
    client.post(URL, {kind: "on" for kind in Kind.values})
    assert (
        AuditEntry.objects.filter(patient_id=marie.id, action="notification_settings").count() == 2
    )


def test_only_the_titulaire_changes_her_preferences(personas):
    from espace_sante.access.policy import actor_for_user

    jean = actor_for_user(personas.elder.user)
    with pytest.raises(notifications.NotAllowedToChange):
        notifications.set_preferences(jean, personas.mother, {Kind.PROFESSIONAL_ACCESS: False})
    assert notifications.is_enabled(personas.mother.id, Kind.PROFESSIONAL_ACCESS)
