"""Messaging's addresses for its two audiences, each in its own namespace.

``espace_sante/urls.py`` mounts ``patient_namespace`` under /messagerie/ (``messaging:…``)
and ``professional_namespace`` under /pro/messagerie/ (``messaging_pro:…``).
"""

from django.urls import path

from .views import patient, professional

patient_urls = [
    path("", patient.inbox, name="inbox"),
    path("<uuid:conversation_id>/", patient.conversation, name="conversation"),
    path("<uuid:conversation_id>/repondre/", patient.reply, name="reply"),
    path("<uuid:conversation_id>/supprimer/", patient.delete, name="delete"),
    path("pieces-jointes/<uuid:attachment_id>/", patient.attachment, name="attachment"),
    path(
        "pieces-jointes/<uuid:attachment_id>/ajouter-aux-documents/",
        patient.save_attachment,
        name="save_attachment",
    ),
]

professional_urls = [
    path("", professional.inbox, name="inbox"),
    path("ecrire/<uuid:patient_id>/", professional.compose, name="compose"),
    path("<uuid:conversation_id>/", professional.conversation, name="conversation"),
    path("<uuid:conversation_id>/repondre/", professional.reply, name="reply"),
    path("<uuid:conversation_id>/fermer/", professional.close, name="close"),
    path("pieces-jointes/<uuid:attachment_id>/", professional.attachment, name="attachment"),
]

patient_namespace = (patient_urls, "messaging")
professional_namespace = (professional_urls, "messaging_pro")
