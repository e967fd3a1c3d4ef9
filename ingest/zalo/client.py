"""A small Zalo API client on httpx: token refresh and user detail (the endpoints tiepnhan uses).

No maintained official Python client exists. Shapes (https://developers.zalo.me/docs/official-account):
  * POST {oauth_url}v4/oa/access_token, header "secret_key: <app secret>", form
    refresh_token, app_id, grant_type=refresh_token →
    {"access_token", "refresh_token", "expires_in": "90000"} (seconds, a string), or
    {"error": -14014, "error_name", "error_description"}. A refresh token works once.
  * GET {api_url}v3.0/oa/user/detail?data={"user_id": "..."}, header "access_token: <token>" →
    {"error": 0, "message": "Success", "data": {"user_id", "display_name", "avatar", "avatars": {...}}};
    a non-zero "error" otherwise (-216: the access token is invalid or expired).
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
