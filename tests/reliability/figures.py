"""A pytest plugin: the figures the reliability tests recorded, printed at the end of the run.

Loaded from tests/conftest.py (``pytest_plugins``): under xdist the controller never
reads this folder's conftest, so a hook there would print nothing in CI.
"""


def pytest_terminal_summary(terminalreporter):
    """Print the figures the reliability tests recorded (``record_property("figures", …)``).

    A user property travels from the xdist workers to the controller, so the figures
    show in CI logs without ``-s``.
    """
    for reports in terminalreporter.stats.values():
        for report in reports:
            for name, value in getattr(report, "user_properties", ()):
                if name == "figures" and getattr(report, "when", "") == "call":
                    terminalreporter.write_sep("-", f"chiffres : {report.nodeid}")
                    terminalreporter.write_line(value)
