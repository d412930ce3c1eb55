from django.urls import path

from scoring import certificate_views as views

urlpatterns = [
    path("verify/", views.certificate_verify_form, name="certificate_verify_form"),
    path("verify/<str:token>/", views.certificate_verify, name="certificate_verify"),
    path("certificates/<str:serial>/download/", views.certificate_download, name="certificate_download"),
    path("hr/certificates/issue/<int:result_set_id>/", views.certificate_issue, name="certificate_issue"),
    path("hr/certificates/batches/<int:batch_id>/", views.certificate_batch, name="certificate_batch"),
    path(
        "hr/certificates/batches/<int:batch_id>/resume/",
        views.certificate_batch_resume,
        name="certificate_batch_resume",
    ),
]
