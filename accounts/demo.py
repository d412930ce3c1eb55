"""Demo accounts: one per staff role (TOTP already set up) and about 30 candidates.

Idempotent: every row is found by a natural key and brought to the same state.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group

from accounts.models import User
from accounts.roles import Role

DEMO_PASSWORD = "HienTai@2026"


@dataclass(frozen=True)
class DemoAccount:
    email: str
    full_name: str
    roles: tuple[Role, ...]
    superuser: bool = False


STAFF_ACCOUNTS = (
    DemoAccount("admin@demo.hientai.vn", "Quản trị hệ thống", (Role.HR,), superuser=True),
    DemoAccount("hr@demo.hientai.vn", "Trần Thị Thu Hà", (Role.HR,)),
    DemoAccount("hr2@demo.hientai.vn", "Lê Văn Phúc", (Role.HR,)),
    DemoAccount("chair@demo.hientai.vn", "Nguyễn Văn Thanh", (Role.CHAIR, Role.EXAMINER)),
    DemoAccount("examiner1@demo.hientai.vn", "Phạm Minh Đức", (Role.EXAMINER,)),
    DemoAccount("examiner2@demo.hientai.vn", "Võ Thị Ngọc Ánh", (Role.EXAMINER,)),
    DemoAccount("examiner3@demo.hientai.vn", "Huỳnh Tấn Lợi", (Role.EXAMINER,)),
    DemoAccount("supervisor@demo.hientai.vn", "Đặng Quốc Bảo", (Role.SUPERVISOR,)),
)

CANDIDATE_NAMES = (
    "Nguyễn Thị Mai Anh",
    "Trần Văn Bình",
    "Lê Thị Cúc",
    "Phạm Quốc Cường",
    "Hoàng Thị Diệu",
    "Huỳnh Văn Dũng",
    "Võ Thị Thu Đào",
    "Đặng Văn Đức",
    "Bùi Thị Giang",
    "Đỗ Minh Hải",
    "Hồ Thị Hạnh",
    "Ngô Văn Hiếu",
    "Dương Thị Hoa",
    "Lý Văn Hùng",
    "Nguyễn Hữu Khang",
    "Trần Thị Kim Liên",
    "Lê Văn Long",
    "Phạm Thị Lụa",
    "Hoàng Văn Minh",
    "Huỳnh Thị Ngọc",
    "Võ Văn Nhân",
    "Đặng Thị Oanh",
    "Bùi Văn Phát",
    "Đỗ Thị Quyên",
    "Hồ Văn Sơn",
    "Ngô Thị Tâm",
    "Dương Văn Thắng",
    "Lý Thị Uyên",
    "Nguyễn Văn Vinh",
    "Trương Thị Yến",
)


def candidate_email(index: int) -> str:
    return f"ungvien{index:02d}@demo.hientai.vn"


def demo_totp_secret(email: str) -> str:
    # Deterministic, so re-seeding never invalidates a newcomer's authenticator app.
    return base64.b32encode(hashlib.sha1(f"hientai-demo-totp:{email}".encode()).digest()).decode()


def ensure_user(*, email: str, full_name: str, roles: tuple[Role, ...], superuser: bool = False) -> User:
    user = User.objects.filter(email=email).first() or User(email=email)
    user.full_name = full_name
    user.is_superuser = superuser
    user.is_staff = superuser
    user.is_active = True
    if not user.has_usable_password() or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
    user.save()
    user.groups.set(Group.objects.filter(name__in=[role.value for role in roles]))
    EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


def ensure_totp(user: User) -> None:
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, demo_totp_secret(user.email))
    RecoveryCodes.activate(user)


def seed_accounts() -> dict[str, list[User]]:
    staff = []
    for account in STAFF_ACCOUNTS:
        user = ensure_user(
            email=account.email, full_name=account.full_name, roles=account.roles, superuser=account.superuser
        )
        ensure_totp(user)
        staff.append(user)
    candidates = [
        ensure_user(email=candidate_email(i), full_name=name, roles=(Role.CANDIDATE,))
        for i, name in enumerate(CANDIDATE_NAMES, start=1)
    ]
    return {"staff": staff, "candidates": candidates}
