"""The directory of units that receive escalations, read from `units_file` and validated.

A unit is a provincial social-insurance office (`province-<code>` on the 2025 map) or a
central unit. It is reached by email (one or more addresses) or by a signed webhook. An
address under a domain reserved for examples (RFC 2606, RFC 6761) counts as not configured:
the shipped file uses them, and nothing must be sent there by accident.
"""

from __future__ import annotations

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator

from config.messages import error_message, location
from config.settings import ConfigError, _secret_from_env

UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")
# RFC 2606 section 2 and 3, RFC 6761 section 6: names that can never be a real destination.
RESERVED_TLDS = ("example", "test", "invalid")
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
MAX_SLA_HOURS = 8760.0  # a year: more is a typing mistake


@cache
def province_codes() -> frozenset[str]:
    from vietnam_provinces import Province

    return frozenset(f"{int(p.code):02d}" for p in Province.iter_all())


def is_placeholder_address(address: str) -> bool:
    domain = address.rpartition("@")[2].lower().rstrip(".")
    if domain in RESERVED_DOMAINS or any(domain.endswith("." + d) for d in RESERVED_DOMAINS):
        return True
    return domain.rpartition(".")[2] in RESERVED_TLDS


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    name: str = Field(min_length=1)
    kind: Literal["province", "central"]
    province_code: str | None = None
    handles: str = ""
    emails: tuple[str, ...] = ()
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_secret_env: str | None = None
    digest: bool = False
    # Deadlines (sla_hours) of escalations to this unit in working hours of [business_calendar]
    # (true) or in clock hours (false); unset: as the rule says, else as business_calendar says.
    sla_business_hours: bool | None = None
    # The unit's own deadline, in hours (issue 15), for escalations whose rule names none (and
    # reroutes to it: tickets/escalations.py); unset: the default (tickets/directory.py).
    sla_hours: float | None = Field(None, gt=0, le=MAX_SLA_HOURS)

    @model_validator(mode="before")
    @classmethod
    def _resolve_secrets(cls, data: Any) -> Any:
        return _secret_from_env(data, "webhook_secret")

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not UNIT_ID.match(value):
            raise ValueError(f"mã đơn vị {value!r} chỉ được gồm chữ thường không dấu, chữ số và '-'")
        return value

    @field_validator("emails")
    @classmethod
    def _check_emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [address for address in value if not _ADDRESS.match(address)]
        if bad:
            raise ValueError(f"không phải địa chỉ thư điện tử: {', '.join(bad)}")
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("webhook_url phải là địa chỉ http:// hoặc https://")
        return value

    @model_validator(mode="after")
    def _check(self) -> Unit:
        if self.kind == "province":
            if self.province_code not in province_codes():
                raise ValueError(f"province_code {self.province_code!r} không phải mã tỉnh/thành trên bản đồ 2025")
            if self.id != f"province-{self.province_code}":
                raise ValueError(f"mã của BHXH tỉnh/thành phải là province-{self.province_code}")
        elif self.province_code is not None:
            raise ValueError("chỉ BHXH tỉnh/thành (kind = \"province\") mới có province_code")
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("webhook_url cần webhook_secret hoặc webhook_secret_env (nội dung gửi đi được ký)")
        return self

    @property
    def real_emails(self) -> tuple[str, ...]:
        return tuple(a for a in self.emails if not is_placeholder_address(a))

    def why_unreachable(self) -> str | None:
        """None when the unit can be notified; otherwise the reason, in Vietnamese."""
        if self.webhook_url or self.real_emails:
            return None
        if self.emails:
            return f"đơn vị {self.id} chỉ có địa chỉ mẫu ({', '.join(self.emails)}), chưa có địa chỉ thật"
        return f"đơn vị {self.id} chưa được cấu hình địa chỉ email hay webhook"


class UnitDirectory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    units: tuple[Unit, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> UnitDirectory:
        ids = [u.id for u in self.units]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"mã đơn vị không được trùng nhau; bị trùng: {', '.join(repeated)}")
        return self

    def get(self, unit_id: str) -> Unit | None:
        return next((u for u in self.units if u.id == unit_id), None)

    def __contains__(self, unit_id: object) -> bool:
        return any(u.id == unit_id for u in self.units)

    def name_of(self, unit_id: str) -> str | None:
        """The unit's Vietnamese name ("BHXH Thành phố Hồ Chí Minh"), None when not in the
        directory: the name lookup the labels take (tickets.labels.UnitNames)."""
        unit = self.get(unit_id)
        return unit.name if unit is not None else None


def describe_list_error(error: dict[str, Any], data: dict[str, Any], list_key: str, name_key: str, path: Path | None = None) -> str:
    """One validation error as a line, naming the list entry it is in: "rules[2] (to-cao).to: …"."""
    loc = list(error["loc"])
    where = location(loc)
    if len(loc) >= 2 and loc[0] == list_key and isinstance(loc[1], int):
        try:
            name = data[list_key][loc[1]].get(name_key, "?")
        except (IndexError, KeyError, AttributeError, TypeError):
            name = "?"
        where = f"{list_key}[{loc[1]}] ({name})" + "".join(f".{p}" for p in loc[2:])
    return (f"tệp {path}, " if path else "") + f"{where}: {error_message(error)}"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"không tìm thấy tệp: {path}"], str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"tệp {path} không phải TOML hợp lệ: {exc}"], str(path)) from None


def read_unit_names(path: Path) -> dict[str, str]:
    """Each unit's name by its id, read from the file without validating the directory: for a
    read-only command that only prints names (`tiepnhan show`, which skips the validation at
    start-up). A missing or broken file raises ConfigError as load_units does; an entry without
    a text id and name is left out (its id is then shown as it is)."""
    units = read_toml(path).get("units", [])
    if not isinstance(units, list):
        return {}
    return {u["id"]: u["name"] for u in units if isinstance(u, dict) and isinstance(u.get("id"), str) and isinstance(u.get("name"), str) and u["name"].strip()}


def load_units(path: Path) -> UnitDirectory:
    data = read_toml(path)
    try:
        return UnitDirectory(**data)
    except ValidationError as exc:
        raise ConfigError([describe_list_error(e, data, "units", "id", path) for e in exc.errors()], str(path)) from None
