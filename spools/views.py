from django.http import HttpRequest, HttpResponse, JsonResponse
from django.contrib.auth.decorators import login_not_required


@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def home(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ZEUES")


def spool_detail(request: HttpRequest, tag: str) -> HttpResponse:
    return HttpResponse(tag)
