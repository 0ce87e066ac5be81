"""The tablet: the worker flow's steps (operación → trabajador → acción → spools →
confirmación → resultado) and `POST /acciones/`.

Every step has its own GET URL (deep links and refresh work); choices with a single option
are skipped by linking past them, never by redirecting (no loops, and the browser's back
button keeps working). The one redirect: a confirmation of a single spool with unions ending
an ARM / SOLD session is that spool's union step (the spools chosen are known only once
the list is sent), where the worker ticks the unions finished and confirms.

Identification (issue 15): on the worker step a badge scan picks the worker at once; with
ZEUES_WORKER_PIN on, a worker picked from the list types a PIN first. How the worker was
identified rides along as a signed token (`identificacion`, occupation.identify) in every
later step's URL and in the confirmation form; with PINs required, a step reached without a
valid one leads back to the PIN prompt.
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote, urlencode, urlsplit

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url

from occupation import identify, selectors
from occupation.forms import ActionForm, BadgeForm, PinForm, is_utf8_form
from occupation.models import ActionRequest
from occupation.services import MAX_SPOOLS, ActionOutcome, perform_action
from spools.lifecycle import Accion, Operacion
from spools.models import Spool, Worker
from spools.rules import ActionError
from spools.selectors import union_list
from spools.views import can_define_unions

ACCION_HELP = {
    Accion.TOMAR: "Empezar a trabajar en un spool",
    Accion.PAUSAR: "Dejar un spool para seguir después",
    Accion.COMPLETAR: "Todo hecho: el spool queda listo",
    Accion.CANCELAR: "Deshacer un TOMAR hecho por error",
    Accion.FINALIZAR: "Marcar las uniones hechas; completa si no falta ninguna",
}
# How the tablet names an acción where the plant's word differs from the contract's.
ACCION_LABELS = {Accion.FINALIZAR: "TERMINAR"}
REPARACION_HELP = {Accion.COMPLETAR: "Reparado: vuelve a metrología"}
RESULT_COUNTDOWN = 8  # seconds before the tablet goes back to the start by itself
can_act = permission_required("spools.perform_actions", raise_exception=True)
TABLET_PATHS = "/t/"
IDENT = "identificacion"  # the token's name in step URLs and in the confirmation form


def _operacion(op: str) -> Operacion:
    try:
        return Operacion(op.upper())
    except ValueError:
        raise Http404(f"Operación desconocida: {op}.") from None


def _accion(operacion: Operacion, accion: str) -> Accion:
    try:
        value = Accion(accion.upper())
    except ValueError:
        raise Http404(f"Acción desconocida: {accion}.") from None
    if operacion == Operacion.METROLOGIA and value != Accion.COMPLETAR:
        raise Http404("METROLOGÍA es una inspección: no tiene esa acción.")
    if not selectors.has_action(operacion, value):
        raise Http404(f"{operacion.label} no tiene la acción {value}.")  # FINALIZAR
    return value


def accion_label(accion: str) -> str:
    return ACCION_LABELS.get(accion, accion)


def _worker(operacion: Operacion, worker_id: int) -> Worker:
    worker = get_object_or_404(selectors.workers_for(operacion), pk=worker_id)
    return worker


def with_ident(url: str, token: str) -> str:
    """`url` carrying the identification token (unchanged without one)."""
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({IDENT: token})}"


def spools_url(operacion: str, worker_id: int, accion: str, token: str = "") -> str:
    return with_ident(reverse("tablet-spools", args=[operacion, worker_id, accion]), token)


def union_url(operacion: str, worker_id: int, accion: str, tag: str, token: str = "") -> str:
    url = reverse("tablet-uniones", args=[operacion, worker_id, accion])
    return with_ident(f"{url}?{urlencode({'tags': tag})}", token)


def pin_url(operacion: str, worker_id: int) -> str:
    return reverse("tablet-pin", args=[operacion, worker_id])


def _identity(
    request: HttpRequest, operacion: Operacion, worker: Worker
) -> tuple[str, HttpResponse | None]:
    """The step's identification token if it is valid for this worker (else ""), and with
    PINs required and none valid, the redirect to the worker's PIN prompt: the PIN cannot
    be skipped by a deep link."""
    token = request.GET.get(IDENT, "")
    account = request.user.get_username()
    if identify.identified_by(token, worker.id, account) in identify.PROVEN:
        return token, None
    if identify.pin_required():
        return "", redirect(pin_url(operacion, worker.id))
    return "", None


def _ident_context(token: str) -> dict:
    """What the templates need to pass the token on: the hidden field's value, and the
    query for plain links (the step chips)."""
    return {"identificacion": token, "ident_query": with_ident("", token)}


def safe_volver(value: str) -> str:
    """`value` if it is a tablet step of this site (a relative path under /t/), else "":
    a link someone hands us must never lead off the site (no open redirect)."""
    if not value.startswith(TABLET_PATHS) or len(value) > 2000:
        return ""
    if any(c in value for c in "\\\r\n\t") or not url_has_allowed_host_and_scheme(value, None):
        return ""
    parts = urlsplit(value)
    # "/t/../admin/" (or %2e%2e) would climb out of the tablet: only plain segments.
    if parts.scheme or parts.netloc or ".." in unquote(parts.path).split("/"):
        return ""
    return value


def after_worker_url(
    operacion: Operacion, worker_id: int, occupied: dict[int, int], token: str = ""
) -> str:
    """Where choosing this worker leads, skipping a step with a single option."""
    if operacion == Operacion.METROLOGIA:
        # an instant inspection
        return spools_url(operacion, worker_id, Accion.COMPLETAR, token)
    if not occupied.get(worker_id):
        return spools_url(operacion, worker_id, Accion.TOMAR, token)  # holding nothing: TOMAR
    return with_ident(reverse("tablet-accion", args=[operacion, worker_id]), token)


@can_act
def operation_step(request: HttpRequest) -> HttpResponse:
    operaciones = []
    for operacion in Operacion:
        url = reverse("tablet-trabajador", args=[operacion])
        only = list(selectors.workers_for(operacion).values_list("id", flat=True)[:2])
        # A single worker may do it (a lone metrólogo): skip the choice, unless they must
        # identify themselves (PIN or badge) on it.
        if len(only) == 1 and not identify.pin_required():
            url = after_worker_url(operacion, only[0], selectors.occupied_counts(operacion))
        operaciones.append({"operacion": operacion, "url": url})
    return render(request, "occupation/step_operacion.html", {"operaciones": operaciones})


def _worker_step_context(operacion: Operacion) -> dict:
    occupied = selectors.occupied_counts(operacion)
    pin = identify.pin_required()
    workers = [
        {
            "worker": worker,
            # With PINs required, a name from the list leads to its PIN prompt first.
            "url": pin_url(operacion, worker.id)
            if pin
            else after_worker_url(operacion, worker.id, occupied),
            "occupied": occupied.get(worker.id, 0),
        }
        for worker in selectors.workers_for(operacion)
    ]
    return {"operacion": operacion, "workers": workers, "pin_required": pin}


@can_act
def worker_step(request: HttpRequest, op: str) -> HttpResponse:
    context = _worker_step_context(_operacion(op))
    return render(request, "occupation/step_trabajador.html", context)


@require_POST
@can_act
def badge_scan(request: HttpRequest, op: str) -> HttpResponse:
    """A badge read on the worker step: on to that worker's next step, identified by badge
    (no PIN), or a Spanish message in place. A POST: the code is a credential, kept out of
    URLs, the browser's history and the access logs."""
    operacion = _operacion(op)
    form = BadgeForm(request.POST)
    form.is_valid()
    try:
        worker = identify.identify_badge(
            operacion, form.cleaned_data.get("codigo", ""), request.user.get_username()
        )
    except ActionError as exc:
        if request.htmx:
            context = {"badge_error": exc.message}
            return render(request, "occupation/_badge_result.html", context, status=exc.status)
        context = {**_worker_step_context(operacion), "badge_error": exc.message}
        return render(request, "occupation/step_trabajador.html", context, status=exc.status)
    token = identify.token_for(worker.id, identify.BADGE, request.user.get_username())
    url = after_worker_url(operacion, worker.id, selectors.occupied_counts(operacion), token)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@require_http_methods(["GET", "POST"])
