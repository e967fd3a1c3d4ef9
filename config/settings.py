"""Typed configuration, validated once at start-up.

Sources, highest priority first: environment variables (`TIEPNHAN_DATABASE_URL`,
`TIEPNHAN_REDIS_URL`, ...), then the TOML file given by `--config` or `TIEPNHAN_CONFIG`
(default `./tiepnhan.toml` when present), then the defaults below. With nothing configured
tiepnhan runs on embedded defaults: a SQLite file under `var/` and an in-process broker.

Secrets are never written in the file when avoidable: every secret `x` may be given as
`x_env = "NAME"`, naming the environment variable that holds it.
"""

from __future__ import annotations

import os
import string
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.messages import error_message, location

DEFAULT_CONFIG_FILE = Path("tiepnhan.toml")
PACKAGE_DIR = Path(__file__).resolve().parent


class ConfigError(Exception):
    """A configuration mistake, with one readable line per problem."""

    def __init__(self, problems: list[str], origin: str) -> None:
        self.problems = problems
        self.origin = origin
        super().__init__(f"cấu hình không hợp lệ ({origin}):\n" + "\n".join(f"  - {p}" for p in problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _secret_from_env(data: Any, name: str) -> Any:
    """Resolve `name_env = "VAR"` into `name`, failing clearly when VAR is unset."""
    if not isinstance(data, dict):
        return data
    env_key = f"{name}_env"
    if data.get(env_key):
        var = data[env_key]
        if data.get(name):
            raise ValueError(f"chỉ dùng một trong hai: {name} hoặc {env_key}")
        value = os.environ.get(var)
        if value is None:
            raise ValueError(f"{env_key} chỉ tới biến môi trường {var}, nhưng biến này chưa được đặt")
        data = {**data, name: value}
    return data


Security = Literal["ssl", "starttls", "plain"]
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _plain_only_on_loopback(security: str, host: str) -> None:
    if security == "plain" and host not in LOOPBACK_HOSTS and not host.startswith("127."):
        raise ValueError(f'security = "plain" (không mã hoá) chỉ được dùng với máy cục bộ (loopback: 127.0.0.1, localhost), không dùng với {host!r}')


class MailboxConfig(_Section):
    name: str = Field(min_length=1)
    host: str
    port: int = Field(993, ge=1, le=65535)
    security: Security = "ssl"
    username: str
    password: SecretStr | None = None
    password_env: str | None = None
    oauth2_token: SecretStr | None = None
    oauth2_token_env: str | None = None
    folders: list[str] = Field(default_factory=lambda: ["INBOX"], min_length=1)
    # The address citizens write to; answers to them are sent From it (default: the username
    # when it is an address, else smtp.from_address). See docs/answers.md.
    address: str | None = None
    after_fetch: str = "keep"
    poll_interval_seconds: float = Field(60.0, gt=0)
    batch_size: int = Field(200, ge=1, le=5000)
    timeout_seconds: float = Field(60.0, gt=0)
    # IMAP IDLE (RFC 2177) when the server offers it, besides the interval poll; IDLE is
    # re-issued before the server's 30-minute inactivity logout (29 minutes at most).
    idle: bool = True
    idle_timeout_seconds: float = Field(25 * 60.0, gt=0, le=29 * 60.0)

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        return _secret_from_env(_secret_from_env(data, "password"), "oauth2_token")

    @field_validator("address")
    @classmethod
    def _check_address(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        address = value.strip()
        local, at, domain = address.partition("@")
        if not at or not local or "." not in domain or any(c in address for c in ' <>(),;:"') or not address.isascii():
            raise ValueError(f"address phải là một địa chỉ thư (ví dụ hotro@bhxh.gov.vn), không phải {value!r}")
        return address

    @field_validator("after_fetch")
    @classmethod
    def _check_after_fetch(cls, value: str) -> str:
        if value in {"keep", "seen"} or (value.startswith("move:") and len(value) > 5):
            return value
        raise ValueError('after_fetch phải là "keep", "seen" hoặc "move:<thư mục>"')

    @model_validator(mode="after")
    def _check(self) -> MailboxConfig:
        if self.password is None and self.oauth2_token is None:
            raise ValueError(f"hộp thư {self.name!r} cần password, password_env, oauth2_token hoặc oauth2_token_env")
        _plain_only_on_loopback(self.security, self.host)
        return self


class FacebookPageConfig(_Section):
    name: str = Field(min_length=1)
    page_id: str = Field(pattern=r"^\d+$")
    access_token: SecretStr | None = None
    access_token_env: str | None = None
    app_secret: SecretStr | None = None
    app_secret_env: str | None = None
    app_token: SecretStr | None = None  # "app_id|app_secret", for /debug_token
    app_token_env: str | None = None
    verify_token: SecretStr | None = None
    verify_token_env: str | None = None
    graph_url: str = "https://graph.facebook.com/"
    api_version: str = Field("v21.0", pattern=r"^v\d+\.\d+$")
    poll_interval_seconds: float = Field(120.0, gt=0)
    timeout_seconds: float = Field(30.0, gt=0)
    # The page has Meta's Human Agent permission: an answer 24 h to 7 days after the citizen's last
    # message goes out with tag HUMAN_AGENT instead of being refused (notifiers/answer_facebook.py).
    human_agent: bool = False

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        for name in ("access_token", "app_secret", "app_token", "verify_token"):
            data = _secret_from_env(data, name)
        return data

    @field_validator("graph_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("graph_url phải là địa chỉ http:// hoặc https://")
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _check(self) -> FacebookPageConfig:
        if self.access_token is None:
            raise ValueError(f"fanpage {self.name!r} cần access_token hoặc access_token_env")
        return self


class ZaloAccountConfig(_Section):
    """One Zalo Official Account (issue 18): its webhook signature and its API tokens."""

    name: str = Field(min_length=1)
    oa_id: str = Field(pattern=r"^\d{1,30}$")
    app_id: str = Field(pattern=r"^\d{1,30}$")
    app_secret: SecretStr | None = None  # the app's secret key: the token refresh call
    app_secret_env: str | None = None
    oa_secret_key: SecretStr | None = None  # the OA secret key: webhook signatures (X-ZEvent-Signature)
    oa_secret_key_env: str | None = None
    refresh_token: SecretStr | None = None  # the first one; later ones are stored (ingest/zalo/tokens.py)
    refresh_token_env: str | None = None
    api_url: str = "https://openapi.zalo.me/"
    oauth_url: str = "https://oauth.zaloapp.com/"
    timeout_seconds: float = Field(10.0, gt=0)
    # Events whose timestamp is further than this from now are refused (403) as replays.
    max_event_age_seconds: float = Field(600.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        for name in ("app_secret", "oa_secret_key", "refresh_token"):
            data = _secret_from_env(data, name)
        return data

    @field_validator("api_url", "oauth_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("địa chỉ API Zalo phải bắt đầu bằng http:// hoặc https://")
        return value if value.endswith("/") else value + "/"

    @model_validator(mode="after")
    def _check(self) -> ZaloAccountConfig:
        if self.oa_secret_key is None:
            raise ValueError(f"tài khoản Zalo OA {self.name!r} cần oa_secret_key hoặc oa_secret_key_env (để kiểm tra chữ ký webhook)")
        if self.app_secret is None:
            raise ValueError(f"tài khoản Zalo OA {self.name!r} cần app_secret hoặc app_secret_env (để làm mới mã truy cập)")
        return self


class SmtpConfig(_Section):
    host: str
    port: int = Field(587, ge=1, le=65535)
    security: Security = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    from_address: str
    timeout_seconds: float = Field(30.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        return _secret_from_env(data, "password")

    @model_validator(mode="after")
    def _check(self) -> SmtpConfig:
        _plain_only_on_loopback(self.security, self.host)
        return self


class IntakeConfig(_Section):
    reply_address: str | None = None  # the intake mailbox; Reply-To becomes local+<token>@domain


class EscalationConfig(_Section):
    """How escalations are delivered and chased (see docs/routing.md)."""

    coordinator_addresses: list[str] = Field(default_factory=list)  # raised to when a unit is overdue
    mail_attachment_bytes: int = Field(10 * 1024 * 1024, ge=0)  # attached up to this total; listed beyond
    retry_min_seconds: float = Field(60.0, gt=0)
    retry_max_seconds: float = Field(3_600.0, gt=0)
    max_attempts: int = Field(20, ge=1)
    # A send claimed longer ago than this was interrupted (a crash): it is handed out again.
    stale_send_minutes: float = Field(15.0, gt=0)


class WebConfig(_Section):
    """The web app (see docs/web.md): login sessions, CSRF, login throttling, links to pages."""

    # Signs the login cookie and the CSRF token. Without one, a random key is made once and
    # kept in data_dir/web-secret.key (every process on this machine shares it).
    secret_key: SecretStr | None = None
    secret_key_env: str | None = None
    public_base_url: str | None = None  # e.g. https://tiepnhan.example.vn (links in mails)
    session_max_age_minutes: float = Field(480.0, gt=0, le=60 * 24 * 30)  # a working day
    # Secure cookies: "auto" when public_base_url is https://, or say so.
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    login_max_failures: int = Field(5, ge=1, le=1000)  # per user name; four times this per client address
    login_window_minutes: float = Field(15.0, gt=0)
    login_lockout_minutes: float = Field(15.0, gt=0)

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        return _secret_from_env(data, "secret_key")

    @field_validator("public_base_url")
    @classmethod
    def _check_base_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("public_base_url phải bắt đầu bằng http:// hoặc https://")
        return value.rstrip("/")

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("secret_key phải dài ít nhất 32 ký tự (tạo bằng: python -c 'import secrets; print(secrets.token_urlsafe(48))')")
        return value

    def cookies_secure(self) -> bool:
        if self.secure_cookies == "auto":
            return bool(self.public_base_url and self.public_base_url.startswith("https://"))
        return self.secure_cookies == "always"


class WorkerConfig(_Section):
    processes: int = Field(2, ge=1, le=64)
    threads: int = Field(4, ge=1, le=256)
    max_retries: int = Field(8, ge=0, le=100)
    min_backoff_ms: int = Field(1_000, ge=0)
    max_backoff_ms: int = Field(300_000, ge=0)
    time_limit_ms: int = Field(600_000, ge=1_000)
    # Redis broker: how soon the work of a dead worker is redelivered (docs/operations.md).
    # A live worker process heartbeats on every broker command of its consumer threads, at
    # least once a second (dramatiq's 1 s idle fetch), whatever its actors are doing; one silent
    # for heartbeat_timeout_ms is dead, and the next command on a queue (maintenance on every
    # command: maintenance_chance of 1,000,000) hands its unacknowledged messages out again.
    heartbeat_timeout_ms: int = Field(4_000, ge=3_000, le=3_600_000)
    maintenance_chance: int = Field(1_000_000, ge=1, le=1_000_000)
    dead_message_ttl_ms: int = Field(7 * 86_400_000, ge=60_000)  # dead letters kept in Redis
    # A poll may run longer than a pipeline stage (a first sync of a large mailbox); sockets
    # time out on their own (each source's timeout_seconds), this bounds the whole call.
    poll_time_limit_ms: int = Field(1_800_000, ge=1_000)


class SchedulerConfig(_Section):
    """What `tiepnhan scheduler` (and `tiepnhan run`) enqueues, and when."""

    tick_seconds: float = Field(1.0, gt=0, le=60)
    # The per-source poll lock: renewed while a poll runs, so its TTL only bounds a dead holder.
    poll_lock_ttl_seconds: float = Field(120.0, ge=5)
    max_poll_backoff_seconds: float = Field(1_800.0, gt=0)
    reminder_interval_minutes: float = Field(15.0, gt=0)
    digest_time: str = Field("07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local time, daily
    # When the pipeline queue is idle, re-send any stage whose message was lost (see docs/operations.md).
    reconcile_interval_minutes: float = Field(10.0, gt=0)
    token_check_interval_hours: float = Field(6.0, gt=0)
    # Compare each mailbox with what was stored (IMAP: every UID has its raw item), under its lock.
    source_reconcile_interval_hours: float = Field(6.0, gt=0)


class WebhookConfig(_Section):
    """Limits on what a webhook caller may send (every webhook: fanpage, and those to come)."""

    # Refused with 413 past this: from Content-Length before reading, else counted while streaming.
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1_024, le=100 * 1024 * 1024)
    # The whole body must arrive within this; a client trickling it (slowloris) gets 408.
    body_timeout_seconds: float = Field(10.0, gt=0, le=300)


class AutoAnswerConfig(_Section):
    """Automatic answers from the question bank (issue 14): off unless switched on, and then only
    for published entries scoring at least min_score, on the topics and channels listed."""

    enabled: bool = False
    min_score: float = Field(0.8, gt=0, le=10)  # a suggestion's score (docs/qbank.md); high on purpose
    topics: list[str] = Field(default_factory=list)  # bank entry topics allowed; empty: none
    channels: list[Literal["email", "facebook_message", "facebook_comment", "zalo"]] = Field(default_factory=list)  # channels with a sender
    # Added to every automatic answer: it says the answer is automatic and how to reach a person.
    notice: str = (
        "Đây là câu trả lời tự động từ ngân hàng câu hỏi của BHXH Việt Nam. "
        "Nếu chưa đúng với trường hợp của bạn, hãy trả lời thư/tin nhắn này hoặc gọi tổng đài 1900 9068 để gặp cán bộ."
    )

    @model_validator(mode="after")
    def _check_enabled(self) -> AutoAnswerConfig:
        if self.enabled and not self.topics:
            raise ValueError("question_bank.auto_answer: đã bật (enabled = true) thì phải chọn ít nhất một chủ đề (topics)")
        if self.enabled and not self.channels:
            raise ValueError("question_bank.auto_answer: đã bật (enabled = true) thì phải chọn ít nhất một kênh (channels)")
        if not self.notice.strip():
            raise ValueError("question_bank.auto_answer.notice: không được để trống dòng báo trả lời tự động")
        return self


class QuestionBankConfig(_Section):
    """The question bank's suggestions (docs/qbank.md)."""

    # Below this score no suggestion is shown; None: the threshold calibrated on the dev questions.
    suggestion_threshold: float | None = Field(None, ge=0, le=10)
    auto_answer: AutoAnswerConfig = Field(default_factory=AutoAnswerConfig)


ANSWER_PLACEHOLDERS = frozenset({"name", "reference"})


def _check_placeholders(field_name: str, template: str) -> str:
    """Only {name} and {reference} may appear; a stray brace is a mistake said in Vietnamese."""
    try:
        names = {name for _text, name, _spec, _conv in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise ValueError(f"answers.{field_name}: dấu ngoặc nhọn không khớp ({exc}); dùng {{{{ và }}}} để viết dấu ngoặc") from None
    unknown = sorted(names - ANSWER_PLACEHOLDERS)
    if unknown:
        raise ValueError(
            f"answers.{field_name}: không có chỗ điền {', '.join('{' + n + '}' for n in unknown)}; chỉ dùng được {{name}} (tên công dân) và {{reference}} (mã phiếu)"
        )
    return template


class AnswersConfig(_Section):
    """Greeting and signature wrapped around every answer to a citizen, per channel (issue 14).
    {name}: the citizen's name (or "Quý ông/bà"), {reference}: the ticket's reference TN-000123."""

    greeting_email: str = "Kính gửi {name},"
    signature_email: str = "Trân trọng,\nTrung tâm Chăm sóc khách hàng BHXH Việt Nam\n(Mã phiếu {reference})"
    greeting_chat: str = "Chào {name},"
    signature_chat: str = "Trung tâm CSKH BHXH Việt Nam (mã phiếu {reference})"
    anonymous_name: str = Field("Quý ông/bà", min_length=1)  # when the citizen's name is unknown

    @field_validator("greeting_email", "signature_email", "greeting_chat", "signature_chat")
    @classmethod
    def _check_template(cls, value: str, info: ValidationInfo) -> str:
        return _check_placeholders(str(info.field_name), value)


# --- business calendar and report targets (issue 15) -----------------------------------------


class BusinessCalendarConfig(_Section):
    """When the center works: the clocks count business minutes on this calendar (docs/reports.md).

    Public holidays come from the `holidays` library (Vietnam, lunar ones included); the
    government's yearly decisions (extra Tết days off, make-up working Saturdays) are listed here.
    """

    timezone: str = "Asia/Ho_Chi_Minh"
    working_days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])  # ISO: 1 = Monday ... 7 = Sunday
    working_hours: list[str] = Field(default_factory=lambda: ["07:30-11:30", "13:00-16:30"])
    holiday_country: str = "VN"
    extra_days_off: list[date] = Field(default_factory=list)
    # Saturdays worked in exchange for a bridge day off (the library lists the day off itself).
    make_up_working_days: list[date] = Field(default_factory=lambda: [date(2025, 4, 26), date(2026, 8, 22)])
    # true: an escalation's sla_hours (rules, units) are working hours of this calendar, so its
    # deadline skips nights, weekends and holidays; false: hours on the clock.
    sla_in_business_hours: bool = False

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"múi giờ không tồn tại: {value!r} (ví dụ đúng: Asia/Ho_Chi_Minh)") from None
        return value

    @field_validator("working_days")
    @classmethod
    def _check_days(cls, value: list[int]) -> list[int]:
        wrong = [d for d in value if d not in range(1, 8)]
        if wrong:
            raise ValueError(f"ngày làm việc phải là số từ 1 (thứ Hai) đến 7 (Chủ nhật), không phải {wrong}")
        return sorted(set(value))

    @field_validator("working_hours")
    @classmethod
    def _check_hours(cls, value: list[str]) -> list[str]:
        periods = [parse_period(text) for text in value]
        for (_, end), (start, _) in zip(periods, periods[1:]):
            if start < end:
                raise ValueError("các khung giờ làm việc phải theo thứ tự và không chồng lên nhau")
        if not periods:
            raise ValueError("cần ít nhất một khung giờ làm việc, ví dụ \"07:30-11:30\"")
        return value

    @field_validator("holiday_country")
    @classmethod
    def _check_country(cls, value: str) -> str:
        import holidays

        if value not in holidays.list_supported_countries():
            raise ValueError(f"không có lịch nghỉ lễ cho mã quốc gia {value!r} (Việt Nam là \"VN\")")
        return value

    @model_validator(mode="after")
    def _no_day_both_ways(self) -> BusinessCalendarConfig:
        both = sorted(set(self.extra_days_off) & set(self.make_up_working_days))
        if both:
            raise ValueError(f"một ngày không thể vừa là ngày nghỉ vừa là ngày làm bù: {', '.join(d.isoformat() for d in both)}")
        return self


def parse_period(text: str) -> tuple[time, time]:
    """'07:30-11:30' -> (07:30, 11:30), with a Vietnamese error for anything else."""
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
        start, end = time.fromisoformat(start_text), time.fromisoformat(end_text)
    except ValueError:
        raise ValueError(f"khung giờ {text!r} phải có dạng \"HH:MM-HH:MM\", ví dụ \"13:00-16:30\"") from None
    if end <= start:
        raise ValueError(f"khung giờ {text!r}: giờ kết thúc phải sau giờ bắt đầu")
    return start, end


class ReportTargetsConfig(_Section):
    """The service targets the acceptance report checks (business hours, shares between 0 and 1)."""

    first_response_hours: float = Field(8.0, gt=0)  # e.g. 90% of questions answered within 8 business hours
    first_response_share: float = Field(0.9, gt=0, le=1)
    first_response_categories: list[str] = Field(default_factory=lambda: ["question"])
    resolution_hours: float = Field(80.0, gt=0)
    resolution_share: float = Field(0.8, gt=0, le=1)
    review_hours: float = Field(4.0, gt=0)
    review_share: float = Field(0.9, gt=0, le=1)
    sla_share: float = Field(0.9, gt=0, le=1)



# --- the web portal and the call center (issue 18) -------------------------------------------
class PortalClientConfig(_Section):
    """The agency's existing portal (or another system) forwarding questions to POST /api/portal/questions."""

    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")
    api_key: SecretStr | None = None  # sent as Authorization: Bearer <key>
    api_key_env: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        return _secret_from_env(data, "api_key")

    @model_validator(mode="after")
    def _check(self) -> PortalClientConfig:
        if self.api_key is None:
            raise ValueError(f"máy khách cổng thông tin {self.name!r} cần api_key hoặc api_key_env")
        if len(self.api_key.get_secret_value()) < 24:
            raise ValueError(f"khoá API của máy khách cổng thông tin {self.name!r} phải dài ít nhất 24 ký tự")
        return self


class PortalConfig(_Section):
    """The public question form /hoi-dap (docs/channels.md): limits against abuse."""

    enabled: bool = True
    max_per_ip: int = Field(5, ge=1, le=10_000)  # questions sent from one client address in the window
    max_per_address: int = Field(3, ge=1, le=10_000)  # questions from one email address or phone number in the window
    window_minutes: float = Field(60.0, gt=0, le=24 * 60)
    min_fill_seconds: float = Field(3.0, ge=0, le=600)  # a form sent sooner than this after it was shown is a robot's
    max_form_age_minutes: float = Field(24 * 60.0, gt=0)
    max_attachments: int = Field(3, ge=0, le=10)
    max_attachment_bytes: int = Field(5 * 1024 * 1024, gt=0, le=25 * 1024 * 1024)
    wait_for_ticket_seconds: float = Field(10.0, ge=0, le=60)  # the confirmation waits this long for the ticket number
    acknowledge_by_email: bool = True  # one acknowledgement to the given address (only with [smtp])


class CallCenterConfig(_Section):
    """The call center's records (docs/channels.md): CTI events and call-log imports."""

    name: str = Field("tongdai", min_length=1, max_length=100)  # the source name on calls and their tickets
    secret: SecretStr | None = None  # signs POST /webhooks/calls (X-CTI-Signature)
    secret_env: str | None = None
    match_open_ticket_days: int = Field(7, ge=0, le=365)  # a call joins the caller's open ticket touched within this many days
    ring_timeout_seconds: int = Field(30, ge=1, le=3600)  # an unanswered call shorter than this was abandoned, else missed

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        return _secret_from_env(data, "secret")

    @field_validator("secret")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("khoá bí mật của tổng đài (call_center.secret) phải dài ít nhất 16 ký tự")
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TIEPNHAN_", extra="forbid", env_nested_delimiter="__")

    database_url: str = "sqlite:///var/tiepnhan.db"
    redis_url: str | None = None
    data_dir: Path = Path("var")
    timezone: str = "Asia/Ho_Chi_Minh"
    max_attachment_bytes: int = Field(25 * 1024 * 1024, ge=0)
    log_format: Literal["auto", "json", "text"] = "auto"
    log_level: str = "INFO"
    units_file: Path = PACKAGE_DIR / "units.toml"
    routing_file: Path = PACKAGE_DIR / "routing.toml"
    source_failing_threshold_minutes: float = Field(30.0, gt=0)
    mailboxes: list[MailboxConfig] = Field(default_factory=list)
    facebook_pages: list[FacebookPageConfig] = Field(default_factory=list)
    zalo_accounts: list[ZaloAccountConfig] = Field(default_factory=list)
    portal_clients: list[PortalClientConfig] = Field(default_factory=list)
    portal: PortalConfig = Field(default_factory=PortalConfig)
    call_center: CallCenterConfig = Field(default_factory=CallCenterConfig)
    smtp: SmtpConfig | None = None
    intake: IntakeConfig = Field(default_factory=IntakeConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    web: WebConfig = Field(default_factory=WebConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig)
    question_bank: QuestionBankConfig = Field(default_factory=QuestionBankConfig)
    business_calendar: BusinessCalendarConfig = Field(default_factory=BusinessCalendarConfig)
    report_targets: ReportTargetsConfig = Field(default_factory=ReportTargetsConfig)
    answers: AnswersConfig = Field(default_factory=AnswersConfig)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file, which arrives as init arguments.
        return (env_settings, init_settings)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("database_url phải là địa chỉ sqlite:/// hoặc postgresql://")
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url phải là địa chỉ redis://, rediss:// hoặc unix://")
        return value

    @model_validator(mode="after")
    def _unique_source_names(self) -> Settings:
        names = [m.name for m in self.mailboxes] + [p.name for p in self.facebook_pages] + [z.name for z in self.zalo_accounts] + [c.name for c in self.portal_clients]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"tên nguồn (name) không được trùng nhau; bị trùng: {', '.join(duplicates)}")
        return self


def config_path(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file to read: --config, then TIEPNHAN_CONFIG, then ./tiepnhan.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get("TIEPNHAN_CONFIG"):
        return Path(os.environ["TIEPNHAN_CONFIG"])
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.exists() else None


def _environment_variable(loc: tuple[Any, ...]) -> str | None:
    """The TIEPNHAN_ variable a value came from, if one is set for it (or for its section)."""
    names = [str(part) for part in loc if not isinstance(part, int)]
    for length in range(len(names), 0, -1):
        variable = "TIEPNHAN_" + "__".join(names[:length]).upper()
        if any(key.upper() == variable for key in os.environ):
            return variable
    return None


def _describe(error: dict[str, Any], file: Path | None) -> str:
    """One mistake, naming where the value came from: the environment variable, or the file and key."""
    loc = tuple(error["loc"])
    key = location(loc)
    variable = _environment_variable(loc) if loc else None
    if variable is not None:
        where = f"biến môi trường {variable} (khoá {key})"
    elif file is not None:
        where = f"tệp {file}, khoá {key}"
    else:
        where = f"khoá {key} (giá trị mặc định)"
    return f"{where}: {error_message(error)}"


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Read and validate the configuration, or raise ConfigError listing every mistake."""
    file = config_path(path)
    origin = str(file) if file else "biến môi trường và giá trị mặc định"
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError([f"không tìm thấy tệp cấu hình: {file}" + (" (từ biến môi trường TIEPNHAN_CONFIG)" if not path and os.environ.get("TIEPNHAN_CONFIG") else "")], origin) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"tệp {file} không phải TOML hợp lệ: {exc}"], origin) from None
    data.update(overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError([_describe(e, file) for e in exc.errors()], origin) from None
    if file is not None:
        # Relative paths in a config file are relative to the file, like every other tool.
        base = file.resolve().parent
        for name in ("data_dir", "units_file", "routing_file"):
            value = getattr(settings, name)
            if name in data and f"TIEPNHAN_{name.upper()}" not in os.environ and not Path(value).is_absolute():
                setattr(settings, name, base / value)
        from_file = "database_url" in data and "TIEPNHAN_DATABASE_URL" not in os.environ
        if settings.database_url.startswith("sqlite:///") and from_file:
            db_path = settings.database_url.removeprefix("sqlite:///")
            if db_path and not db_path.startswith("/") and db_path != ":memory:":
                settings.database_url = f"sqlite:///{base / db_path}"
    return settings
