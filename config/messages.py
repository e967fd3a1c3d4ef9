"""Pydantic's validation errors as Vietnamese sentences, for the configuration's error lines.

Pure: an error dict from `ValidationError.errors()` in, one readable phrase out. Messages our own
validators raise (ValueError) are already Vietnamese and are kept as they are.
"""

from __future__ import annotations

from typing import Any

# Pydantic error type → Vietnamese; {name} placeholders come from the error's ctx.
TEMPLATES = {
    "missing": "thiếu giá trị bắt buộc",
    "extra_forbidden": "khoá không được hỗ trợ (gõ nhầm tên?)",
    "int_parsing": "phải là số nguyên",
    "int_type": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "float_parsing": "phải là số",
    "float_type": "phải là số",
    "bool_parsing": "phải là true hoặc false",
    "bool_type": "phải là true hoặc false",
    "string_type": "phải là chuỗi ký tự",
    "list_type": "phải là danh sách",
    "dict_type": "phải là một bảng",
    "model_type": "phải là một bảng",
    "model_attributes_type": "phải là một bảng",
    "literal_error": "phải là một trong: {expected}",
    "enum": "phải là một trong: {expected}",
    "greater_than": "phải lớn hơn {gt}",
    "greater_than_equal": "phải lớn hơn hoặc bằng {ge}",
    "less_than": "phải nhỏ hơn {lt}",
    "less_than_equal": "phải nhỏ hơn hoặc bằng {le}",
    "string_pattern_mismatch": "không đúng dạng (mẫu: {pattern})",
    "string_too_short": "quá ngắn (ít nhất {min_length} ký tự)",
    "string_too_long": "quá dài (nhiều nhất {max_length} ký tự)",
    "too_short": "quá ít phần tử (ít nhất {min_length})",
    "too_long": "quá nhiều phần tử (nhiều nhất {max_length})",
    "url_parsing": "không phải địa chỉ URL hợp lệ",
    "path_type": "phải là đường dẫn tệp",
}
MAX_SHOWN_INPUT = 60


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_SHOWN_INPUT else text[: MAX_SHOWN_INPUT - 1] + "…"


def error_message(error: dict[str, Any]) -> str:
    """"phải là số nguyên (đang là 'abc')"; our own validators' messages unchanged."""
    kind = str(error.get("type", ""))
    if kind in ("value_error", "assertion_error"):
        return str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    template = TEMPLATES.get(kind)
    if template is None:
        return f"giá trị không hợp lệ ({error.get('msg', kind)})"
    try:
        text = template.format(**{k: str(v).replace(" or ", " hoặc ") for k, v in (error.get("ctx") or {}).items()})
    except (KeyError, IndexError):
        text = template.split(":")[0]
    if kind not in ("missing", "extra_forbidden") and "input" in error and not isinstance(error["input"], dict | list):
        text += f" (đang là {_shown(error['input'])})"
    return text


def location(loc: tuple[Any, ...] | list[Any]) -> str:
    """('mailboxes', 0, 'port') → 'mailboxes[0].port'."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(cấp trên cùng)"
