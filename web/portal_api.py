"""POST /api/portal/questions: the agency's existing portal forwarding the questions it collects.

    Authorization: Bearer <the client's key, [[portal_clients]] api_key_env>
    {"client_id": "…", "name", "email", "phone", "province_code", "insurance_type", "subject", "body": "…"}
    → 201 {"ticket": "TN-000123", "secret_code": "ABCD-EFGH", "lookup_url": "…", "created": true}
    → 200 the same answer for a client_id sent before (nothing new is created)
    → 202 {"ticket": null, …} when the pipeline has not made the ticket within portal.wait_for_ticket_seconds
    → 401 a missing or wrong key; 400 a bad body, the reason in Vietnamese.

The key is compared in constant time with every client's; the Bearer header is not a user
token (web/auth.py ignores it here: this route never asks who the user is).
"""

from __future__ import annotations

import hmac
import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from config.settings import PortalClientConfig, Settings
from ingest.portal.question import QuestionError, validate_question
from ingest.portal.raw import api_external_id
from web.auth import bearer_token, engine_of, settings_of
from web.portal import LOOKUP_PATH, accept_question, ticket_of_raw
from web.portal_guard import lookup_code
from web.responses import json_error, json_ok
from web.secret import web_secret

log = logging.getLogger(__name__)

PATH = "/portal/questions"  # under the /api mount
MAX_BODY_BYTES = 64 * 1024


def client_for(key: str | None, clients: list[PortalClientConfig]) -> PortalClientConfig | None:
    found = None
    for client in clients:
        assert client.api_key is not None
        if key is not None and hmac.compare_digest(client.api_key.get_secret_value().encode(), key.encode("utf-8", "replace")):
            found = client  # no early return: every key is compared
    return found


async def submit_question(request: Request) -> Response:
    settings: Settings = settings_of(request)
    client = client_for(bearer_token(request), settings.portal_clients)
    if client is None:
        log.warning("portal api refused: bad or missing key", extra={"has_key": bearer_token(request) is not None})
        return json_error(401, "khoá API không đúng hoặc thiếu (Authorization: Bearer <khoá của máy khách cổng thông tin>)")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return json_error(400, f"nội dung yêu cầu lớn quá {MAX_BODY_BYTES // 1024} KB")
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return json_error(400, "nội dung yêu cầu phải là JSON hợp lệ")
    if not isinstance(data, dict):
        return json_error(400, "nội dung yêu cầu phải là một đối tượng JSON")
    try:
        question = validate_question(data, require_client_id=True)
    except QuestionError as exc:
        return json_error(400, str(exc))
    assert question.client_id is not None
    engine = engine_of(request)
    submitted = await run_in_threadpool(accept_question, engine, settings, question, [], source=client.name, external_id=api_external_id(client.name, question.client_id), via="api")
    ticket_id = await run_in_threadpool(ticket_of_raw, engine, submitted.raw_item_id, settings.portal.wait_for_ticket_seconds)
    log.info("portal api question", extra={"client": client.name, "new": submitted.is_new, "raw_item_id": submitted.raw_item_id})
    base = settings.web.public_base_url or ""
    answer = {"created": submitted.is_new, "lookup_url": f"{base}{LOOKUP_PATH}"}
    if ticket_id is None:
        return json_ok({**answer, "ticket": None, "message": "đã nhận câu hỏi; phiếu đang được tạo, gửi lại cùng client_id sau ít giây để biết mã phiếu"}, status_code=202)
    answer.update(ticket=f"TN-{ticket_id:06d}", secret_code=lookup_code(web_secret(settings), ticket_id))
    return json_ok(answer, status_code=201 if submitted.is_new else 200)


def portal_api_routes(settings: Settings) -> list[BaseRoute]:
    return [Route(PATH, submit_question, methods=["POST"], name="api_portal_questions")]
