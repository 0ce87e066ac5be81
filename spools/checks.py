"""System checks of the deployment (`manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

DEMO_SECRET_KEY = Error(
    "DJANGO_SECRET_KEY is the public demo key of the README.",
    hint="Set DJANGO_SECRET_KEY to a secret of your own (the demo key is for DJANGO_DEBUG=1).",
    id="zeues.E001",
)


@register(Tags.security, deploy=True)
def check_demo_secret_key(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Anyone who has read the README can sign sessions with the demo key."""
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # empty: Django's own security.W009 says so
        return []
    return [DEMO_SECRET_KEY] if key == settings.ZEUES_DEMO_SECRET_KEY else []
