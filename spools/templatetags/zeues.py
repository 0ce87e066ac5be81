"""Template helpers shared by every page, fragment and WebSocket push."""

import re
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import reverse

register = template.Library()


@register.filter
def dom_id(tag: str) -> str:
    """A TAG_SPOOL as an element id suffix (ids are targets of out-of-band swaps)."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(tag))


@register.filter
def since(value) -> str:
    """Elapsed time like `2h 15m`, `45m` or `3d 4h` from a past datetime to now."""
    from django.utils import timezone

    from spools.selectors import format_duration

    return format_duration(timezone.now() - value) if value else ""


@lru_cache(maxsize=1)
def _spool_url_prefix() -> str:
    return reverse("spool-detail", args=["__TAG__"]).removesuffix("__TAG__/")


@register.filter
def spool_url(tag: str) -> str:
    """The spool page's URL, without a URL reversal per row of a 200-row list."""
    return f"{_spool_url_prefix()}{quote(str(tag), safe='')}/"


@register.filter
def pd(value) -> str:
    """Pulgadas-diámetro as the plant reads them: `12,5 PD`."""
    from spools.workbook.values import format_pd

    return f"{format_pd(value or 0)} PD"


_QUARTERS = {0.25: "¼", 0.5: "½", 0.75: "¾"}


@register.filter
def dn(value) -> str:
    """A DN in inches as drawn on the isometric: `2`, `1½`, `¾`, `2,3` (other decimals)."""
    if value is None or value == "":
        return "—"
    inches = float(value)
    whole, part = divmod(inches, 1)
    if part == 0:
        return str(int(whole))
    if part in _QUARTERS:
        return f"{int(whole) or ''}{_QUARTERS[part]}"
    return f"{inches:g}".replace(".", ",")
