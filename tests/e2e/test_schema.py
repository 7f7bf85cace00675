"""Schema-driven fuzzing (schemathesis): every documented operation, with generated input, answers
without a server error and only with documented status codes, headers and bodies.

"Schema-valid requests are accepted" is not checked: intake and reference data rightly refuse (422)
much that the schema allows, such as an unknown SKU or a total that does not add up."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from ordo.entrypoints.api.app import create_app
from tests.factories import order_payload, seed, user_token

EXAMPLES_PER_OPERATION = 8


def test_every_operation_keeps_its_contract(ordo):
    seed(ordo)
    headers = {"Authorization": f"Bearer {user_token(ordo, 'root', ['admin'])}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(ordo))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 30

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()


def test_nul_characters_are_refused_not_stored(ordo, database):
    seed(ordo)
    token = user_token(ordo, "root", ["admin"])
    before = database.row_counts()
    with TestClient(create_app(ordo)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        body = client.post("/api/v1/orders", json=order_payload(customer={"name": "张\x00伟", "phone": "13812345678"}))
        query = client.get("/api/v1/orders", params={"phone": "138\x00"})
    assert (body.status_code, body.json()["errors"]) == (422, [
        {"field": "customer.name", "code": "nul_character",
         "message": "customer.name contains a NUL character, which is not allowed."},
    ])
    assert (query.status_code, query.json()["detail"]) == (422, "URL contains a NUL character, which is not allowed.")
    assert database.row_counts() == before


def test_hostile_bodies_are_refused_with_problems(ordo):
    seed(ordo)
    token = user_token(ordo, "root", ["admin"])
    with TestClient(create_app(ordo)) as client:
        client.headers["Authorization"] = f"Bearer {token}"

        def post(content, **headers):
            r = client.post("/api/v1/orders", content=content, headers={"content-type": "application/json", **headers})
            return r.status_code, r.json()["code"], r.json()["detail"]

        def chunks():
            yield b'{"remark": "'
            for _ in range(40):
                yield b"x" * 32_768
            yield b'"}'

        too_large = "The request body is larger than 1048576 bytes."
        unreadable = "The request body could not be read: it must be JSON in UTF-8."
        assert post(chunks()) == (413, "payload_too_large", too_large)
        assert post(b"{}" + b" " * 1_048_576) == (413, "payload_too_large", too_large)
        assert post(b'{"shop": "\xff\xfe"}') == (400, "bad_request", unreadable)
        assert post(b"[" * 100_000 + b"]" * 100_000) == (400, "bad_request", unreadable)
        zh = post(b'{"shop": "\xff"}', **{"accept-language": "zh-CN"})
        assert zh[2] == "无法读取请求体：必须是 UTF-8 编码的 JSON。"
        stored = client.post("/api/v1/orders", json=order_payload(
            external_id="X'); DROP TABLE orders; --", remark="<script>alert(1)</script>")).json()
        assert (stored["external_id"], stored["remark"]) == ("X'); DROP TABLE orders; --", "<script>alert(1)</script>")
