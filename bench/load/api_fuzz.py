"""schemathesis against the running server: `python bench/load/api_fuzz.py [--max-examples 30]`.

refnet/api/tests/test_fuzz.py already drives every operation in-process (WSGI), positive
and negative input, checking for 5xx and half-written rows. This runs the schemathesis CLI
over real HTTP against gunicorn (DEBUG off, as in production) with an admin API key that
may read and write everything, on a small fresh SQLite database, with the checks
not_a_server_error (the goal: 0) and, reported but not required, the schema conformance
checks. Every operation in /api/openapi.json is run (the CLI's summary lists them); the
figures are written down in docs/operations.md. Takes 2-4 minutes.
"""

from __future__ import annotations

import argparse
import atexit
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as harness  # noqa: E402 - bench/load/run.py: start/stop

ROOT = HERE.parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    atexit.register(harness.stop_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so that atexit cleans up
    work = Path(tempfile.mkdtemp(prefix="refnet-apifuzz-"))
    env = {**harness.base_env(f"sqlite:///{work / 'refnet.sqlite3'}"),
           "REFNET_DATA_DIR": str(work / "data"), "REFNET_HEALTH_REQUIRE_WORKER": "false"}
    subprocess.run([BIN / "refnet", "migrate", "--noinput", "-v", "0"], env=env, check=True,
                   cwd=ROOT, timeout=600)
    subprocess.run([BIN / "refnet", "seed", "--partners", "300", "--referrals", "3000"],
                   env=env, check=True, cwd=ROOT, timeout=600, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    key = subprocess.run([sys.executable, "-c", """
import os, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "refnet.settings"); django.setup()
from refnet.accounts.models import User
from refnet.api.keys import api_key_create
from refnet.api.models import ApiResource
admin = User.objects.get(username="admin")
_key, raw = api_key_create(name="schemathesis", role="admin",
                           resources=[r.value for r in ApiResource], can_read=True,
                           can_write=True, by=admin)
print(raw)
"""], env=env, cwd=ROOT, check=True, capture_output=True, text=True).stdout.strip()
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    harness.start([BIN / "refnet", "serve", "--host", "127.0.0.1", "--port", port,
                   "--workers", 2], env, work / "web.log")
    try:
        harness.wait_healthy(base)
        done = subprocess.run(
            [BIN / "schemathesis", "run", f"{base}/api/openapi.json",
             "-H", f"Authorization: Bearer {key}", "--checks", "all",
             "--max-examples", str(args.max_examples), "--seed", str(args.seed),
             "--phases", "examples,coverage,fuzzing", "--continue-on-failure",
             "--generation-database", "none", "--workers", "1",
             "--max-time", "900", "--no-color"],
            cwd=work, capture_output=True, text=True, timeout=1200)
    finally:
        harness.stop_all()
    output = done.stdout + done.stderr
    (work / "schemathesis.txt").write_text(output)
    server_errors = len(re.findall(r"Server error", output))
    web_500 = sum(1 for line in (work / "web.log").read_text().splitlines()
                  if '" 500 ' in line or '" 502 ' in line or '" 503 ' in line)
    print(output[-6000:])
    print(f"[api_fuzz] schemathesis exit {done.returncode}; 'Server error' findings: "
          f"{server_errors}; 5xx in the server's access log: {web_500}; full output: "
          f"{work / 'schemathesis.txt'}", file=sys.stderr)
    return 0 if server_errors == 0 and web_500 == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
