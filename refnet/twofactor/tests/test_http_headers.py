"""Security headers and cookies. The Content-Security-Policy applies in every mode;
`manage.py check --deploy` passes with production settings (DEBUG off, a long SECRET_KEY,
ALLOWED_HOSTS), and those settings give secure cookies, HSTS and the https redirect."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from django.conf import settings as project_settings

ROOT = Path(__file__).resolve().parents[3]
PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "prod-" + "k3y-Ve7y-L0ng-and-r4nd0m-" * 3,
    "ALLOWED_HOSTS": "refnet.example,testserver",
}


def _run(args, env_extra, tmp_path):
    # A clean production environment: nothing the test process set for itself (the browser
    # tests' DJANGO_ALLOW_ASYNC_UNSAFE would rightly fail the deploy check).
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SETTINGS_MODULE",
                        "DJANGO_ALLOW_ASYNC_UNSAFE") and not k.startswith("REFNET_")}
    env.update(PRODUCTION_ENV, REFNET_DATA_DIR=str(tmp_path), **env_extra)
    env["DJANGO_SETTINGS_MODULE"] = "refnet.settings"
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {}, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_notices_debug_on(tmp_path):
    """The check above can fail: with DEBUG on it reports the problem."""
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                  {"DEBUG": "true"}, tmp_path)
    assert result.returncode != 0 and "security.W018" in result.stdout + result.stderr


PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client()
plain = client.get("/accounts/login/")
secure = client.get("/accounts/login/", secure=True)
cookie = secure.cookies["csrftoken"]
print(json.dumps({
    "plain_status": plain.status_code, "plain_location": plain.get("Location"),
    "status": secure.status_code, "headers": dict(secure.headers),
    "cookie": {"secure": cookie["secure"], "httponly": cookie["httponly"],
               "samesite": cookie["samesite"]},
}))
"""


def test_production_settings_send_https_headers_and_secure_cookies(tmp_path):
    result = _run(["-c", PROBE], {}, tmp_path)
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["plain_status"] == 301
    assert seen["plain_location"] == "https://testserver/accounts/login/"
    assert seen["status"] == 200
    headers = seen["headers"]
    assert headers["Strict-Transport-Security"] == \
        "max-age=31536000; includeSubDomains; preload"
    assert seen["cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    assert "default-src 'self'" in headers["Content-Security-Policy"]


def test_behind_a_tls_proxy_x_forwarded_proto_is_trusted_only_when_configured(tmp_path):
    probe = ("import django; django.setup(); from django.test import Client; "
             "print(Client().get('/accounts/login/', "
             "headers={'X-Forwarded-Proto': 'https'}).status_code)")
    assert _run(["-c", probe], {}, tmp_path).stdout.strip() == "301"
    trusted = _run(["-c", probe], {"REFNET_TRUST_X_FORWARDED_PROTO": "true"}, tmp_path)
    assert trusted.stdout.strip() == "200"


def test_every_page_sends_the_security_headers(client, db):
    response = client.get("/accounts/login/")
    csp = response["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    assert response.cookies["csrftoken"]["httponly"]
    assert response.cookies["csrftoken"]["samesite"] == "Lax"


def test_templates_carry_no_inline_script_the_policy_would_block():
    """Inline <script> blocks and on...= handlers are refused by the policy: scripts live in
    static files (refnet/static/.../*.js)."""
    offenders = []
    for path in sorted((ROOT / "refnet").rglob("templates/**/*.html")):
        text = path.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=", text):
            offenders.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
    assert offenders == []


def test_the_session_cookie_is_http_only_and_same_site():
    assert project_settings.SESSION_COOKIE_HTTPONLY
    assert project_settings.SESSION_COOKIE_SAMESITE == "Lax"
