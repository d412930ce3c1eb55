"""Exam-day URLs, included at the root: hr/exam-day/ (HR, the chair for renumbering), me/exam/ (candidates),
room/ (room staff and supervisors), exam-rooms/ (public)."""

from django.urls import path

from exams import exam_day_views as views

urlpatterns = [
    # HR: schedule, numbers, lists
    path("hr/exam-day/", views.hr_index, name="exam_day_index"),
    path("hr/exam-day/<int:campaign_id>/", views.hr_campaign, name="exam_day_campaign"),
    path("hr/exam-day/<int:campaign_id>/venues/", views.hr_venue_create, name="exam_day_venue_create"),
    path("hr/exam-day/<int:campaign_id>/rooms/", views.hr_room_create, name="exam_day_room_create"),
    path("hr/exam-day/<int:campaign_id>/sessions/new/", views.hr_session_create, name="exam_day_session_create"),
    path("hr/exam-day/sessions/<int:session_id>/", views.hr_session_edit, name="exam_day_session"),
    path("hr/exam-day/session-rooms/<int:pk>/staff/", views.hr_room_staff, name="exam_day_room_staff"),
    path("hr/exam-day/session-rooms/<int:pk>/<slug:kind>.<slug:fmt>", views.hr_room_sheet, name="exam_day_room_sheet"),
    path("hr/exam-day/<int:campaign_id>/numbers/", views.hr_numbers, name="exam_day_numbers"),
    path("hr/exam-day/<int:campaign_id>/numbers/assign/", views.hr_assign_numbers, name="exam_day_assign_numbers"),
    path("hr/exam-day/<int:campaign_id>/numbers/publish/", views.hr_publish_numbers, name="exam_day_publish_numbers"),
    path("hr/exam-day/<int:campaign_id>/renumber/", views.hr_renumber_request, name="exam_day_renumber_request"),
    path("hr/exam-day/renumber-requests/", views.renumber_requests, name="exam_day_renumber_requests"),
    path("hr/exam-day/renumber-requests/<int:pk>/approve/", views.renumber_approve, name="exam_day_renumber_approve"),
    # Candidates
    path("me/exam/", views.candidate_exam, name="candidate_exam"),
    path("me/exam/<uuid:public_id>/notice.pdf", views.admission_notice_download, name="admission_notice_download"),
    # Room staff and supervisors
    path("room/", views.staff_rooms, name="staff_rooms"),
    path("room/<int:pk>/", views.room_attendance, name="room_attendance"),
    path("room/<int:pk>/seats/<int:seat_id>/", views.room_attendance_record, name="room_attendance_record"),
    path("room/<int:pk>/incidents/", views.room_incident_record, name="room_incident_record"),
    path("room/supervision/", views.supervision_sessions, name="supervision_sessions"),
    path("room/supervision/<int:session_id>/", views.supervision_session, name="supervision_session"),
    # Public
    path("exam-rooms/", views.exam_room_lookup, name="exam_room_lookup"),
]
