"""/supervision/: the index and the four report pages, as HTML, CSV or XLSX."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from supervision.filters import FilterForm, Filters, worker_choices
from supervision.pages import PAGES, build_report
from supervision.tables import to_csv, to_xlsx

PERMISSION = "spools.view_supervision"
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _pages() -> list[tuple[str, str, str]]:
    return [(key, title, about) for key, (title, about, _) in PAGES.items()]


@permission_required(PERMISSION, raise_exception=True)
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "supervision/index.html", {"pages": _pages()})


@permission_required(PERMISSION, raise_exception=True)
def page(request: HttpRequest, page: str) -> HttpResponse:
    """A report page; `formato=csv|xlsx` downloads exactly its tables. A bad filter is a
    400 that shows the form again with the reason, in Spanish."""
    if page not in PAGES:
        raise Http404("Esa página de supervisión no existe.")
    form = FilterForm(request.GET)
    formato = request.GET.get("formato", "")
    context = {
        "page": page,
        "title": PAGES[page][0],
        "pages": _pages(),
        "form": form,
        "workers": worker_choices(),
    }
    if formato and formato not in FORMATS:
        context["error"] = "Formato desconocido: use csv o xlsx."
        return render(request, "supervision/page.html", context, status=400)
    if not form.is_valid():
        context["error"] = f"Revise los filtros: {form.error_text()}."
        return render(request, "supervision/page.html", context, status=400)
    filters = Filters.from_form(form)
    report = build_report(page, filters)
    if formato:
        body = to_csv(report.tables) if formato == "csv" else to_xlsx(report.tables)
        name = f"zeues-{page}-{filters.desde:%Y%m%d}-{filters.hasta:%Y%m%d}.{formato}"
        return HttpResponse(
            body,
            content_type=FORMATS[formato],
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    context |= {
        "report": report,
        "filters": filters,
        "downloads": [(f, "?" + urlencode({**filters.query(), "formato": f})) for f in FORMATS],
    }
    return render(request, "supervision/page.html", context)
