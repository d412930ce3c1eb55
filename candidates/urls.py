from django.urls import path

from candidates import views

urlpatterns = [
    path("me/profile/", views.profile_edit, name="profile_edit"),
    path("posts/<int:post_id>/apply/", views.application_start, name="application_start"),
    path("me/applications/<uuid:public_id>/", views.application_detail, name="application_detail"),
    path("me/applications/<uuid:public_id>/documents/", views.document_upload, name="document_upload"),
    path("me/applications/<uuid:public_id>/submit/", views.application_submit, name="application_submit"),
    path("me/applications/<uuid:public_id>/withdraw/", views.application_withdraw, name="application_withdraw"),
    path("documents/<uuid:public_id>/", views.document_download, name="document_download"),
    path("documents/<uuid:public_id>/delete/", views.document_delete, name="document_delete"),
]
