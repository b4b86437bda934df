from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .permissions import has_cap


class RoleRequiredMiddleware:
    """Deny by default: a view runs only if it is marked public or the user has its capability.

    Django's own admin checks is_staff itself; refnet gives is_staff to admins only.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "refnet_public", False):
            return None
        module = getattr(view_func, "__module__", "")
        if module.startswith("django.contrib.admin") or request.path.startswith(
            ("/admin/", settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/")
        ):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        cap = getattr(view_func, "refnet_capability", None)
        if cap is None or not has_cap(request.user, cap):
            raise PermissionDenied
        return None
