"""Each role's pages refuse the other roles; a user with several roles sees each."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from accounts.roles import Role
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

ROLE_PAGES = {
    Role.CANDIDATE: "candidate_home",
    Role.HR: "hr_home",
    Role.CHAIR: "chair_home",
    Role.EXAMINER: "examiner_home",
    Role.SUPERVISOR: "supervisor_home",
}


@pytest.mark.parametrize("role", list(Role))
def test_role_pages_admit_only_their_role(role: Role, make_user) -> None:
    secret = None if role == Role.CANDIDATE else "JBSWY3DPEHPK3PXP"
    user = make_user(f"{role.name.lower()}@example.vn", role, mfa_secret=secret)
    client = client_for(user)
    for page_role, url_name in ROLE_PAGES.items():
        response = client.get(reverse(url_name), follow=True)
        status = response.status_code
        assert status == (200 if page_role == role else 403), (role, url_name, status)


@pytest.mark.parametrize("url_name", [*ROLE_PAGES.values(), "staff_list"])
def test_anonymous_users_are_sent_to_login(url_name: str) -> None:
    response = Client().get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_forbidden_page_explains_itself_in_vietnamese(candidate) -> None:
    response = client_for(candidate, language="vi").get(reverse("hr_home"))
    assert response.status_code == 403
    assert "Không có quyền truy cập" in response.content.decode()


def test_user_with_several_roles_sees_each_in_the_navigation(make_user) -> None:
    user = make_user("multi@example.vn", Role.CHAIR, Role.EXAMINER, mfa_secret="JBSWY3DPEHPK3PXP")
    html = client_for(user).get(reverse("home")).content.decode()
    assert reverse("chair_home") in html and reverse("examiner_home") in html
    assert reverse("hr_home") not in html


def test_hr_invites_a_staff_member_who_sets_a_password_from_the_email(hr_officer, mailoutbox) -> None:
    client = client_for(hr_officer)
    response = client.post(
        reverse("staff_list"),
        {"full_name": "Võ  Thị Ánh", "email": "Anh.Vo@Example.vn", "roles": [Role.EXAMINER.value]},
    )
    assert response.status_code == 302
    from accounts.models import User

    invited = User.objects.get(email="anh.vo@example.vn")
    assert invited.full_name == "Võ Thị Ánh" and invited.roles == {Role.EXAMINER.value}
    assert not invited.has_usable_password()
    link = [line for line in mailoutbox[-1].body.splitlines() if "/password/reset/key/" in line][0]
    path = link.split("://", 1)[1].split("/", 1)[1]
    invitee = Client()
    page = invitee.get("/" + path, follow=True)
    form_url = page.redirect_chain[-1][0]
    invitee.post(form_url, {"password1": "Examiner-Pass-99", "password2": "Examiner-Pass-99"})
    invited.refresh_from_db()
    assert invited.check_password("Examiner-Pass-99")


def test_invite_with_an_existing_email_changes_nothing(hr_officer, candidate) -> None:
    client = client_for(hr_officer)
    response = client.post(
        reverse("staff_list"), {"full_name": "X", "email": candidate.email, "roles": [Role.HR.value]}
    )
    assert response.status_code == 200
    candidate.refresh_from_db()
    assert candidate.roles == {Role.CANDIDATE.value}


@pytest.mark.parametrize("role", [Role.CHAIR, Role.SUPERVISOR, Role.HR])
def test_hr_cannot_appoint_those_who_check_its_work(hr_officer, role) -> None:
    """An HR officer who could invite a council chair could approve their own rules through a puppet."""
    from accounts.models import User
    from accounts.services import invite_staff
    from config.errors import Refused

    response = client_for(hr_officer).post(
        reverse("staff_list"),
        {"full_name": "Bù Nhìn", "email": "puppet@example.vn", "roles": [role.value]},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200 and "is not one of the available choices" in response.content.decode()
    with pytest.raises(Refused) as refused:
        invite_staff(
            invited_by=hr_officer, email="puppet@example.vn", full_name="Bù Nhìn", roles=[Group.objects.get(name=role)]
        )
    assert refused.value.code == "role_not_grantable"
    assert not User.objects.filter(email="puppet@example.vn").exists()


def test_an_administrator_appoints_a_chair_and_every_invitation_is_audited(make_user, mailoutbox) -> None:
    from accounts.models import User
    from audit.models import AuditEvent

    admin = make_user("root@example.vn", Role.HR, full_name="Quản Trị", mfa_secret="JBSWY3DPEHPK3PXP")
    admin.is_superuser = admin.is_staff = True
    admin.save()
    client_for(admin).post(
        reverse("staff_list"), {"full_name": "Chủ Tịch", "email": "chair.new@example.vn", "roles": [Role.CHAIR.value]}
    )
    chair = User.objects.get(email="chair.new@example.vn")
    assert chair.roles == {Role.CHAIR.value}
    event = AuditEvent.objects.get(action="staff.invite")
    assert event.actor == admin and event.after == {"roles": [Role.CHAIR.value]}


def test_non_hr_staff_cannot_invite(examiner) -> None:
    response = client_for(examiner).post(
        reverse("staff_list"), {"full_name": "X", "email": "x@example.vn", "roles": [Role.HR.value]}
    )
    assert response.status_code == 403
