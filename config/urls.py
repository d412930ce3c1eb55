from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from accounts import views as account_views
from config.health import healthz

# The admin's own login would skip MFA: send it through allauth instead.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "Hiền Tài"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("me/", account_views.candidate_home, name="candidate_home"),
    path("hr/", account_views.hr_home, name="hr_home"),
    path("hr/staff/", account_views.staff_list, name="staff_list"),
    path("chair/", account_views.chair_home, name="chair_home"),
    path("examiner/", account_views.examiner_home, name="examiner_home"),
    path("supervisor/", account_views.supervisor_home, name="supervisor_home"),
    path("admin/", admin.site.urls),
    path("supervisor/audit/", include("audit.urls")),
    path("", include("exams.rules_urls")),
    path("", include("exams.exam_day_urls")),
    path("", include("scoring.urls")),
    path("", include("scoring.fairness_urls")),
    path("", include("scoring.results_urls")),
    path("", include("scoring.certificate_urls")),
    path("", include("exams.urls")),
    path("", include("candidates.urls")),
    path("hr/", include("candidates.screening_urls")),
]
