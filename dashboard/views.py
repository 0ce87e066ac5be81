from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.selectors import dashboard_context


@permission_required("spools.view_dashboard", raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    """The wall TV: live over a WebSocket, nothing to touch."""
    return render(request, "dashboard/dashboard.html", dashboard_context())
