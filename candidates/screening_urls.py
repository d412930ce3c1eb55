"""HR screening, included under the prefix hr/."""

from django.urls import path

from candidates import screening_views as views

urlpatterns = [
    path("posts/<int:post_id>/screening/", views.screening_queue, name="screening_queue"),
    path("posts/<int:post_id>/publish-eligible/", views.screening_publish, name="screening_publish"),
    path("posts/<int:post_id>/applications.xlsx", views.screening_export, name="screening_export"),
    path("applications/<uuid:public_id>/", views.screening_detail, name="screening_detail"),
    path(
        "applications/<uuid:public_id>/criteria/<int:check_id>/",
        views.screening_review_criterion,
        name="screening_review_criterion",
    ),
    path("applications/<uuid:public_id>/decision/", views.screening_decide, name="screening_decide"),
]
