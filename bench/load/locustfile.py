"""A busy medical group's day on refnet, for locust (run by bench/load/run.py).

Four kinds of staff, each a locust user class logged in through the real login form as a
database user that bench/load/prepare.py made (load_<role>_<n>; $REFNET_LOAD_STAFF says how
many of each; front desk, coordinators and outreach are shared round-robin, as one person
logged in on several computers; every manager is their own user):

- front desk (most of the traffic): "Who can we thank?" — types a patient's name and a
  source's name into the intake page's search boxes (one request per pause in typing, as
  static/refnet/intake.js does), picks from the options, and saves the referral;
- coordinators: the referral list (filtered and paged), the board, a referral's page, and
  a status move from that page;
- managers: the dashboard, the report list and one report;
- outreach: the partner directory and its search, a partner's page, the network board.

Writes are counted. Every referral the server acknowledged (the intake page came back
with "Saved: ... Open referral #N") is appended to $REFNET_LOAD_ACK_FILE, one id per
line, so a fault scenario can compare what clients were told with what the database holds.

Logging in: username and password on /accounts/login/. If the answer asks for a second
factor (a form with an otp_token / token / code field: TOTP for managers and admins), the
code is computed from the device key that prepare.py wrote to $REFNET_LOAD_TOTP_KEYS (RFC
6238: HMAC-SHA1, 30 s steps, 6 digits unless the file says otherwise).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import random
import re
import struct
import time
from html.parser import HTMLParser

from locust import FastHttpUser, between, events, task
from locust.exception import StopUser

PASSWORD = os.environ.get("REFNET_LOAD_PASSWORD", "refnet-demo-2026")
ACK_FILE = os.environ.get("REFNET_LOAD_ACK_FILE", "")
# Log-ins happen before the figures are reset (run.py): failed ones are also written here.
LOGIN_FAILED_FILE = os.environ.get("REFNET_LOAD_LOGIN_FAILED_FILE", "")
STAFF: dict = {}  # how many load_<role>_<n> users prepare.py made, by role
if os.environ.get("REFNET_LOAD_STAFF"):
    with open(os.environ["REFNET_LOAD_STAFF"]) as handle:
        STAFF = json.load(handle)
TOTP_KEYS: dict = {}
if os.environ.get("REFNET_LOAD_TOTP_KEYS"):
    with open(os.environ["REFNET_LOAD_TOTP_KEYS"]) as handle:
        TOTP_KEYS = json.load(handle)
# Behind a TLS proxy in production: say so, in case the settings redirect plain HTTP.
# gunicorn trusts X-Forwarded-Proto from 127.0.0.1, so Django sees HTTPS and checks that a
# form's Referer is an https:// page of the same host (as behind the TLS proxy).
HEADERS = {"X-Forwarded-Proto": "https"}


def SECURE_ORIGIN(host: str) -> str:  # noqa: N802 - reads like the constant it stands for
    return "https://" + host.split("://", 1)[-1].rstrip("/")

# The seed draws names with Zipf-like weights from these lists' heads (practice/seed.py).
SURNAMES = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
            "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin "
            "Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson").split()
FIRST = ("James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David "
         "Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen").split()
SOURCE_WORDS = SURNAMES[:20] + ["Family", "Orthopedic", "Sports", "Spine", "Dr.", "Urgent",
                                "Pediatric", "Chiropractic", "Denver", "Aurora"]

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SAVED = re.compile(r"Open referral #(\d+)")
OPTION_ID = re.compile(r'data-action="pick" data-id="(\d+)"(?: data-contact="(\d*)")?')
REFERRAL_LINK = re.compile(r'href="/referrals/(\d+)/"')
PARTNER_LINK = re.compile(r'href="/partners/(\d+)/"')
REPORT_LINK = re.compile(r'href="/reports/r/([a-z0-9_-]+)/"')
FROM_STATUS = re.compile(r'name="from_status" value="(\w+)"')
TO_STATUS = re.compile(r'class="primary" type="submit" name="to_status" value="(\w+)"')
NUMBERS = {role: itertools.count(1) for role in
           ("front_desk", "coordinator", "manager", "outreach")}


def totp(key_hex: str, *, step: int = 30, digits: int = 6, t0: int = 0,
         at: float | None = None) -> str:
    """RFC 6238 TOTP (what django-otp's TOTPDevice and pyotp compute)."""
    counter = int(((at if at is not None else time.time()) - t0) // step)
    mac = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10 ** digits
    return str(code).zfill(digits)


class _Forms(HTMLParser):
    """Each <form>'s action and its inputs (name -> value), enough to answer a TOTP step."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}})
        elif tag in ("input", "select", "textarea") and self.forms and attrs.get("name"):
            self.forms[-1]["fields"][attrs["name"]] = attrs.get("value") or ""


MAX_REDIRECTS = 5


def local_path(location: str) -> str:
    """A redirect's Location as a path on this server (it may be absolute)."""
    return "/" + location.split("://", 1)[-1].split("/", 1)[-1] if "://" in location \
        else location


OTP_FIELDS = ("otp_token", "token", "code", "otp")
OTP_INPUT = re.compile(r'name="(?:[\w-]*-)?(?:otp_token|token|code|otp)"')


class Staff(FastHttpUser):
    abstract = True
    role = ""
    # A person at work: a few seconds between things, much less while typing a name.
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        n = next(NUMBERS[self.role])
        pool = STAFF.get(self.role) or n
        self.username = f"load_{self.role}_{(n - 1) % pool + 1}"
        self.csrf = ""
        self.url = ""  # where the last page() ended, after its redirects
        self.log_in()

    # --- helpers -----------------------------------------------------------------------

    def headers(self, **more: str) -> dict[str, str]:
        """HEADERS plus the session's cookies: refnet's cookies are Secure in production and
        the client's cookie jar keeps them but does not send them over plain HTTP."""
        jar = "; ".join(f"{c.name}={c.value}" for c in self.client.cookiejar)
        return {**HEADERS, **({"Cookie": jar} if jar else {}), **more}

    def page(self, url: str, name: str | None = None) -> str:
        """GET a page, following redirects by hand (each hop is its own request, named
        "<name> (then)"), so that every hop carries the cookies the previous one set: the
        client's own redirect-following resends the first request's headers, without them."""
        name = name or url
        for _hop in range(MAX_REDIRECTS + 1):
            with self.client.get(url, name=name, headers=self.headers(), catch_response=True,
                                 allow_redirects=False) as response:
                location = response.headers.get("Location") or ""
                if response.status_code in (301, 302, 303) and location:
                    response.success()
                    url, name = local_path(location), f"{name.removesuffix(' (then)')} (then)"
                    continue
                if response.status_code != 200:
                    response.failure(f"{response.status_code} on {url}")
                    return ""
                text = response.text or ""
                match = CSRF.search(text)
                if match:
                    self.csrf = match.group(1)
                self.url = url
                return text
        return ""

    def post(self, url: str, data: dict, name: str) -> tuple[int, str, str]:
        """POST a form, then GET where it redirects (by hand, so that the cookies the POST
        set go with it); (status, final path, body)."""
        data = {"csrfmiddlewaretoken": self.csrf, **data}
        with self.client.post(url, data=data, name=name, catch_response=True,
                              allow_redirects=False,
                              headers=self.headers(Referer=SECURE_ORIGIN(self.host) + url)
                              ) as response:
            status, body = response.status_code, response.text or ""
            location = response.headers.get("Location") or ""
            if status >= 400:
                response.failure(f"{status} on POST {url}")
                return status, url, body
        if status in (301, 302, 303) and location:
            body = self.page(local_path(location), name=f"{name} (then)")
            return 200 if body else 500, self.url, body
        return status, url, body

    def fill(self, fields: dict[str, str]) -> dict[str, str]:
        """A login form's fields with ours filled in: any field named like username,
        password or a one-time code (a two-step wizard prefixes them, e.g. auth-username)."""
        filled = {k: v for k, v in fields.items() if k != "csrfmiddlewaretoken"}
        for name in filled:
            bare = name.rsplit("-", 1)[-1]
            if bare == "username":
                filled[name] = self.username
            elif bare == "password":
                filled[name] = PASSWORD
            elif bare in OTP_FIELDS:
                key = TOTP_KEYS.get(self.username)
                if not key:
                    raise RuntimeError(f"{self.username}: a second factor is asked for and "
                                       "no TOTP key was prepared")
                filled[name] = totp(key["key"], step=key.get("step", 30),
                                    digits=key.get("digits", 6), t0=key.get("t0", 0))
        return filled

    def log_in(self) -> None:
        body = self.page("/accounts/login/", name="login (form)")
        url, status, step = "/accounts/login/", 200, "login (password)"
        for _ in range(3):  # the password, then perhaps a one-time code
            parser = _Forms()
            parser.feed(body)
            form = next((f for f in parser.forms if any(
                k.rsplit("-", 1)[-1] in ("username", "password", *OTP_FIELDS)
                for k in f["fields"])), None)
            if form is None:
                break
            fields = self.fill(form["fields"])
            fields.setdefault("next", "/")
            status, url, body = self.post(form["action"] or url, fields, name=step)
            step = "login (second factor)"
            if status != 200 or "/accounts/login/" not in url.split("?")[0] and \
                    not OTP_INPUT.search(body):
                break
        if status != 200 or "/accounts/login/" in url:
            if LOGIN_FAILED_FILE:
                with open(LOGIN_FAILED_FILE, "a") as handle:
                    handle.write(f"{self.username} {status} {url}\n")
            events.request.fire(request_type="CHECK", name="login: logged in",
                                response_time=0, response_length=0,
                                exception=RuntimeError(f"{self.username} could not log in "
                                                       f"(status {status}, {url})"))
            raise StopUser()


class FrontDesk(Staff):
    role = "front_desk"
    weight = 5

    def type_name(self, path: str, text: str, name: str) -> str:
        """Ask for options after the 3rd letter and once more after a pause, like the page."""
        body = ""
        for cut in sorted({min(3, len(text)), len(text)}):
            with self.client.get(f"{path}?q={text[:cut]}", name=name, headers=self.headers(),
                                 catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code} on {name}")
                    return ""
                body = response.text or ""
            time.sleep(random.uniform(0.05, 0.3))
        return body

    @task(6)
    def record_a_referral(self) -> None:
        self.page("/referrals/intake/", name="intake (page)")
        patient_text = random.choice(SURNAMES)[: random.randint(4, 7)]
        options = self.type_name("/referrals/intake/patients/", patient_text,
                                 "intake: patient search")
        picks = OPTION_ID.findall(options)
        data = {"location": self.location_id(), "channel": "front_desk", "reason": ""}
        if picks and random.random() < 0.7:
            data.update(patient_mode="existing", patient=random.choice(picks[:5])[0])
        else:
            data.update(patient_mode="new", new_first_name=random.choice(FIRST),
                        new_last_name=random.choice(SURNAMES), new_birth_date="1970-01-15")
        source_text = random.choice(SOURCE_WORDS)
        options = self.type_name("/referrals/intake/sources/", source_text,
                                 "intake: who can we thank")
        sources = OPTION_ID.findall(options)
        if sources and random.random() < 0.9:
            partner, contact = random.choice(sources[:3])
            data.update(source_mode="existing", source_partner=partner,
                        source_contact=contact or "")
        else:
            data.update(source_mode="unknown", source_text=source_text)
        status, _url, body = self.post("/referrals/intake/", data, name="intake: save")
        saved = SAVED.search(body)
        if status == 200 and saved:
            if ACK_FILE:
                with open(ACK_FILE, "a") as handle:
                    handle.write(saved.group(1) + "\n")
        elif status < 400:
            events.request.fire(request_type="CHECK", name="intake: save acknowledged",
                                response_time=0, response_length=0,
                                exception=RuntimeError("the intake did not say Saved"))

    def location_id(self) -> str:
        if not hasattr(self, "_location"):
            match = re.search(r'name="location"[^>]*>\s*<option value="(\d+)"',
                              self.page("/referrals/intake/", name="intake (page)"))
            self._location = match.group(1) if match else "1"
        return self._location

    @task(2)
    def look_up_a_referral(self) -> None:
        self.page(f"/referrals/?status=received&page={random.randint(1, 3)}",
                  name="referrals: list")


class Coordinator(Staff):
    role = "coordinator"
    weight = 3

    @task(3)
    def work_the_list(self) -> None:
        status = random.choice(["received", "contacted", "scheduled", ""])
        body = self.page(f"/referrals/?status={status}&page={random.randint(1, 5)}",
                         name="referrals: list")
        ids = REFERRAL_LINK.findall(body)
        if not ids:
            return
        referral = random.choice(ids)
        detail = self.page(f"/referrals/{referral}/", name="referrals: detail")
        moves = TO_STATUS.findall(detail)
        current = FROM_STATUS.search(detail)
        if moves and current and random.random() < 0.6:
            self.post(f"/referrals/{referral}/transition/",
                      {"from_status": current.group(1), "to_status": random.choice(moves),
                       "note": "called the patient"}, name="referrals: move")

    @task(1)
    def the_board(self) -> None:
        self.page("/referrals/board/", name="referrals: board")

    @task(1)
    def the_inbox(self) -> None:
        self.page("/inbox/", name="inbox")


class Manager(Staff):
    role = "manager"
    weight = 1
    wait_time = between(2.0, 6.0)

    @task(3)
    def dashboard(self) -> None:
        self.page("/reports/", name="reports: dashboard")

    @task(2)
    def a_report(self) -> None:
        body = self.page("/reports/r/", name="reports: list")
        slugs = sorted(set(REPORT_LINK.findall(body)))
        if slugs:
            self.page(f"/reports/r/{random.choice(slugs)}/", name="reports: one report")


class Outreach(Staff):
    role = "outreach"
    weight = 1

    @task(3)
    def find_a_partner(self) -> None:
        body = self.page(f"/partners/?q={random.choice(SOURCE_WORDS)}",
                         name="partners: search")
        ids = PARTNER_LINK.findall(body)
        if ids:
            self.page(f"/partners/{random.choice(ids[:10])}/", name="partners: detail")

    @task(1)
    def the_directory(self) -> None:
        self.page(f"/partners/?page={random.randint(1, 20)}", name="partners: directory")

    @task(1)
    def the_network_board(self) -> None:
        self.page("/network/", name="network: board")
