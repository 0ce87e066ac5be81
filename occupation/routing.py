from django.urls import path

from occupation.consumers import SpoolListConsumer

websocket_urlpatterns = [
    path(
        "ws/lista/<str:op>/<int:worker_id>/<str:accion>/",
        SpoolListConsumer.as_asgi(),
    ),
]
