from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from spools.health import health
from spools.models import Spool
from spools.selectors import spool_page


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report, ok = health()
    return JsonResponse(
        report, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False}
    )


@permission_required("spools.view_spool", raise_exception=True)
def spool_detail(request: HttpRequest, tag: str) -> HttpResponse:
    """/spools/<TAG>/: where the spool stands now and its history."""
    spool = Spool.objects.filter(tag=tag).first()
    if spool is None:
        raise Http404(f"No existe el spool {tag}.")
    return render(request, "spools/spool_detail.html", spool_page(spool))
