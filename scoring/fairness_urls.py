"""The fairness report (normalisation runs), for HR, the council chair and the supervisors."""

from django.urls import path

from scoring import fairness_views as views

urlpatterns = [
    path("campaigns/<int:campaign_id>/fairness/", views.fairness_runs, name="fairness_runs"),
    path("campaigns/<int:campaign_id>/fairness/start/", views.fairness_start, name="fairness_start"),
    path("campaigns/<int:campaign_id>/fairness/runs/<int:run_id>/", views.fairness_run, name="fairness_run"),
    path(
        "campaigns/<int:campaign_id>/fairness/runs/<int:run_id>/status/",
        views.fairness_run_status,
        name="fairness_run_status",
    ),
]
