from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from occupation.forms import ActionForm, is_utf8_form
from occupation.services import perform_action
from spools.rules import ActionError

RESULT_COUNTDOWN = 8  # seconds before the tablet goes back to the start by itself


@require_POST
@permission_required("spools.perform_actions", raise_exception=True)
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
