"""Demo data: a small population, their documents, profiles, messages and an enrollment campaign.

Loaded by ``espace-sante demo`` (``make run``). It sits above every app and
only calls their services; tests build their own personas and never depend on
what is loaded here beyond the named demo sign-ins.
"""
