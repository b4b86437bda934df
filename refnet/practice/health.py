"""`/health/`: is this refnet able to serve, for a load balancer or a monitoring probe.

Public and cheap: one trivial query, then one indexed read of the freshest worker
heartbeat. 200 with {"status": "ok", ...} when both are fine; 503 with "problems" naming
each thing that is wrong:

- the database did not answer `SELECT 1`;
- no `refnet worker` has beaten its heartbeat within REFNET_HEALTH_WORKER_MAX_AGE_SECONDS
  (a worker beats at every tick and after every delivered batch). Deployments that run no
  worker on purpose set REFNET_HEALTH_REQUIRE_WORKER=false: the age is still reported.

The body names no host, path or error text a stranger could use; the server log has the
error itself.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from refnet.accounts.permissions import public

log = logging.getLogger("refnet.health")


def check_database() -> str | None:
    """None when the database answers, else what is wrong."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # noqa: BLE001 - any failure to answer is "unreachable"
        log.exception("health: the database did not answer")
        return "database unreachable"
    return None


def check_worker(now=None) -> tuple[dict, str | None]:
    """The freshest running worker's heartbeat, and what is wrong with it (or None)."""
    from refnet.outbox.models import WorkerHeartbeat

    now = now or timezone.now()
    max_age = settings.REFNET_HEALTH_WORKER_MAX_AGE_SECONDS
    beat = (WorkerHeartbeat.objects.filter(stopped_at__isnull=True)
            .order_by("-beat_at").values("worker", "beat_at").first())
    info: dict = {"max_age_seconds": max_age}
    if beat is None:
        problem = "no worker heartbeat: no refnet worker is running"
    else:
        # A beat written a moment after `now` was read is not in the future: at least 0.
        age = max(0.0, (now - beat["beat_at"]).total_seconds())
        info["last_beat_seconds_ago"] = round(age, 1)
        problem = (None if age <= max_age else
                   f"no worker heartbeat within {max_age:g} s (last {age:.0f} s ago)")
    if problem and not settings.REFNET_HEALTH_REQUIRE_WORKER:
        info["note"] = problem + " (not required: REFNET_HEALTH_REQUIRE_WORKER is off)"
        problem = None
    return info, problem


@public
@require_safe
@never_cache
def health(request):
    problems: list[str] = []
    body: dict = {}
    database = check_database()
    if database:
        problems.append(database)
        body["database"] = "unreachable"
        body["worker"] = {"note": "not checked: the database is unreachable"}
    else:
        body["database"] = "ok"
        try:
            body["worker"], worker = check_worker()
        except Exception:  # noqa: BLE001 - e.g. the database went away between the two
            log.exception("health: reading the worker heartbeat failed")
            body["worker"], worker = {}, "worker heartbeat could not be read"
        if worker:
            problems.append(worker)
    body = {"status": "fail" if problems else "ok", **({"problems": problems}
                                                       if problems else {}), **body}
    return JsonResponse(body, status=503 if problems else 200)
