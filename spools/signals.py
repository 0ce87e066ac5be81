"""Signals other apps listen to; sent only after the change is committed."""

from django.dispatch import Signal

# Sent (after commit) when spools changed in the mirror: kwargs `tags` (list of TAG_SPOOL)
# and `events` (list of Event ids). The live views render and push fragments from it.
spools_changed = Signal()
