"""JSON answers for the API: every error is {"error": "<Vietnamese message>"} with its status."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class VietnameseJSONResponse(JSONResponse):
    """JSON with Vietnamese as it is written (UTF-8), not as \\u escapes."""

    def render(self, content: Any) -> bytes:
        import json

        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=str).encode("utf-8")


def json_ok(content: Any, status_code: int = 200) -> VietnameseJSONResponse:
    return VietnameseJSONResponse(content, status_code=status_code)


def json_error(status_code: int, message: str) -> VietnameseJSONResponse:
    return VietnameseJSONResponse({"error": message}, status_code=status_code)


NOT_FOUND = "không tìm thấy"
