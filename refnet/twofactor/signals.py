"""At log-in: remember whether an optional enrollee must give a code, and clear the failure
count only once the whole sign-in (password and, where needed, code) has succeeded."""

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django_otp import user_has_device

from .policy import SESSION_OPTED_IN, role_requires_second_factor


def sign_in_completed(request, user) -> None:
    """Forget earlier failures for this username from this address (AXES_RESET_ON_SUCCESS
    is off so that a correct password alone does not wipe failed codes)."""
    AxesProxyHandler.reset_attempts(username=user.get_username(),
                                    ip_address=get_client_ip_address(request))


@receiver(user_logged_in)
def second_factor_at_login(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    if role_requires_second_factor(user):
        return  # the code step ends the sign-in
    if user_has_device(user):
        request.session[SESSION_OPTED_IN] = True
    else:
        sign_in_completed(request, user)