@can_act
def pin_step(request: HttpRequest, op: str, worker_id: int) -> HttpResponse:
    """The PIN prompt of a worker picked from the list (ZEUES_WORKER_PIN): a digit pad;
    the right PIN leads on to the worker's next step, identified by PIN."""
    operacion = _operacion(op)
    if not identify.pin_required():
        raise Http404("Esta planta no pide PIN.")
    worker = _worker(operacion, worker_id)
    context = {"operacion": operacion, "worker": worker, "notice": identify.pin_notice(worker)}
    if request.method == "GET":
        return render(request, "occupation/step_pin.html", context)
    form = PinForm(request.POST)
    try:
        if not form.is_valid():
            raise ActionError(400, form.errors["pin"][0], "pin_invalido")
        identify.check_pin(worker, form.cleaned_data["pin"])
    except ActionError as exc:
        context.update(error=exc.message, notice=identify.pin_notice(worker))
        return render(request, "occupation/step_pin.html", context, status=exc.status)
    token = identify.token_for(worker.id, identify.PIN, request.user.get_username())
    return redirect(
        after_worker_url(operacion, worker.id, selectors.occupied_counts(operacion), token)
    )


@can_act
def action_step(request: HttpRequest, op: str, worker_id: int) -> HttpResponse:
    operacion = _operacion(op)
    if operacion == Operacion.METROLOGIA:
        raise Http404("METROLOGÍA no tiene paso de acción.")
    worker = _worker(operacion, worker_id)
    token, gate = _identity(request, operacion, worker)
    if gate:
        return gate
    held = selectors.occupied_counts(operacion).get(worker.id, 0)
    acciones = []
    for accion in selectors.acciones_for(operacion):
        help_text = (
            REPARACION_HELP.get(accion) if operacion == Operacion.REPARACION else None
        ) or ACCION_HELP[accion]
        acciones.append(
            {
                "accion": accion,
                "label": accion_label(accion),
                "url": spools_url(operacion, worker.id, accion, token),
                "help": help_text,
                "count": None if accion == Accion.TOMAR else held,
            }
        )
    return render(
        request,
        "occupation/step_accion.html",
        {"operacion": operacion, "worker": worker, "acciones": acciones, **_ident_context(token)},
    )


