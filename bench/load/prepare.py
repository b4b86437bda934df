"""Prepare the load database's staff: `python bench/load/prepare.py --per-role N --totp-out F`.

Run with DATABASE_URL set (bench/load/run.py does). Makes N users per role named
load_<role>_<n> (front_desk, coordinator, manager, outreach) with the demo password, one
per locust user, so no two simulated people share a login (a TOTP code is accepted once per
user and step, and lockouts count per user). Existing ones are kept.

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
ROLES = ("front_desk", "coordinator", "manager", "outreach")
PASSWORD = "refnet-demo-2026"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-role", type=int, default=200)
    parser.add_argument("--totp-out", default="")
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
    wanted = {f"load_{role}_{n}": role for role in ROLES for n in range(1, args.per_role + 1)}
    have = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    User.objects.bulk_create([
        User(username=name, password=hashed, role=role, first_name="Load",
             last_name=name.rsplit("_", 1)[1], email=f"{name}@load.example.com",
             default_location=locations[i % len(locations)])
        for i, (name, role) in enumerate(sorted(wanted.items())) if name not in have
    ], batch_size=500)
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
    print(f"{len(wanted) - len(have)} load users made, {len(have)} kept; "
          f"{len(keys)} TOTP devices", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
