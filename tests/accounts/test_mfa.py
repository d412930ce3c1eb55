"""MFA is mandatory for staff; the admin cannot bypass it."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from tests.conftest import PASSWORD, client_for, totp_now, totp_secret_of

pytestmark = pytest.mark.django_db


def test_staff_without_totp_is_sent_to_set_it_up_before_any_staff_page(make_user) -> None:
    officer = make_user("new.hr@example.vn", Role.HR)
    client = client_for(officer)
    for url in (reverse("hr_home"), reverse("staff_list"), reverse("home"), "/admin/"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"] == reverse("mfa_activate_totp")


def test_candidate_without_totp_is_not_forced(candidate: User) -> None:
    assert client_for(candidate).get(reverse("candidate_home")).status_code == 200


def test_staff_cannot_remove_their_authenticator(hr_officer: User) -> None:
    client = client_for(hr_officer)
    response = client.post(reverse("mfa_deactivate_totp"))
    assert Authenticator.objects.filter(user=hr_officer, type=Authenticator.Type.TOTP).exists()
    assert response.status_code in (200, 302, 403)


def test_staff_login_asks_for_a_totp_code_and_refuses_a_wrong_one(hr_officer: User) -> None:
    client = Client()
    response = client.post(reverse("account_login"), {"login": hr_officer.email, "password": PASSWORD})
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("hr_home")).status_code == 302  # still anonymous

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session

    client.post(reverse("mfa_authenticate"), {"code": totp_now(totp_secret_of(hr_officer))})
    assert client.get(reverse("hr_home")).status_code == 200


def test_totp_secret_is_not_stored_in_the_clear(hr_officer: User) -> None:
    stored = Authenticator.objects.get(user=hr_officer, type=Authenticator.Type.TOTP).data["secret"]
    assert stored != totp_secret_of(hr_officer)


def test_admin_login_goes_through_allauth(make_user) -> None:
    response = Client().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_admin_password_alone_does_not_open_the_admin(make_user) -> None:
    admin = make_user("root@example.vn", Role.HR, mfa_secret="JBSWY3DPEHPK3PXP")
    admin.is_staff = admin.is_superuser = True
    admin.save()
    client = Client()
    client.post(reverse("account_login"), {"login": admin.email, "password": PASSWORD})
    assert client.get("/admin/").status_code == 302
    client.post(reverse("mfa_authenticate"), {"code": totp_now("JBSWY3DPEHPK3PXP")})
    assert client.get("/admin/").status_code == 200


def test_superuser_without_totp_must_set_it_up_before_the_admin(make_user) -> None:
    root = make_user("root@example.vn")
    root.is_staff = root.is_superuser = True
    root.save()
    response = client_for(root).get("/admin/")
    assert response["Location"] == reverse("mfa_activate_totp")
