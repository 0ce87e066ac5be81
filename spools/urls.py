from django.urls import path

from spools import views

urlpatterns = [
    path("spools/<path:tag>/", views.spool_detail, name="spool-detail"),
]
