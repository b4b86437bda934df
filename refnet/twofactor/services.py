"""Writes for the second factor: enrolling an authenticator app, backup codes, resets.

Each change is one transaction and leaves a SecondFactorEvent row (never a code or secret).
"""

from django.db import transaction
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from refnet.accounts.models import User

from .models import SecondFactorAction, SecondFactorEvent

BACKUP_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
BACKUP_DEVICE_NAME = "Backup codes"


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The unconfirmed device being enrolled: the same secret until it is confirmed, so a
    reload of the enrolment page does not invalidate what the phone already scanned."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def totp_enroll_confirm(*, device: TOTPDevice, token: str, address: str | None
                        ) -> list[str] | None:
    """Confirm `device` with a code from the app. Returns the new backup codes, or None if
    the code was wrong (the device's throttle counts that failure)."""
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if device.confirmed or not device.verify_token(token):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
        SecondFactorEvent.objects.create(user_id=device.user_id, by_id=device.user_id,
                                         action=SecondFactorAction.ENROLLED, address=address)
        return _backup_codes_replace(user_id=device.user_id)


def backup_codes_issue(*, user: User, address: str | None) -> list[str]:
    """New one-time backup codes for `user`; the old ones stop working."""
    with transaction.atomic():
        SecondFactorEvent.objects.create(user=user, by=user,
                                         action=SecondFactorAction.BACKUP_CODES,
                                         address=address)
        return _backup_codes_replace(user_id=user.pk)


def _backup_codes_replace(*, user_id: int) -> list[str]:
    StaticDevice.objects.filter(user_id=user_id).delete()
    static = StaticDevice.objects.create(user_id=user_id, name=BACKUP_DEVICE_NAME)
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=c) for c in codes)
    return codes


def second_factor_reset(*, user: User, by: User | None, reason: str, address: str | None) -> int:
    """Remove `user`'s authenticator app and backup codes (lost phone). A manager or admin
    then enrols again at the next log-in. Returns how many devices were removed."""
    with transaction.atomic():
        removed = (TOTPDevice.objects.filter(user=user).delete()[0]
                   + StaticDevice.objects.filter(user=user).delete()[0])
        SecondFactorEvent.objects.create(user=user, by=by, action=SecondFactorAction.RESET,
                                         reason=reason[:300], address=address)
    return removed
