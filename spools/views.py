from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from spools.health import health
from spools.lifecycle import Operacion
from spools.models import Spool


@login_not_required
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    report, ok = health()
    return JsonResponse(
        report, status=200 if ok else 503, json_dumps_params={"ensure_ascii": False}
    )


def home(request: HttpRequest) -> HttpResponse:
    """Tablet start: the operation choice."""
    return render(request, "spools/home.html", {"operaciones": Operacion})


def spool_detail(request: HttpRequest, tag: str) -> HttpResponse:
    try:
        spool = Spool.objects.get(tag=tag)
    except Spool.DoesNotExist:
        raise Http404(f"No existe el spool {tag}.") from None
    return render(request, "spools/spool_detail.html", {"spool": spool})
