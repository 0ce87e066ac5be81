from django.urls import path

from spools import views

urlpatterns = [
    path("registro/<int:worker_id>/", views.registro, name="registro"),
    # Before the spool page: a TAG may hold "/", so <path:tag>/ would swallow "uniones/".
    path("spools/<path:tag>/uniones/", views.spool_unions, name="spool-uniones"),
    path("spools/<path:tag>/", views.spool_detail, name="spool-detail"),
]
