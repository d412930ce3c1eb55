from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from accounts.demo import DEMO_PASSWORD, STAFF_ACCOUNTS, candidate_email, seed_accounts
from candidates.demo import seed_applications
from exams.demo import seed_campaigns, seed_organisations
from scoring.fairness_demo import seed_fairness_demo
from scoring.marking_demo import seed_marking_demo
from scoring.results_demo import seed_results_demo


class Command(BaseCommand):
    help = "Creates (or brings back to the same state) the realistic demo data of every life-cycle stage."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="Allow running with DEBUG off.")
        parser.add_argument("--quiet-accounts", action="store_true", help="Do not print the demo accounts.")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError("seed_demo creates accounts with a known password: refused with DEBUG off.")
        with transaction.atomic():
            accounts = seed_accounts()
            staff = {user.email: user for user in accounts["staff"]}
            hr, chair = staff["hr@demo.hientai.vn"], staff["chair@demo.hientai.vn"]
            orgs = seed_organisations()
            posts = seed_campaigns(orgs, hr=hr, chair=chair)
            seed_applications(open_posts=posts["open"], screening_posts=posts["screening"], hr=hr)
            examiners = [staff[f"examiner{i}@demo.hientai.vn"] for i in (1, 2, 3)]
            seed_marking_demo(
                hr=hr,
                chair=chair,
                examiners=examiners,
                room_staff=[staff["supervisor@demo.hientai.vn"], staff["hr2@demo.hientai.vn"]],
                candidates=accounts["candidates"],
            )
            seed_fairness_demo(hr=hr, chair=chair, examiners=examiners)
            seed_results_demo(hr=hr, chair=chair, examiners=examiners, candidates=accounts["candidates"])
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        if not options["quiet_accounts"]:
            self.print_accounts()

    def print_accounts(self) -> None:
        self.stdout.write("")
        self.stdout.write(f"Demo accounts (password for all: {DEMO_PASSWORD})")
        for account in STAFF_ACCOUNTS:
            roles = ", ".join(role.value for role in account.roles)
            if account.superuser:
                roles += ", Django admin"
            self.stdout.write(f"  {account.email:<30} {roles}  [TOTP: python manage.py demo_totp {account.email}]")
        self.stdout.write(f"  {candidate_email(1):<30} Candidate (… to {candidate_email(30)})")
