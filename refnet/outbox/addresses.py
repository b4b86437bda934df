"""Normalized addresses (for suppressions) and signed unsubscribe links."""

from django.conf import settings
from django.core import signing
from django.urls import reverse

_SALT = "refnet.unsubscribe"


def normalize_address(channel: str, address: str) -> str:
    """Emails compare case-insensitively; phone and fax numbers by their last 10 digits."""
    if channel == "email":
        return address.strip().lower()
    if channel in ("sms", "fax"):
        return "".join(c for c in address if c.isdigit())[-10:]
    return " ".join(address.split()).lower()


def unsubscribe_token(channel: str, address: str) -> str:
    return signing.dumps({"c": channel, "a": normalize_address(channel, address)}, salt=_SALT,
                         compress=True)


def read_unsubscribe_token(token: str) -> tuple[str, str]:
    """(channel, address) from a token; raises signing.BadSignature if it was tampered with.
    Tokens do not expire: CAN-SPAM asks that the link keeps working."""
    data = signing.loads(token, salt=_SALT)
    return data["c"], data["a"]


def unsubscribe_url(channel: str, address: str) -> str:
    path = reverse("public:unsubscribe", args=[unsubscribe_token(channel, address)])
    return settings.REFNET_BASE_URL.rstrip("/") + path
