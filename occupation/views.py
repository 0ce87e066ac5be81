from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from occupation.forms import ActionForm
from occupation.services import perform_action
from spools.rules import ActionError


@require_POST
@permission_required("spools.perform_actions", raise_exception=True)
def acciones(request: HttpRequest) -> HttpResponse:
    """POST /acciones/: perform an action; the status code tells the outcome."""
    form = ActionForm(request.POST)
    if not form.is_valid():
        return render(
            request, "occupation/_resultado.html", {"error": form.first_error()}, status=400
        )
    try:
        outcome = perform_action(form.command(account=request.user.get_username()))
    except ActionError as exc:
        return render(
            request, "occupation/_resultado.html", {"error": exc.message}, status=exc.status
        )
    return render(
        request, "occupation/_resultado.html", {"outcome": outcome}, status=outcome.status
    )
