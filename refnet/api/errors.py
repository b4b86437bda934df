"""Every error the API returns is JSON: {"code", "message", "errors": [{"field", "code",
"message"}]}. `code` is for programs, `message` for people and names the field."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

log = logging.getLogger("refnet.api")


class ApiError(Exception):
    """Raise from an operation to answer with this status, code and message."""

    def __init__(self, status: int, code: str, message: str,
                 errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors or []


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def not_found(what: str = "object") -> ApiError:
    return ApiError(404, "not_found", f"No such {what}.")


def field_error(field: str, message: str, code: str = "invalid") -> ApiError:
    return ApiError(422, "invalid", f"{field}: {message}",
                    [{"field": field, "code": code, "message": message}])


def _body(code: str, message: str, errors: list[dict[str, str]] | None = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if errors is not None:
        body["errors"] = errors
    return body


def _field_name(loc: list | tuple) -> str:
    # ninja: ("body", "payload", "name") or ("query", "limit"); the parameter's own name
    # ("payload", "filters") says nothing to a client, so it is left out.
    parts = [str(p) for p in loc]
    if len(parts) > 1 and parts[1] in ("payload", "filters", "params"):
        parts.pop(1)
    return ".".join(parts)


def _short_code(pydantic_type: str) -> str:
    return {"missing": "missing", "json_invalid": "json_invalid"}.get(
        pydantic_type, pydantic_type or "invalid")


def django_errors(error: DjangoValidationError, prefix: str = "body",
                  fields: dict[str, str] | None = None) -> list[dict[str, str]]:
    """A service's ValidationError as field errors; `fields` maps the service's keys to the
    API's field names where they differ."""
    fields = fields or {}
    out = []
    if hasattr(error, "error_dict"):
        for key, problems in error.message_dict.items():
            name = prefix if key == "__all__" else fields.get(key, f"{prefix}.{key}")
            out += [{"field": name, "code": "invalid", "message": m} for m in problems]
    else:
        out += [{"field": prefix, "code": "invalid", "message": m} for m in error.messages]
    return out


def invalid_response(api: NinjaAPI, request: HttpRequest, errors: list[dict[str, str]],
                     status: int = 422, code: str = "invalid") -> HttpResponse:
    message = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Invalid request."
    return api.create_response(request, _body(code, message[:2000], errors), status=status)


def install(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        if exc.errors:
            return invalid_response(api, request, exc.errors, status=exc.status, code=exc.code)
        return api.create_response(request, _body(exc.code, exc.message), status=exc.status)

    @api.exception_handler(NinjaValidationError)
    def on_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = []
        for e in exc.errors:
            field = _field_name(e.get("loc", ()))
            msg = str(e.get("msg", "Invalid value."))
            if e.get("type") == "json_invalid":
                field, msg = "body", "The request body is not valid JSON."
            errors.append({"field": field, "code": _short_code(str(e.get("type", ""))),
                           "message": msg})
        return invalid_response(api, request, errors)

    @api.exception_handler(DjangoValidationError)
    def on_service_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return invalid_response(api, request, django_errors(exc))

    @api.exception_handler(AuthenticationError)
    def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = api.create_response(request, _body(
            "unauthenticated",
            "Send a valid, unrevoked API key as 'Authorization: Bearer rn_...' or "
            "'X-API-Key: rn_...'."), status=401)
        response["WWW-Authenticate"] = 'Bearer realm="refnet"'
        return response

    @api.exception_handler(Http404)
    def on_404(request: HttpRequest, exc: Http404) -> HttpResponse:
        return api.create_response(request, _body("not_found", str(exc) or "Not found."),
                                   status=404)

    @api.exception_handler(ObjectDoesNotExist)
    def on_missing(request: HttpRequest, exc: ObjectDoesNotExist) -> HttpResponse:
        return api.create_response(request, _body("not_found", "Not found."), status=404)

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 400 and "parse" in str(exc.message).lower():
            return invalid_response(api, request, [{
                "field": "body", "code": "json_invalid",
                "message": "The request body is not valid JSON."}], status=400)
        code = {400: "bad_request", 401: "unauthenticated", 403: "forbidden",
                404: "not_found", 405: "method_not_allowed", 409: "conflict",
                429: "throttled"}.get(exc.status_code, "error")
        return api.create_response(request, _body(code, str(exc.message)),
                                   status=exc.status_code)

    @api.exception_handler(Exception)
    def on_server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception("API error on %s %s", request.method, request.path)
        return api.create_response(request, _body(
            "server_error", "Something went wrong on our side; nothing was saved. "
            "The error was logged."), status=500)


def invalid(errors: list[dict[str, str]]) -> ApiError:
    """422 with these field errors; the message names each field."""
    return ApiError(422, "invalid", "; ".join(f"{e['field']}: {e['message']}" for e in errors),
                    errors)
