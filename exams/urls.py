from django.urls import path

from exams import views

urlpatterns = [
    path("hr/campaigns/", views.hr_campaign_list, name="hr_campaign_list"),
    path("hr/campaigns/new/", views.hr_campaign_create, name="hr_campaign_create"),
    path("hr/campaigns/<int:campaign_id>/", views.hr_campaign_detail, name="hr_campaign_detail"),
    path("hr/campaigns/<int:campaign_id>/announce/", views.hr_campaign_announce, name="hr_campaign_announce"),
    path("hr/campaigns/<int:campaign_id>/posts/new/", views.hr_post_create, name="hr_post_create"),
    path("hr/posts/<int:post_id>/edit/", views.hr_post_edit, name="hr_post_edit"),
    path("campaigns/", views.campaign_list, name="campaign_list"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="campaign_detail"),
    path("posts/<int:post_id>/", views.post_detail, name="post_detail"),
    path("posts/<int:post_id>/eligible/", views.eligible_list, name="eligible_list"),
]
