"""Messaging's pages for its two audiences.

- ``patient``: the citizen's messaging (/messagerie/, URL names ``messaging:…``);
- ``professional``: the professional's messaging in the portal (/pro/messagerie/,
  ``messaging_pro:…``), templates under ``messaging/professional/``;
- ``shared``: what both sides do the same way (a conversation or 404, a reply, a download).
"""
