from django.urls import path

from . import pro_views

app_name = "messaging_pro"
urlpatterns = [
    path("", pro_views.inbox, name="inbox"),
    path("ecrire/<uuid:patient_id>/", pro_views.compose, name="compose"),
    path("<uuid:conversation_id>/", pro_views.conversation, name="conversation"),
    path("<uuid:conversation_id>/repondre/", pro_views.reply, name="reply"),
    path("<uuid:conversation_id>/fermer/", pro_views.close, name="close"),
    path("pieces-jointes/<uuid:attachment_id>/", pro_views.attachment, name="attachment"),
]
