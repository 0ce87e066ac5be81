from django.urls import path

from occupation import views

steps = "t/<str:op>/<int:worker_id>/<str:accion>/"

urlpatterns = [
    path("", views.operation_step, name="home"),
    path("acciones/", views.acciones, name="acciones"),
    # Before the steps: a TAG may hold "/" (and "t/<op>/<int>/" must not take a numeric TAG).
    path("t/uniones/<path:tag>/", views.define_unions_step, name="tablet-definir-uniones"),
    path("t/resultado/<uuid:request_id>/", views.result_step, name="tablet-resultado"),
    path("t/<str:op>/", views.worker_step, name="tablet-trabajador"),
    path("t/<str:op>/credencial/", views.badge_scan, name="tablet-credencial"),
    path("t/<str:op>/<int:worker_id>/pin/", views.pin_step, name="tablet-pin"),
    path("t/<str:op>/<int:worker_id>/", views.action_step, name="tablet-accion"),
    path(steps, views.spools_step, name="tablet-spools"),
    path(steps + "lista/", views.spool_list_fragment, name="tablet-lista"),
    path(steps + "escaneo/", views.scan, name="tablet-escaneo"),
    path(steps + "confirmar/", views.confirm_step, name="tablet-confirmar"),
    path(steps + "uniones/", views.union_step, name="tablet-uniones"),
]
