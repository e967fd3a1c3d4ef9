"""A small Zalo API client on httpx: token refresh and user detail (the endpoints tiepnhan uses).

No maintained official Python client exists. Shapes (https://developers.zalo.me/docs/official-account):
  * POST {oauth_url}v4/oa/access_token, header "secret_key: <app secret>", form
    refresh_token, app_id, grant_type=refresh_token →
    {"access_token", "refresh_token", "expires_in": "90000"} (seconds, a string), or
    {"error": -14014, "error_name", "error_description"}. A refresh token works once.
  * GET {api_url}v3.0/oa/user/detail?data={"user_id": "..."}, header "access_token: <token>" →
    {"error": 0, "message": "Success", "data": {"user_id", "display_name", "avatar", "avatars": {...}}};
    a non-zero "error" otherwise (-216: the access token is invalid or expired).
  * POST {api_url}v3.0/oa/message/cs, header "access_token", JSON
    {"recipient": {"user_id"}, "message": {"text"}} (a customer-service message) →
    {"error": 0, "message": "Success", "data": {"message_id", "user_id"}}, or a non-zero "error"
    (mapped to transient/permanent by notifiers/answer_zalo.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from config.settings import ZaloAccountConfig

# Zalo's documented lifetimes: about 25 hours for an access token, 3 months for a refresh token.
REFRESH_TOKEN_LIFETIME = timedelta(days=90)
INVALID_ACCESS_TOKEN = -216


class ZaloError(Exception):
    """The Zalo API could not be reached or answered with an error."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ZaloAuthError(ZaloError):
    """The token (access or refresh) was refused: no retry helps."""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_expires_at: datetime


@dataclass(frozen=True)
class UserProfile:
    user_id: str
    display_name: str | None
    avatar: str | None


def token_pair_from_answer(answer: Any, received_at: datetime) -> TokenPair:
    """The pair in a token endpoint's answer. Pure."""
    if not isinstance(answer, dict):
        raise ZaloError("token endpoint answered with something other than a JSON object")
    if answer.get("error") not in (None, 0):
        code = answer.get("error")
        raise ZaloAuthError(f"Zalo refused the refresh token: {answer.get('error_name') or ''} {answer.get('error_description') or ''}".strip(),
                            code if isinstance(code, int) else None)
    access, refresh, expires_in = answer.get("access_token"), answer.get("refresh_token"), str(answer.get("expires_in") or "")
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh or not expires_in.isdigit():
        raise ZaloError("token endpoint answer lacks access_token, refresh_token or expires_in")
    return TokenPair(access, refresh, received_at + timedelta(seconds=int(expires_in)), received_at + REFRESH_TOKEN_LIFETIME)


@dataclass(frozen=True)
class SendResult:
    """What the message API answered: error 0 with the message's id, or the error code and text."""

    error: int
    message: str
    message_id: str | None = None


def send_result_from_answer(answer: Any) -> SendResult:
    """The outcome in a CS message answer. Pure."""
    if not isinstance(answer, dict):
        raise ZaloError("message API answered with something other than a JSON object")
    code = answer.get("error")
    code = code if isinstance(code, int) and not isinstance(code, bool) else (int(code) if isinstance(code, str) and code.lstrip("-").isdigit() else None)
    if code is None:
        raise ZaloError("message API answer lacks its error code")
    text = str(answer.get("message") or "")[:300]
    data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
    message_id = data.get("message_id")
    return SendResult(code, text, str(message_id) if isinstance(message_id, str | int) and str(message_id) else None)


def profile_from_answer(answer: Any, user_id: str) -> UserProfile:
    """The user's display name and avatar from a user-detail answer. Pure."""
    if not isinstance(answer, dict):
        raise ZaloError("user detail answered with something other than a JSON object")
    code = answer.get("error")
    if code not in (None, 0):
        error = ZaloAuthError if code == INVALID_ACCESS_TOKEN else ZaloError
        raise error(f"user detail failed: {answer.get('message') or code}", code if isinstance(code, int) else None)
    data = answer.get("data") if isinstance(answer.get("data"), dict) else {}
    name, avatar = data.get("display_name"), data.get("avatar")
    return UserProfile(user_id, name if isinstance(name, str) and name else None, avatar if isinstance(avatar, str) and avatar else None)


class ZaloClient:
    def __init__(self, config: ZaloAccountConfig, transport: httpx.BaseTransport | None = None) -> None:
        self.config = config
        self.http = httpx.Client(timeout=config.timeout_seconds, transport=transport)

    def close(self) -> None:
        self.http.close()

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise ZaloError(f"Zalo answered HTTP {response.status_code} without JSON") from None

    def refresh(self, refresh_token: str, now: datetime) -> TokenPair:
        secret = self.config.app_secret.get_secret_value() if self.config.app_secret else ""
        try:
            response = self.http.post(f"{self.config.oauth_url}v4/oa/access_token", headers={"secret_key": secret},
                                      data={"refresh_token": refresh_token, "app_id": self.config.app_id, "grant_type": "refresh_token"})
        except httpx.HTTPError as exc:
            raise ZaloError(f"token endpoint unreachable: {type(exc).__name__}") from None
        return token_pair_from_answer(self._json(response), now)

    def user_detail(self, user_id: str, access_token: str) -> UserProfile:
        try:
            response = self.http.get(f"{self.config.api_url}v3.0/oa/user/detail", params={"data": json.dumps({"user_id": user_id})},
                                     headers={"access_token": access_token})
        except httpx.HTTPError as exc:
            raise ZaloError(f"user detail unreachable: {type(exc).__name__}") from None
        return profile_from_answer(self._json(response), user_id)

    def send_text(self, user_id: str, text: str, access_token: str) -> SendResult:
        """One customer-service text message; ZaloError when Zalo cannot be reached or answers oddly."""
        try:
            response = self.http.post(f"{self.config.api_url}v3.0/oa/message/cs", headers={"access_token": access_token},
                                      json={"recipient": {"user_id": user_id}, "message": {"text": text}})
        except httpx.HTTPError as exc:
            raise ZaloError(f"message API unreachable: {type(exc).__name__}") from None
        if response.status_code >= 500:
            raise ZaloError(f"message API answered HTTP {response.status_code}")
        return send_result_from_answer(self._json(response))
