from django.urls import path
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from django_app import views

urlpatterns = [
    path("api/v1/auth/token/", TokenObtainPairView.as_view()),
    path("api/v1/auth/token/refresh/", TokenRefreshView.as_view()),
    path("api/v1/backup/system/system_status/", views.system_status),
    path("__counters", views.get_counters),
    path("__reset", views.reset),
    path("__revoke", views.revoke),
    path("__control", views.control),
]