def _list_context(
    request: HttpRequest, op: str, worker_id: int, accion: str, token: str = ""
) -> dict:
    operacion = _operacion(op)
    accion_value = _accion(operacion, accion)
    worker = _worker(operacion, worker_id)
    query = request.GET.get("q", "")[:100]
    plain = spools_url(operacion, worker.id, accion_value)
    here = with_ident(plain, token)
    return {
        "operacion": operacion,
        "accion": accion_value,
        "accion_label": accion_label(accion_value),
        "worker": worker,
        "lista": selectors.spool_list(operacion, accion_value, worker, query),
        "max_spools": MAX_SPOOLS,
        # One spool at a time: an inspection, and TERMINAR (it registers that spool's unions).
        "single": operacion == Operacion.METROLOGIA or accion_value == Accion.FINALIZAR,
        "list_url": reverse("tablet-lista", args=[operacion, worker.id, accion_value]),
        "scan_url": reverse("tablet-escaneo", args=[operacion, worker.id, accion_value]),
        "confirm_url": reverse("tablet-confirmar", args=[operacion, worker.id, accion_value]),
        "ws_url": f"/ws/lista/{operacion}/{worker.id}/{accion_value}/",
        # "Definir uniones" on a row leads back here, to the same search.
        "can_define_unions": selectors.offers_union_definition(
            request.user, operacion, accion_value
        ),
        "volver": with_ident(f"{plain}?{urlencode({'q': query})}", token) if query else here,
        **_ident_context(token),
    }


