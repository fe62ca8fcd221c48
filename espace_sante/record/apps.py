from django.apps import AppConfig


class RecordConfig(AppConfig):
    name = "espace_sante.record"
    label = "record"
    verbose_name = "Dossier médical"

    def ready(self) -> None:
        from espace_sante.access import documents

        from .documents import services
        from .documents.reference import document_type
        from .profile.reference import SECTION_INFO

        def type_label(code: str) -> str | None:
            found = document_type(code)
            return found.label if found else None

        def section_label(key: str) -> str | None:
            found = SECTION_INFO.get(key)
            return found.label if found else None

        documents.register(
            visible_titles=services.visible_titles,
            type_label=type_label,
            section_label=section_label,
        )
