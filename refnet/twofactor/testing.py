"""For tests and benchmarks: give a user an authenticator app and compute its codes, or mark
a test client's session as having passed the second factor."""

from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP, totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from .policy import role_requires_second_factor


def totp_device_for(user) -> TOTPDevice:
    """The user's confirmed authenticator app, made if they have none."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or TOTPDevice.objects.create(user=user, name="Test phone", confirmed=True)


def totp_code(device: TOTPDevice) -> str:
    """The code the phone shows now, or the next one if this time step was already used
    (django-otp refuses a step twice; it accepts one step ahead)."""
    device.refresh_from_db()
    now_t = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
    ahead = max(0, device.last_t + 1 - now_t)
    code = totp(device.bin_key, device.step, device.t0, device.digits, device.drift + ahead)
    return f"{code:0{device.digits}d}"


def session_verify(client, user) -> None:
    """After client.force_login(user): the session has passed the second factor too."""
    device = totp_device_for(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def force_login_verified(client, user):
    """client.force_login, then the second factor if the user's role needs one."""
    client.force_login(user)
    if role_requires_second_factor(user):
        session_verify(client, user)
    return client
