"""The worker's hook: `refnet worker` calls run(now) once per tick (one line in
outbox/management/commands/worker.py), like the digests. It never raises."""

from __future__ import annotations

import logging
from datetime import datetime

log = logging.getLogger("refnet.worker")


def run(now: datetime) -> dict[str, int] | None:
    try:
        from .services import plan_tick

        counts = plan_tick(now=now)
    except Exception:
        log.exception("plan_tick failed; will try again next tick")
        return None
    if any(counts.values()):
        log.info("growth plan: %s", " ".join(f"{k}={v}" for k, v in counts.items() if v))
    return counts
