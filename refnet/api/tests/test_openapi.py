"""The schema and its docs: OpenAPI 3.1, every resource, docs that work offline."""

import pytest

pytestmark = pytest.mark.django_db


def test_openapi_document(client):
    doc = client.get("/api/openapi.json").json()
    assert doc["openapi"] == "3.1.0"
    assert {"/api/partners", "/api/partners/{partner_id}", "/api/partners/{partner_id}/contacts",
            "/api/referrals", "/api/referrals/{referral_id}/transition", "/api/followups",
            "/api/followups/{followup_id}/complete", "/api/reports/{slug}"} <= set(doc["paths"])
    assert set(doc["components"]["securitySchemes"]) == {"BearerKey", "HeaderKey"}
    get_partners = doc["paths"]["/api/partners"]["get"]
    assert {"401", "403", "422"} <= set(get_partners["responses"])
    limit = next(p for p in get_partners["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == 200


def test_docs_page_uses_local_assets_only(client):
    html = client.get("/api/docs").content.decode()
    assert "cdn" not in html.lower() and "https://" not in html
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js"):
        assert f"/api/docs/assets/{asset}" in html
        response = client.get(f"/api/docs/assets/{asset}")
        assert response.status_code == 200
        assert len(b"".join(response.streaming_content)) > 1000
    assert client.get("/api/docs/assets/..%2Fsettings.py").status_code == 404


def test_unknown_api_paths_answer_json(client):
    response = client.get("/api/no/such/thing")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
