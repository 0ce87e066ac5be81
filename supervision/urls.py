from django.urls import path

from supervision import views

urlpatterns = [
    path("supervision/", views.index, name="supervision"),
    path("supervision/<str:page>/", views.page, name="supervision-page"),
]
