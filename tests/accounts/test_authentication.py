"""Sign-up, login, enumeration resistance, rate limits and verification links."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


TOO_MANY = "Đăng nhập sai quá nhiều lần"


def without_csrf(html: bytes) -> str:
    return re.sub(r'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+', r"\1", html.decode())


def signup(client: Client, email: str, name: str = "Nguyễn Văn Bình") -> object:
    return client.post(
        reverse("account_signup"),
        {"full_name": name, "email": email, "password1": PASSWORD, "password2": PASSWORD},
    )


def test_signup_creates_an_unverified_candidate_with_an_nfc_name() -> None:
    decomposed = "Nguye\u0302\u0303n Va\u0306n Bi\u0300nh"  # NFD, as some keyboards send it
    response = signup(Client(), "binh@example.vn", decomposed)
    assert response.status_code == 302
    user = User.objects.get(email="binh@example.vn")
    assert user.full_name == "Nguyễn Văn Bình"
    assert user.roles == {Role.CANDIDATE.value}
    assert not EmailAddress.objects.get(user=user).verified
    assert len(mail.outbox) == 1 and "binh@example.vn" in mail.outbox[0].to


def test_unverified_account_cannot_sign_in_until_the_link_is_followed() -> None:
    client = Client()
    signup(client, "binh@example.vn")
    client.logout()
    response = client.post(reverse("account_login"), {"login": "binh@example.vn", "password": PASSWORD})
    assert response.status_code == 302 and "confirm-email" in response["Location"]
    assert "_auth_user_id" not in client.session
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    client.post(link.split("testserver", 1)[-1])
    assert EmailAddress.objects.get(email="binh@example.vn").verified
    response = client.post(reverse("account_login"), {"login": "binh@example.vn", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_forged_verification_link_changes_nothing_and_says_so() -> None:
    client = Client()
    signup(client, "binh@example.vn")
    response = client.get(reverse("account_confirm_email", args=["forged-key-123"]))
    assert response.status_code == 200
    assert "không hợp lệ" in response.content.decode()  # "invalid", in Vietnamese by default
    assert not EmailAddress.objects.get(email="binh@example.vn").verified


def test_signup_with_a_known_email_answers_like_a_new_one(candidate: User) -> None:
    known = signup(Client(), candidate.email)
    unknown = signup(Client(), "nobody-yet@example.vn")
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert User.objects.filter(email=candidate.email).count() == 1


def test_password_reset_answers_the_same_for_known_and_unknown_emails(candidate: User) -> None:
    url = reverse("account_reset_password")
    known = Client().post(url, {"email": candidate.email}, follow=True)
    unknown = Client().post(url, {"email": "nobody@example.vn"}, follow=True)
    assert known.status_code == unknown.status_code == 200
    assert known.redirect_chain == unknown.redirect_chain
    assert without_csrf(known.content) == without_csrf(unknown.content)


def test_password_reset_link_lets_the_owner_choose_a_new_password(candidate: User) -> None:
    client = Client()
    client.post(reverse("account_reset_password"), {"email": candidate.email})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    response = client.get(link, follow=True)
    form_url = response.redirect_chain[-1][0] if response.redirect_chain else link
    client.post(form_url, {"password1": "Brand-New-Pass-77", "password2": "Brand-New-Pass-77"})
    candidate.refresh_from_db()
    assert candidate.check_password("Brand-New-Pass-77")


def test_failed_logins_are_rate_limited_per_account(candidate: User) -> None:
    client = Client()
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": candidate.email, "password": "wrong"})
        assert TOO_MANY not in response.content.decode()
    # Even the right password is refused while the limit holds, from any client.
    response = Client().post(reverse("account_login"), {"login": candidate.email, "password": PASSWORD})
    assert TOO_MANY in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_malformed_login_form_gets_a_message_not_a_crash() -> None:
    response = Client().post(reverse("account_login"), {"login": "", "password": ""})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() or "Trường này là bắt buộc" in response.content.decode()
