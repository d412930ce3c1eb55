"""Results, publication, exports and appeals (included at the root of the site)."""

from django.urls import path

from scoring import results_views as views

urlpatterns = [
    # Public
    path("results/posts/<int:post_id>/", views.public_post, name="results_post"),
    path("results/posts/<int:post_id>/v<int:version>/", views.public_post_version, name="results_post_version"),
    # Candidates
    path("me/results/", views.my_results, name="my_results"),
    path("me/results/<uuid:public_id>/appeal/", views.appeal_file, name="appeal_file"),
    # HR, chair and supervisors
    path("hr/campaigns/<int:campaign_id>/results/", views.review, name="results_review"),
    path("hr/campaigns/<int:campaign_id>/results/prepare/", views.prepare, name="results_prepare"),
    path("hr/results/<int:result_set_id>/approve/", views.approve, name="results_approve"),
    path("hr/results/<int:result_set_id>/publish/", views.publish, name="results_publish"),
    path("hr/results/<int:result_set_id>/posts/<int:post_id>/tie/", views.tie_decide, name="results_tie_decide"),
    path("hr/results/<int:result_set_id>/posts/<int:post_id>/ranked.pdf", views.export_pdf, name="results_export_pdf"),
    path(
        "hr/results/<int:result_set_id>/posts/<int:post_id>/ranked.xlsx", views.export_xlsx, name="results_export_xlsx"
    ),
    path("hr/results/<int:result_set_id>/posts/<int:post_id>/ranked.csv", views.export_csv, name="results_export_csv"),
    path(
        "hr/results/<int:result_set_id>/posts/<int:post_id>/certificates.zip",
        views.export_certificates,
        name="results_export_certificates",
    ),
    # Appeals
    path("hr/campaigns/<int:campaign_id>/appeals/", views.appeal_list, name="appeal_list"),
    path("hr/appeals/<uuid:public_id>/assign/", views.appeal_assign, name="appeal_assign"),
    path("hr/appeals/<uuid:public_id>/decide/", views.appeal_decide, name="appeal_decide"),
    path("hr/appeals/<uuid:public_id>/approve/", views.appeal_approve, name="appeal_approve"),
    # Re-markers (blind: by script code)
    path("examiner/remarks/", views.remark_list, name="remark_list"),
    path("examiner/remarks/<str:key>/", views.remark_enter, name="remark_enter"),
    path("examiner/remarks/<str:key>/declare/", views.remark_declare, name="remark_declare"),
    path("examiner/remarks/<str:key>/script/", views.remark_script, name="remark_script"),
]
