from django.urls import path

from spools import views

urlpatterns = [
    path("registro/<int:worker_id>/", views.registro, name="registro"),
    # Before the spool page: a TAG may hold "/", so <path:tag>/ would swallow these.
    path("spools/<path:tag>/uniones/", views.spool_unions, name="spool-uniones"),
    path("spools/<path:tag>/etiqueta/", views.spool_label, name="spool-etiqueta"),
    path("spools/<path:tag>/notas/", views.spool_notes, name="spool-notas"),
    path("spools/<path:tag>/", views.spool_detail, name="spool-detail"),
    path("etiquetas/", views.spool_labels, name="etiquetas"),
]
