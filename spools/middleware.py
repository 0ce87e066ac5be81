"""Request plumbing: unreadable bodies answered in Spanish, the 404 page's message, and the
htmx redirect to the login page.

- ``RequestBodyMiddleware`` reads a form body before ``CsrfViewMiddleware`` does. Django
  raises while parsing a body it refuses (a charset other than UTF-8, too many fields, a
  broken multipart, a body over the size limit); raised inside the CSRF middleware, the
  error views parse it again and raise again, and a 400 ends as a 500 with hundreds of log
  lines. Here it is one Spanish 400 and one log line.
- ``page_not_found`` (handler404) shows a view's own Spanish message, never Django's
  English text ("No Worker matches the given query.").
- ``HtmxLoginRedirectMiddleware``: without it, htmx follows the login redirect and swaps
  the login form into the middle of the tablet screen (a result area showing a login
  form, with status 200).
- ``client_ip`` and ``login_locked_out``: django-axes' hooks (settings AXES_*): the
  address a login failure counts against, and the Spanish page of a locked login.
"""

from __future__ import annotations

import codecs
import logging
import math
from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    QueryDict,
    UnreadablePostError,
)
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import resolve_url
from django.template import loader
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.views.decorators.csrf import requires_csrf_token
from django_htmx.http import HttpResponseClientRedirect

log = logging.getLogger(__name__)

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"

CHARSET_MESSAGE = "Los datos enviados no están en UTF-8. No se registró nada."
TOO_BIG_MESSAGE = "Los datos enviados son demasiado grandes. No se registró nada."
TOO_MANY_MESSAGE = "La solicitud trae demasiados campos. No se registró nada."
BROKEN_MESSAGE = "Los datos enviados están incompletos o dañados. No se registró nada."
NOT_FOUND_MESSAGE = "La página o el registro que busca no existe."

# Modules whose Http404 messages are written in Spanish for the person reading them.
OWN_APPS = frozenset({"spools", "occupation", "dashboard"})


class RequestBodyMiddleware:
    """Answers 400 in Spanish for a request whose query or form body Django cannot read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        problem = unreadable_request(request)
        if problem is None:
            return self.get_response(request)
        message, reason = problem
        log.warning("Bad request %s %s: %s", request.method, request.path, reason)
        response = HttpResponseBadRequest(
            loader.render_to_string("400.html", {"exception": message})
        )
        # Django logs every 4xx again ("Bad Request: /path"): the line above says more.
        response._has_been_logged = True
        return response


def unreadable_request(request: HttpRequest) -> tuple[str, str] | None:
    """(Spanish message, log reason) when the query or the form body cannot be read."""
    is_form = request.method == "POST" and request.content_type in (URLENCODED, MULTIPART)
    charset = request.content_params.get("charset") if is_form else None
    if request.content_type == URLENCODED and charset is not None and not _is_utf8(charset):
        return CHARSET_MESSAGE, f"charset {charset[:40]!r}"
    try:
        if request.content_type == URLENCODED and charset is not None:
            request.encoding = "utf-8"  # "utf8", "UTF_8": Django itself takes only "utf-8"
        request.GET  # noqa: B018 - parsed now, so no later reader raises
        if is_form:
            request.POST  # noqa: B018
    except (SuspiciousOperation, BadRequest, MultiPartParserError, UnreadablePostError) as exc:
        # Nothing reads this body again (the error page included).
        request._post, request._files = QueryDict(), MultiValueDict()
        return _message_for(exc), f"{type(exc).__name__}: {exc}"
    return None


def _is_utf8(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name == "utf-8"
    except LookupError:  # an unknown charset: the bytes cannot be read as it says
        return False


def _message_for(exc: Exception) -> str:
    if isinstance(exc, RequestDataTooBig):
        return TOO_BIG_MESSAGE
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return TOO_MANY_MESSAGE
    return BROKEN_MESSAGE


@requires_csrf_token  # as Django's own handler: the page's logout form needs the token
def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: the view's Spanish message, or a generic Spanish one."""
    context = {"exception": _own_message(exception) or NOT_FOUND_MESSAGE}
    return HttpResponseNotFound(loader.render_to_string("404.html", context, request))


@requires_csrf_token  # the page's own forms (logout) need a fresh token
def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: Django's page is English and technical; a worker sees what to do.
    The reason (no cookie, wrong token, bad origin) is in Django's own log line."""
    return HttpResponseForbidden(loader.render_to_string("403_csrf.html", {}, request))


def _own_message(exception: Exception) -> str | None:
    """The message when one of our apps raised the 404 itself; Django's are English
    (get_object_or_404, the admin, the URL resolver), so they are never shown."""
    tb = exception.__traceback__
    if tb is None or not exception.args or not isinstance(exception.args[0], str):
        return None
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "")
    return exception.args[0] if module.split(".")[0] in OWN_APPS else None


class HtmxLoginRedirectMiddleware:
    """An htmx request whose session expired is sent to the login page as a whole page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.status_code != 302:
            return response
        login = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != login:
            return response
        current = urlsplit(request.htmx.current_url or "/").path or "/"
        return HttpResponseClientRedirect(f"{login}?{urlencode({'next': current})}")


def client_ip(request: HttpRequest) -> str | None:
    """The address a login failure counts against. Behind ZEUES_PROXY_COUNT proxies it is
    the entry the outermost of ours appended to X-Forwarded-For (entries further left are
    whatever the client sent, so they are never trusted)."""
    count = settings.ZEUES_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if count > 0 and len(forwarded) >= count:
        return forwarded[-count]
    return request.META.get("REMOTE_ADDR")


def login_locked_out(request: HttpRequest, *args: object) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the Spanish page of a locked login (/accounts/login/ and
    /admin/login/), saying when to try again. Every new try restarts the wait."""
    cool_off = settings.AXES_COOLOFF_TIME
    context = {
        "minutes": math.ceil(cool_off.total_seconds() / 60),
        "retry_at": timezone.localtime() + cool_off,
        "username": request.POST.get("username", ""),
    }
    return HttpResponse(
        loader.render_to_string("registration/locked_out.html", context, request),
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
