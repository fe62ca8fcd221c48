"""The models of the ``record`` app, defined in its two parts: documents and profile.

Django looks for an app's models in this module; the tables (app label
``record``) and their migrations stay where they were. Code imports the models
from ``documents.models`` and ``profile.models``.
"""

from espace_sante.record.documents.models import *  # noqa: F403
from espace_sante.record.profile.models import *  # noqa: F403
