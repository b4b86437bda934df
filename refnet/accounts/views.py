from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from .models import Role
from .permissions import public

# Where each role starts its day.
HOME_BY_ROLE = {
    Role.FRONT_DESK: "referrals:intake",
    Role.COORDINATOR: "referrals:list",
    Role.OUTREACH: "reports:dashboard",
    Role.MANAGER: "reports:dashboard",
    Role.ADMIN: "referrals:list",
}


@public
@login_required
def home(request):
    return redirect(HOME_BY_ROLE.get(request.user.role, "partners:list"))
