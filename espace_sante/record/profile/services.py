"""The medical profile: the services, one module per concern.

- ``entries``: the sections (list, read, add, change, delete their entries;
  the sections with one row per patient: habits, blood group, wishes);
- ``measures``: measures, goals and the latest value of each kind;
- ``summary``: the whole profile for the index page, the printable summary
  and its copy in the documents.

Every function takes the acting ``Actor`` and the patient (a ``Person``), goes
through ``access.guard`` first, and appends to the audit trail in the same
transaction as the change or the read (object type ``profile:<section>``). A
refusal is traced too, committed on its own, then raised as ``NotAllowed``
(pages answer 404). This module is the public face of the profile: doors and
other apps call these names.
"""

from .entries import (
    SECTIONS,
    SECTIONS_BY_SLUG,
    ProfileInvalid,
    Section,
    add_entry,
    check_section,
    clear_singleton,
    delete_entry,
    entry_initial,
    get_entry,
    get_singleton,
    list_section,
    save_singleton,
    set_blood_group,
    set_lifestyle,
    set_organ_donation,
    update_entry,
)
from .measures import (
    LatestMeasure,
    MeasurePoint,
    Target,
    add_measure,
    clear_measure_target,
    delete_measure,
    get_measure,
    get_measure_target,
    latest_measures,
    measure_series,
    set_measure_target,
)
from .summary import (
    ProfileSummary,
    profile_summary,
    save_summary_to_documents,
    summary_pdf,
)

__all__ = [
    "SECTIONS",
    "SECTIONS_BY_SLUG",
    "LatestMeasure",
    "MeasurePoint",
    "ProfileInvalid",
    "ProfileSummary",
    "Section",
    "Target",
    "add_entry",
    "add_measure",
    "check_section",
    "clear_measure_target",
    "clear_singleton",
    "delete_entry",
    "delete_measure",
    "entry_initial",
    "get_entry",
    "get_measure",
    "get_measure_target",
    "get_singleton",
    "latest_measures",
    "list_section",
    "measure_series",
    "profile_summary",
    "save_singleton",
    "save_summary_to_documents",
    "set_blood_group",
    "set_lifestyle",
    "set_measure_target",
    "set_organ_donation",
    "summary_pdf",
    "update_entry",
]
