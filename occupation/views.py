"""The tablet: the worker flow's steps (operación → trabajador → acción → spools →
confirmación → resultado) and `POST /acciones/`.

Every step has its own GET URL (deep links and refresh work); choices with a single option
are skipped by linking past them, never by redirecting (no loops, and the browser's back
button keeps working). The one redirect: a confirmation of a single spool with unions ending
an ARM / SOLD session is that spool's union step (the spools chosen are known only once
the list is sent), where the worker ticks the unions finished and confirms.
"""

from __future__ import annotations

import uuid
from urllib.parse import unquote, urlencode, urlsplit

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from occupation import selectors
from occupation.forms import ActionForm, is_utf8_form
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


def spools_url(operacion: str, worker_id: int, accion: str) -> str:
    return reverse("tablet-spools", args=[operacion, worker_id, accion])


def union_url(operacion: str, worker_id: int, accion: str, tag: str) -> str:
    url = reverse("tablet-uniones", args=[operacion, worker_id, accion])
    return f"{url}?{urlencode({'tags': tag})}"


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


def after_worker_url(operacion: Operacion, worker_id: int, occupied: dict[int, int]) -> str:
    """Where choosing this worker leads, skipping a step with a single option."""
    if operacion == Operacion.METROLOGIA:
        return spools_url(operacion, worker_id, Accion.COMPLETAR)  # an instant inspection
    if not occupied.get(worker_id):
        return spools_url(operacion, worker_id, Accion.TOMAR)  # holding nothing: only TOMAR
    return reverse("tablet-accion", args=[operacion, worker_id])


@can_act
def operation_step(request: HttpRequest) -> HttpResponse:
    operaciones = []
    for operacion in Operacion:
        url = reverse("tablet-trabajador", args=[operacion])
        only = list(selectors.workers_for(operacion).values_list("id", flat=True)[:2])
        if len(only) == 1:  # a single worker may do it (a lone metrólogo): skip the choice
            url = after_worker_url(operacion, only[0], selectors.occupied_counts(operacion))
        operaciones.append({"operacion": operacion, "url": url})
    return render(request, "occupation/step_operacion.html", {"operaciones": operaciones})


@can_act
def worker_step(request: HttpRequest, op: str) -> HttpResponse:
    operacion = _operacion(op)
    occupied = selectors.occupied_counts(operacion)
    workers = [
        {
            "worker": worker,
            "url": after_worker_url(operacion, worker.id, occupied),
            "occupied": occupied.get(worker.id, 0),
        }
        for worker in selectors.workers_for(operacion)
    ]
    return render(
        request,
        "occupation/step_trabajador.html",
        {"operacion": operacion, "workers": workers},
    )


@can_act
def action_step(request: HttpRequest, op: str, worker_id: int) -> HttpResponse:
    operacion = _operacion(op)
    if operacion == Operacion.METROLOGIA:
        raise Http404("METROLOGÍA no tiene paso de acción.")
    worker = _worker(operacion, worker_id)
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
                "url": spools_url(operacion, worker.id, accion),
                "help": help_text,
                "count": None if accion == Accion.TOMAR else held,
            }
        )
    return render(
        request,
        "occupation/step_accion.html",
        {"operacion": operacion, "worker": worker, "acciones": acciones},
    )


def _list_context(request: HttpRequest, op: str, worker_id: int, accion: str) -> dict:
    operacion = _operacion(op)
    accion_value = _accion(operacion, accion)
    worker = _worker(operacion, worker_id)
    query = request.GET.get("q", "")[:100]
    here = spools_url(operacion, worker.id, accion_value)
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
        "volver": f"{here}?{urlencode({'q': query})}" if query else here,
    }


@can_act
def spools_step(request: HttpRequest, op: str, worker_id: int, accion: str) -> HttpResponse:
    return render(
        request, "occupation/step_spools.html", _list_context(request, op, worker_id, accion)
    )


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
        return redirect(union_url(operacion, worker.id, accion_value, tags[0]))
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
                {"spool": s, "url": union_url(operacion, worker.id, accion_value, s.tag)}
                for s in one_by_one
            ],
            "gone": [t for t in tags[:MAX_SPOOLS] if t not in eligible],
            **_reasons(operacion, accion_value, sent),
            "request_id": uuid.uuid4(),
            "back_url": spools_url(operacion, worker.id, accion_value),
            "max_spools": MAX_SPOOLS,
            "can_define_unions": selectors.offers_union_definition(
                request.user, operacion, accion_value
            ),
            "volver": request.get_full_path(),  # back to this very confirmation
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
            "back_url": spools_url(operacion, worker.id, accion_value),
            "confirm_url": reverse("tablet-confirmar", args=[operacion, worker.id, accion_value]),
            "terminar_url": union_url(operacion, worker.id, Accion.FINALIZAR, tag),
            "motivos_pausa": selectors.pause_reasons(accion_value),
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
    if request.htmx and command.request_id and outcome.status != 503:
        # The result step has its own URL: a refresh shows the same outcome again.
        push_url(response, reverse("tablet-resultado", args=[command.request_id]))
    return response