@can_act
def spools_step(request: HttpRequest, op: str, worker_id: int, accion: str) -> HttpResponse:
    operacion = _operacion(op)
    token, gate = _identity(request, operacion, _worker(operacion, worker_id))
    if gate:
        return gate
    context = _list_context(request, op, worker_id, accion, token)
    return render(request, "occupation/step_spools.html", context)


@can_act
def spool_list_fragment(request: HttpRequest, op: str, worker_id: int, accion: str) -> HttpResponse:
    """The list alone: for the search as you type and the re-sync after a reconnect."""
    return render(
        request, "occupation/_spool_list.html", _list_context(request, op, worker_id, accion)
    )


@can_act
def scan(request: HttpRequest, op: str, worker_id: int, accion: str) -> HttpResponse:
    """A scanned TAG that is not in the list on screen: say why."""
    operacion = _operacion(op)
    accion_value = _accion(operacion, accion)
    worker = _worker(operacion, worker_id)
    code = request.GET.get("tag", "").strip()[:100]
    tag, reason = selectors.scanned(operacion, accion_value, worker, code) if code else ("", "")
    selectable = bool(tag) and not reason
    return render(
        request,
        "occupation/_scan_result.html",
        {"tag": tag, "reason": reason, "selectable": selectable},
    )


@can_act
def confirm_step(request: HttpRequest, op: str, worker_id: int, accion: str) -> HttpResponse:
    operacion = _operacion(op)
    accion_value = _accion(operacion, accion)
    worker = _worker(operacion, worker_id)
    token, gate = _identity(request, operacion, worker)
    if gate:
        return gate
    tags = list(dict.fromkeys(t.strip() for t in request.GET.getlist("tags") if t.strip()))
    if operacion == Operacion.METROLOGIA:
        tags = tags[:1]  # an inspection is of one spool
    eligible = {
        s.tag: s
        for s in selectors.eligible(operacion, accion_value, worker, tags=tags[:MAX_SPOOLS])
    }
    spools = [eligible[t] for t in tags if t in eligible]
    sent, one_by_one = selectors.split_batch(operacion, accion_value, spools)
    if len(tags) == 1 and one_by_one:  # its unions are chosen on the union step
        return redirect(union_url(operacion, worker.id, accion_value, tags[0], token))
    return render(
        request,
        "occupation/step_confirmar.html",
        {
            "operacion": operacion,
            "accion": accion_value,
            "accion_label": accion_label(accion_value),
            "worker": worker,
            "tags": tags[:MAX_SPOOLS],
            "too_many": len(tags) > MAX_SPOOLS,
            "spools": sent,
            "chosen": len(spools),
            "one_by_one": [
                {"spool": s, "url": union_url(operacion, worker.id, accion_value, s.tag, token)}
                for s in one_by_one
            ],
            "gone": [t for t in tags[:MAX_SPOOLS] if t not in eligible],
            **_reasons(operacion, accion_value, sent),
            "request_id": uuid.uuid4(),
            "back_url": spools_url(operacion, worker.id, accion_value, token),
            "max_spools": MAX_SPOOLS,
            "can_define_unions": selectors.offers_union_definition(
                request.user, operacion, accion_value
            ),
            "volver": request.get_full_path(),  # back to this very confirmation
            **_ident_context(token),
        },
    )


def _reasons(operacion: str, accion: str, spools: list[Spool]) -> dict:
    """The reason chips of a confirmation: a PAUSAR's (optional), or a METROLOGÍA
    verdict's for RECHAZADO with the inspected spool's unions to name as failed."""
    if operacion != Operacion.METROLOGIA:
        return {"motivos_pausa": selectors.pause_reasons(accion)}
    return {
        "motivos_rechazo": selectors.rejection_reasons(),
        "fallas": selectors.rejectable_unions(spools[0] if spools else None),
    }


