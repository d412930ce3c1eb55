"""Marking: examiners under examiner/, the chair under chair/, HR under hr/campaigns/<id>/marking/."""

from django.urls import path

from scoring import views

urlpatterns = [
    # Examiners
    path("examiner/campaigns/", views.workspace, name="marking_workspace"),
    path("examiner/campaigns/<int:campaign_id>/declarations/", views.declarations, name="marking_declarations"),
    path(
        "examiner/campaigns/<int:campaign_id>/declarations/<uuid:application_id>/",
        views.declare,
        name="marking_declare",
    ),
    path("examiner/campaigns/<int:campaign_id>/parts/<slug:part_code>/", views.part_page, name="marking_part"),
    path(
        "examiner/campaigns/<int:campaign_id>/parts/<slug:part_code>/marks/<slug:key>/",
        views.save_mark,
        name="marking_save",
    ),
    path(
        "examiner/campaigns/<int:campaign_id>/parts/<slug:part_code>/submit-drafts/",
        views.submit_drafts,
        name="marking_submit_drafts",
    ),
    path(
        "examiner/campaigns/<int:campaign_id>/parts/<slug:part_code>/marks.csv",
        views.export_marks,
        name="marking_export",
    ),
    # The council chair
    path("chair/disagreements/", views.disagreements, name="chair_disagreements"),
    path("chair/disagreements/<int:resolution_id>/decide/", views.decide, name="chair_decide"),
    path("chair/reopen/", views.reopen_requests, name="chair_reopen"),
    path("chair/reopen/<int:request_id>/approve/", views.approve_reopen, name="chair_reopen_approve"),
    path("chair/reveals/", views.reveals, name="chair_reveals"),
    path("chair/reveals/<int:reveal_id>/approve/", views.approve_reveal, name="chair_reveal_approve"),
    # HR
    path("hr/campaigns/<int:campaign_id>/marking/", views.hr_marking, name="hr_marking"),
    path(
        "hr/campaigns/<int:campaign_id>/marking/<slug:part_code>/scripts/",
        views.hr_create_scripts,
        name="hr_marking_scripts",
    ),
    path(
        "hr/campaigns/<int:campaign_id>/marking/<slug:part_code>/draw-markers/",
        views.hr_draw_markers,
        name="hr_marking_draw_markers",
    ),
    path(
        "hr/campaigns/<int:campaign_id>/marking/panels/<int:panel_id>/draw-order/",
        views.hr_draw_order,
        name="hr_marking_draw_order",
    ),
    path(
        "hr/campaigns/<int:campaign_id>/marking/<slug:part_code>/reopen/",
        views.hr_request_reopen,
        name="hr_marking_reopen",
    ),
    path(
        "hr/campaigns/<int:campaign_id>/marking/<slug:part_code>/reveal/",
        views.hr_request_reveal,
        name="hr_marking_reveal",
    ),
    path(
        "hr/campaigns/<int:campaign_id>/marking/<slug:part_code>/template.xlsx",
        views.hr_import_template,
        name="hr_marking_template",
    ),
    path(
        "hr/campaigns/<int:campaign_id>/marking/<slug:part_code>/import/",
        views.hr_import_marks,
        name="hr_marking_import",
    ),
]
