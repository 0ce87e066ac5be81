"""Template helpers shared by every page, fragment and WebSocket push."""

import re
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import reverse

register = template.Library()


_ID_ESCAPED = re.compile(r"[^A-Za-z0-9-]")


def _escape_id_char(match: re.Match) -> str:
    return "".join(f"_{b:02X}" for b in match[0].encode())


@register.filter
def dom_id(tag: str) -> str:
    """A TAG_SPOOL as an element id suffix (ids are targets of out-of-band swaps).

    Injective, so two tags never share an id (a live delete must remove only its own
    row): letters, digits and `-` stay, every other byte of the UTF-8 text, `_` included,
    becomes `_XX` (hex). `A/1` → `A_2F1`, `A_1` → `A_5F1`. Valid in an HTML id and a CSS
    selector; the templates prefix it (`spool-`), so it never starts an id with a digit."""
    return _ID_ESCAPED.sub(_escape_id_char, str(tag))


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
