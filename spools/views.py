from datetime import date

from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from spools.forms import UnionForm
from spools.health import health
from spools.labels import (
    FORMATOS,
    LabelBatchForm,
    known_orders,
    label_batch,
    label_for,
    label_sheets,
)
from spools.models import Spool, Worker
from spools.notes import NOTE_MAX_CHARS, NoteForm, add_note, can_add_notes, notes_of
from spools.rules import ActionError
from spools.selectors import spool_page, union_list, worker_registro
from spools.unions import define_unions

can_view = permission_required("spools.view_spool", raise_exception=True)


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report, ok = health()
    return JsonResponse(
        report, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False}
    )


@can_view
def spool_detail(request: HttpRequest, tag: str) -> HttpResponse:
    """/spools/<TAG>/: where the spool stands now, its unions and its history."""
    spool = Spool.objects.filter(tag=tag).first()
    if spool is None:
        raise Http404(f"No existe el spool {tag}.")
    context = {
        **spool_page(spool),
        **_notes_context(request, spool),
        "can_define_unions": can_define_unions(request, spool),
    }
    return render(request, "spools/spool_detail.html", context)


def can_define_unions(request: HttpRequest, spool: Spool) -> bool:
    """Whether this account may change the spool's unions here (also the tablet's page)."""
    # A spool gone from the sheet has no row to write its unions to.
    return request.user.has_perm("spools.change_union") and spool.sheet_row is not None


@require_POST
@permission_required("spools.change_union", raise_exception=True)
def spool_unions(request: HttpRequest, tag: str) -> HttpResponse:
    """POST /spools/<TAG>/uniones/: add, change or delete a union; answers with the list."""
    spool = Spool.objects.filter(tag=tag).first()
    if spool is None:
        raise Http404(f"No existe el spool {tag}.")
    form = UnionForm(request.POST)
    if not form.is_valid():
        return _union_list(request, spool, form.first_error(), 400)
    try:
        spool = define_unions(spool.tag, form.edit(), account=request.user.get_username())
    except ActionError as exc:
        # The list again with the reason (a union deleted meanwhile on another tablet: 404).
        return _union_list(request, spool, exc.message, exc.status)
    return _union_list(request, spool)


def _union_list(
    request: HttpRequest, spool: Spool, error: str = "", status: int = 200
) -> HttpResponse:
    context = {
        **union_list(spool),
        "can_define_unions": can_define_unions(request, spool),
        "error": error,
    }
    return render(request, "spools/_unions.html", context, status=status)


@require_POST
@permission_required("spools.perform_actions", raise_exception=True)
def spool_notes(request: HttpRequest, tag: str) -> HttpResponse:
    """POST /spools/<TAG>/notas/: add a note (`texto`, optional `worker`); answers with the
    spool's notes fragment (400 with the reason and the text kept, 404 unknown worker)."""
    spool = Spool.objects.filter(tag=tag).first()
    if spool is None:
        raise Http404(f"No existe el spool {tag}.")
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _notes(request, spool, form, form.first_error(), 400)
    worker_id = form.cleaned_data["worker"]
    try:
        add_note(
            spool.tag,
            form.cleaned_data["texto"],
            worker_id=worker_id,
            account=request.user.get_username(),
        )
    except ActionError as exc:
        return _notes(request, spool, form, exc.message, exc.status)
    return _notes(request, spool, NoteForm(initial={"worker": worker_id}))


def _notes_context(
    request: HttpRequest, spool: Spool, form: NoteForm | None = None, error: str = ""
) -> dict:
    """The notes fragment's context: the notes, and the form (what was typed, kept after
    an error; the tablet's worker, kept for the next note)."""
    data = form.data if form is not None and form.is_bound else {}
    initial = form.initial if form is not None else {}
    return {
        "spool": spool,
        "notes": notes_of(spool),
        "can_add_notes": can_add_notes(request.user, spool),
        "note_texto": data.get("texto", ""),
        "note_worker": data.get("worker", initial.get("worker")) or "",
        "note_error": error,
        "note_max": NOTE_MAX_CHARS,
    }


def _notes(
    request: HttpRequest, spool: Spool, form: NoteForm, error: str = "", status: int = 200
) -> HttpResponse:
    context = _notes_context(request, spool, form, error)
    return render(request, "spools/_notas.html", context, status=status)


@can_view
def registro(request: HttpRequest, worker_id: int) -> HttpResponse:
    """/registro/<worker_id>/?fecha=YYYY-MM-DD: Mi registro, a worker's unions of a day."""
    worker = Worker.objects.filter(pk=worker_id).first()
    if worker is None:
        raise Http404(f"No existe el trabajador {worker_id}.")
    fecha = request.GET.get("fecha", "")
    try:
        day = date.fromisoformat(fecha) if fecha else timezone.localdate()
        if not 2000 <= day.year <= 2999:  # a typo, not a plant day
            raise ValueError(fecha)
    except ValueError:
        message = f"Fecha no válida: «{fecha[:20]}» (se espera AAAA-MM-DD)."
        return render(request, "400.html", {"exception": message}, status=400)
    # Where "Volver" leads (the tablet's worker step); only a path on this site.
    volver = request.GET.get("volver", "")
    if not (volver.startswith("/") and url_has_allowed_host_and_scheme(volver, None)):
        volver = ""
    context = {"registro": worker_registro(worker, day), "volver": volver}
    return render(request, "spools/registro.html", context)


@can_view
def spool_label(request: HttpRequest, tag: str) -> HttpResponse:
    """/spools/<TAG>/etiqueta/?formato=etiqueta|a4: the spool's printable label (QR of the TAG)."""
    spool = Spool.objects.filter(tag=tag).first()
    if spool is None:
        raise Http404(f"No existe el spool {tag}.")
    formato = request.GET.get("formato", "")
    formato = formato if formato in FORMATOS else "etiqueta"
    context = {
        "spool": spool,
        "sheets": label_sheets([label_for(spool)], formato),
        "formato": formato,
        "formatos": FORMATOS,
    }
    return render(request, "spools/etiqueta.html", context)


@can_view
def spool_labels(request: HttpRequest) -> HttpResponse:
    """/etiquetas/?ot=…&nv=…&formato=a4|etiqueta: every label of an OT or NV, to print."""
    form = LabelBatchForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "batch": None, "orders": known_orders(), "formatos": FORMATOS}
        return render(request, "spools/etiquetas.html", context, status=400)
    data = form.cleaned_data
    batch = label_batch(data["ot"], data["nv"])
    context = {
        "form": form,
        "batch": batch,
        "sheets": label_sheets(batch.labels, data["formato"]),
        "orders": known_orders(),
        "formato": data["formato"],
        "formatos": FORMATOS,
    }
    return render(request, "spools/etiquetas.html", context)
