from django.urls import path

from occupation import views

urlpatterns = [
    path("acciones/", views.acciones, name="acciones"),
]