@can_act
def union_step(request: HttpRequest, op: str, worker_id: int, accion: str) -> HttpResponse:
    """The unions of one spool that this session finished, ticked, then confirmed: the
    confirmation of PAUSAR / COMPLETAR / TERMINAR of a spool with unions."""
    operacion = _operacion(op)
    accion_value = _accion(operacion, accion)
    if not selectors.takes_unions(operacion, accion_value):
        raise Http404("Esta acción no registra uniones.")
    worker = _worker(operacion, worker_id)
    token, gate = _identity(request, operacion, worker)
    if gate:
        return gate
    tag = (request.GET.getlist("tags") or [""])[0].strip()[:100]  # one spool
    step = selectors.union_step(operacion, accion_value, worker, tag) if tag else None
    return render(
        request,
        "occupation/step_uniones.html",
        {
            "operacion": operacion,
            "accion": accion_value,
            "accion_label": accion_label(accion_value),
            "worker": worker,
            "tag": tag,
            "step": step,
            "request_id": uuid.uuid4(),
            "back_url": spools_url(operacion, worker.id, accion_value, token),
            "confirm_url": reverse("tablet-confirmar", args=[operacion, worker.id, accion_value]),
            "terminar_url": union_url(operacion, worker.id, Accion.FINALIZAR, tag, token),
            "motivos_pausa": selectors.pause_reasons(accion_value),
            **_ident_context(token),
        },
    )


@permission_required("spools.change_union", raise_exception=True)
def define_unions_step(request: HttpRequest, tag: str) -> HttpResponse:
    """/t/uniones/<TAG>/?volver=…: a spool's unions on the tablet, defined with the spool
    page's own fragment and endpoint, and a big "Volver" to the step that led here."""
    spool = Spool.objects.filter(tag=tag).first()
    if spool is None:
        raise Http404(f"No existe el spool {tag}.")
    context = {
        **union_list(spool),
        "can_define_unions": can_define_unions(request, spool),
        "volver": safe_volver(request.GET.get("volver", "")) or reverse("home"),
    }
    return render(request, "occupation/step_definir_uniones.html", context)


@can_act
def result_step(request: HttpRequest, request_id: uuid.UUID) -> HttpResponse:
    """The outcome of a submitted action, again (refresh-safe)."""
    # A tablet sees its own results, not another station's.
    stored = get_object_or_404(ActionRequest, pk=request_id, account=request.user.get_username())
    return render(
        request,
        "occupation/step_resultado.html",
        {"outcome": ActionOutcome.from_request(stored), "countdown": RESULT_COUNTDOWN},
    )


@require_POST
@can_act
def acciones(request: HttpRequest) -> HttpResponse:
    """POST /acciones/: perform an action; the status code tells the outcome."""
    form = ActionForm(request.POST)
    context = {"countdown": RESULT_COUNTDOWN if request.htmx else None}
    if request.content_type == "application/x-www-form-urlencoded" and not is_utf8_form(
        request.body
    ):
        context["error"] = "Los datos enviados no son texto válido (UTF-8). No se registró nada."
        return render(request, "occupation/_resultado.html", context, status=400)
    if not form.is_valid():
        context["error"] = form.first_error()
        return render(request, "occupation/_resultado.html", context, status=400)
    command = form.command(account=request.user.get_username())
    try:
        outcome = perform_action(command)
    except ActionError as exc:
        context["error"] = exc.message
        return render(request, "occupation/_resultado.html", context, status=exc.status)
    context["outcome"] = outcome
    response = render(request, "occupation/_resultado.html", context, status=outcome.status)
    if request.htmx and outcome.stored:
        # The result step has its own URL: a refresh shows the same outcome again.
        push_url(response, reverse("tablet-resultado", args=[command.request_id]))
    return response
