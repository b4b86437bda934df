"""Prepare the load database's staff: `python bench/load/prepare.py --managers N --totp-out F`.

Run with DATABASE_URL set (bench/load/run.py does). Makes the staff of a group of about ten
locations, named load_<role>_<n>, with the demo password: STAFF front desk staff,
coordinators and outreach people, and --managers managers (one per simulated manager: a
TOTP code is accepted once per user and time step, so managers do not share a login; the
others may be logged in on several computers at once, as people are). Existing ones are
kept; load users beyond these numbers are made inactive, so that pages listing the staff
(owner filters, assignees) show a group's real size.

If django-otp's TOTP plugin is installed, every load manager and admin gets one confirmed
TOTPDevice with a key derived from the username, and the keys are written to --totp-out as
{username: {"key": hex, "step": 30, "digits": 6, "t0": 0}} for the locustfile's login.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
STAFF = {"front_desk": 30, "coordinator": 15, "outreach": 6}
PASSWORD = "refnet-demo-2026"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--managers", type=int, default=20)
    parser.add_argument("--totp-out", default="")
    parser.add_argument("--staff-out", default="", help="write the counts by role here")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings")
    import django

    django.setup()
    from django.apps import apps
    from django.contrib.auth.hashers import make_password

    from refnet.accounts.models import User
    from refnet.practice.demo import ensure_practice

    practice = ensure_practice()
    locations = practice.locations
    hashed = make_password(PASSWORD)  # one slow hash for all: the password is public
    counts = {**STAFF, "manager": args.managers}
    wanted = {f"load_{role}_{n}": role for role, count in counts.items()
              for n in range(1, count + 1)}
    have = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    User.objects.bulk_create([
        User(username=name, password=hashed, role=role, first_name="Load",
             last_name=name.rsplit("_", 1)[1], email=f"{name}@load.example.com",
             default_location=locations[i % len(locations)])
        for i, (name, role) in enumerate(sorted(wanted.items())) if name not in have
    ], batch_size=500)
    User.objects.filter(username__in=wanted, is_active=False).update(is_active=True)
    User.objects.filter(username__startswith="load_").exclude(username__in=wanted).update(
        is_active=False)
    keys = {}
    if apps.is_installed("django_otp.plugins.otp_totp"):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        for user in User.objects.filter(username__in=wanted, role__in=["manager", "admin"]):
            key = hashlib.sha1(f"refnet-load:{user.username}".encode()).hexdigest()
            device, _ = TOTPDevice.objects.update_or_create(
                user=user, name="load", defaults={"key": key, "confirmed": True})
            keys[user.username] = {"key": device.key, "step": device.step,
                                   "digits": device.digits, "t0": device.t0}
    if args.totp_out:
        Path(args.totp_out).write_text(json.dumps(keys))
    if args.staff_out:
        Path(args.staff_out).write_text(json.dumps(counts))
    print(f"{len(wanted) - len(have)} load users made, {len(have)} kept; "
          f"{len(keys)} TOTP devices", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
