from django.urls import path

from occupation import tablet, views

steps = "t/<str:op>/<int:worker_id>/<str:accion>/"

urlpatterns = [
    path("", tablet.operation_step, name="home"),
    path("acciones/", views.acciones, name="acciones"),
    path("t/resultado/<uuid:request_id>/", tablet.result_step, name="tablet-resultado"),
    path("t/<str:op>/", tablet.worker_step, name="tablet-trabajador"),
    path("t/<str:op>/<int:worker_id>/", tablet.action_step, name="tablet-accion"),
    path(steps, tablet.spools_step, name="tablet-spools"),
    path(steps + "lista/", tablet.spool_list_fragment, name="tablet-lista"),
    path(steps + "escaneo/", tablet.scan, name="tablet-escaneo"),
    path(steps + "confirmar/", tablet.confirm_step, name="tablet-confirmar"),
]
