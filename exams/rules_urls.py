"""Exam rules, council and panels, declarations: included at the root, before exams.urls."""

from django.urls import path

from exams import rules_views as views

urlpatterns = [
    # HR: the rules editor, the council and the panels
    path("hr/campaigns/<int:campaign_id>/rules/", views.hr_rules, name="hr_rules"),
    path("hr/campaigns/<int:campaign_id>/rules/draft/", views.hr_rules_start, name="hr_rules_start"),
    path("hr/campaigns/<int:campaign_id>/council/", views.hr_council, name="hr_council"),
    path("hr/campaigns/<int:campaign_id>/council/remove/", views.hr_council_remove, name="hr_council_remove"),
    path("hr/campaigns/<int:campaign_id>/panels/new/", views.hr_panel_create, name="hr_panel_create"),
    path("hr/panels/<int:panel_id>/", views.hr_panel_detail, name="hr_panel_detail"),
    path("hr/panels/<int:panel_id>/members/", views.hr_panel_add_member, name="hr_panel_add_member"),
    path("hr/panels/<int:panel_id>/members/remove/", views.hr_panel_remove_member, name="hr_panel_remove_member"),
    path("hr/panels/<int:panel_id>/candidates/", views.hr_panel_assign, name="hr_panel_assign"),
    path("hr/panels/<int:panel_id>/candidates/remove/", views.hr_panel_unassign, name="hr_panel_unassign"),
    # The council chair: approval
    path("chair/rules/", views.chair_rules_list, name="chair_rules_list"),
    path("chair/rules/<int:rules_id>/", views.chair_rules_detail, name="chair_rules_detail"),
    path("chair/rules/<int:rules_id>/approve/", views.chair_rules_approve, name="chair_rules_approve"),
    # Supervisors: read-only
    path("supervisor/campaigns/<int:campaign_id>/council/", views.supervisor_council, name="supervisor_council"),
    path(
        "supervisor/campaigns/<int:campaign_id>/declarations/",
        views.supervisor_declarations,
        name="supervisor_declarations",
    ),
    path("supervisor/panels/<int:panel_id>/", views.supervisor_panel, name="supervisor_panel"),
    # Everyone: the approved versions
    path("campaigns/<int:campaign_id>/rules/", views.campaign_rules, name="campaign_rules"),
]
