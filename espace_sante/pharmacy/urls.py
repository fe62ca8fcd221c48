"""The pharmacy's addresses for its two audiences, each in its own namespace.

``espace_sante/urls.py`` mounts ``patient_namespace`` under /messagerie/ordonnance/
(``pharmacy:…``) and ``professional_namespace`` under /pro/pharmacie/ (``pharmacy_pro:…``).
"""

from django.urls import path

from .views import patient, professional

patient_urls = [
    path("", patient.send, name="send"),
]

professional_urls = [
    path("", professional.inbox, name="inbox"),
    path("<uuid:order_id>/statut/", professional.set_status, name="set_status"),
]

patient_namespace = (patient_urls, "pharmacy")
professional_namespace = (professional_urls, "pharmacy_pro")
