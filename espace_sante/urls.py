from django.contrib import admin
from django.urls import include, path
from oauth2_provider import urls as oauth2_urls

from espace_sante.messaging import urls as messaging_urls
from espace_sante.pharmacy import urls as pharmacy_urls
from espace_sante.web import views as web_views

admin.site.site_header = "espace-santé — administration"
admin.site.site_title = "espace-santé"

# A database outage answers 503 with Retry-After (a FHIR OperationOutcome on /fhir/).
handler500 = "espace_sante.web.views.server_error"

# django-oauth-toolkit's endpoints for software and apps (metadata, authorize,
# token, revoke, introspect, OpenID Connect), not its client-management pages:
# clients are registered by operators in the admin, never by whoever signs in.
oauth2_patterns = (
    oauth2_urls.metadata_urlpatterns + oauth2_urls.base_urlpatterns + oauth2_urls.oidc_urlpatterns,
    "oauth2_provider",
)

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("readyz", web_views.readyz, name="readyz"),
    path("comptes/", include("allauth.urls")),
    path("o/", include(oauth2_patterns, namespace="oauth2_provider")),
    path("admin/", admin.site.urls),
    path("documents/", include("espace_sante.record.documents.urls")),
    path("messagerie/ordonnance/", include(pharmacy_urls.patient_namespace)),
    path("messagerie/", include(messaging_urls.patient_namespace)),
    path("pro/messagerie/", include(messaging_urls.professional_namespace)),
    path("pro/pharmacie/", include(pharmacy_urls.professional_namespace)),
    path("pro/", include("espace_sante.portal.urls")),
    path("profil/", include("espace_sante.record.profile.urls")),
    path("agenda/", include("espace_sante.agenda.urls")),
    path("parametres/confidentialite/", include("espace_sante.access.privacy.urls")),
    path("parametres/", include("espace_sante.access.urls")),
    path("operateur/", include("espace_sante.operator.urls")),
    path("", include("espace_sante.enrollment.urls")),
    path("fhir/R4/", include("espace_sante.fhir.urls")),
    path("", include("espace_sante.web.urls")),
]
