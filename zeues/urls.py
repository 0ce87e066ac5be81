"""URL root: wires the apps' URLs; holds no logic."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import TemplateView

from spools import views as spool_views

urlpatterns = [
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", spool_views.healthz, name="healthz"),
    # The tablet's service worker (templates/sw.js), registered by static/js/offline.js.
    path(
        "sw.js",
        TemplateView.as_view(template_name="sw.js", content_type="application/javascript"),
        name="service-worker",
    ),
    path("admin/", admin.site.urls),
    path("", include("occupation.urls")),
    path("", include("dashboard.urls")),
    path("", include("supervision.urls")),
    path("", include("spools.urls")),
]

# Django's own 404 page would show its English text ("No Worker matches the given query.").
handler404 = "spools.middleware.page_not_found"
