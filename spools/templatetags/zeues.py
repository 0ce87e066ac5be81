"""Template helpers shared by every page, fragment and WebSocket push."""

import re

from django import template

register = template.Library()


@register.filter
def dom_id(tag: str) -> str:
    """A TAG_SPOOL as an element id suffix (ids are targets of out-of-band swaps)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(tag))


@register.filter
def since(value) -> str:
    """Elapsed time like `2h 15m`, `45m` or `3d 4h` from a past datetime to now."""
    from django.utils import timezone

    if not value:
        return ""
    minutes = max(0, int((timezone.now() - value).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours >= 24:
        return f"{hours // 24}d {hours % 24}h"
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
