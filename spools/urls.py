from django.urls import path

from spools import views

urlpatterns = [
    path("spools/<str:tag>/", views.spool_detail, name="spool-detail"),
]
