from django.urls import path

from spools import views

urlpatterns = [
    path("", views.home, name="home"),
    path("spools/<str:tag>/", views.spool_detail, name="spool-detail"),
]
