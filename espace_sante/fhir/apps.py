from django.apps import AppConfig


class FhirConfig(AppConfig):
    name = "espace_sante.fhir"
    label = "fhir"
    verbose_name = "API FHIR (logiciels des professionnels)"
