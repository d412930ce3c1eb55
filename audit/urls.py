from django.urls import path

from audit import views

urlpatterns = [
    path("", views.audit_log, name="audit_log"),
    path("verify/", views.audit_verify, name="audit_verify"),
    path("export.csv", views.audit_export_csv, name="audit_export_csv"),
    path("export.xlsx", views.audit_export_xlsx, name="audit_export_xlsx"),
]
