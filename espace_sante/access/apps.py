from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


def _load_matrix(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # After every migrate (and the flush of transactional tests): load the
    # shipped matrix when it is newer than the loaded one.
    from django.db import connections

    from .matrix import load_matrix

    if "access_matrixcell" in connections[using].introspection.table_names():
        load_matrix()


class AccessConfig(AppConfig):
    name = "espace_sante.access"
    label = "access"
    verbose_name = "Accès et traçabilité"

    def ready(self) -> None:
        from . import signals  # sign-ins traced in the audit trail
        from .owned import check_patient_owned

        # Rule 2: every patient-owned table is scoped and indexed by patient.
        checks.register(check_patient_owned, checks.Tags.models)

        signals.connect_relation_changes()

        from . import audit, notifications

        audit.on_professional_access(notifications.after_professional_access)

        post_migrate.connect(_load_matrix, sender=self, dispatch_uid="access_load_matrix")
