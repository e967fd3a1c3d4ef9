"""Configuration is validated at start-up with one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings

MAILBOX = """
[[mailboxes]]
name = "hotro"
host = "imap.example.vn"
username = "hotro@example.vn"
password_env = "HOTRO_IMAP_PASSWORD"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiepnhan.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for var in ("TIEPNHAN_DATABASE_URL", "TIEPNHAN_REDIS_URL", "TIEPNHAN_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    settings = load_settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None


def test_secret_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTRO_IMAP_PASSWORD", "s3cret")
    settings = load_settings(write(tmp_path, MAILBOX))
    assert settings.mailboxes[0].password is not None
    assert settings.mailboxes[0].password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)  # secrets never print


def test_missing_secret_variable_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HOTRO_IMAP_PASSWORD", raising=False)
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, MAILBOX))
    assert any("HOTRO_IMAP_PASSWORD" in p and "chưa được đặt" in p for p in error.value.problems)


def test_every_mistake_is_listed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTRO_IMAP_PASSWORD", "x")
    text = MAILBOX.replace('host = "imap.example.vn"', 'host = "imap.example.vn"\nport = "abc"\nafter_fetch = "delete"\nsecurity = "tls"')
    text += '\ncolour = "blue"\n'
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    problems = "\n".join(error.value.problems)
    assert "mailboxes[0].port: phải là số nguyên (đang là 'abc')" in problems
    assert "after_fetch" in problems
    assert "mailboxes[0].security: phải là một trong: 'ssl', 'starttls' hoặc 'plain' (đang là 'tls')" in problems
    assert "mailboxes[0].colour: khoá không được hỗ trợ" in problems
    assert all(p.startswith(f"tệp {tmp_path / 'tiepnhan.toml'}, khoá ") for p in error.value.problems)
    assert str(tmp_path / "tiepnhan.toml") == error.value.origin


def test_plain_security_only_on_loopback(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTRO_IMAP_PASSWORD", "x")
    with pytest.raises(ConfigError, match="máy cục bộ"):
        load_settings(write(tmp_path, MAILBOX.replace('username', 'security = "plain"\nusername')))


def test_environment_overrides_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", "postgresql://u:p@127.0.0.1/tn")
    monkeypatch.setenv("TIEPNHAN_REDIS_URL", "redis://127.0.0.1:6379/0")
    settings = load_settings(write(tmp_path, 'database_url = "sqlite:///other.db"\n'))
    assert settings.database_url == "postgresql+psycopg://u:p@127.0.0.1/tn"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"


def test_relative_paths_are_relative_to_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("TIEPNHAN_DATABASE_URL", raising=False)
    settings = load_settings(write(tmp_path, 'database_url = "sqlite:///data/t.db"\n'))
    assert settings.database_url == f"sqlite:///{tmp_path / 'data/t.db'}"


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="không phải TOML hợp lệ"):
        load_settings(write(tmp_path, "mailboxes = [\n"))
    with pytest.raises(ConfigError, match="không tìm thấy tệp cấu hình"):
        load_settings(tmp_path / "nope.toml")


def test_duplicate_source_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTRO_IMAP_PASSWORD", "x")
    with pytest.raises(ConfigError, match="bị trùng: hotro"):
        load_settings(write(tmp_path, MAILBOX + MAILBOX))


def test_a_bad_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", "mysql://u@h/db")
    monkeypatch.setenv("TIEPNHAN_WORKER__THREADS", "0")
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, 'database_url = "sqlite:///ok.db"\n'))
    problems = error.value.problems
    assert any(p.startswith("biến môi trường TIEPNHAN_DATABASE_URL (khoá database_url): ") and "sqlite:///" in p for p in problems), problems
    assert any(p.startswith("biến môi trường TIEPNHAN_WORKER__THREADS (khoá worker.threads): ") and "lớn hơn hoặc bằng 1" in p for p in problems), problems


def test_config_file_from_the_environment_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIEPNHAN_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert error.value.problems == [f"không tìm thấy tệp cấu hình: {tmp_path / 'missing.toml'} (từ biến môi trường TIEPNHAN_CONFIG)"]


def test_every_config_message_is_vietnamese(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No English sentence left in what a broken configuration prints."""
    import re

    monkeypatch.setenv("HOTRO_IMAP_PASSWORD", "x")
    monkeypatch.delenv("NO_SUCH_VARIABLE_H2", raising=False)
    text = 'redis_url = "http://x"\ndatabase_url = "mysql://x"\n'
    text += MAILBOX.replace('host = "imap.example.vn"', 'host = "imap.example.vn"\nport = 0\nafter_fetch = "delete"\nidle = "maybe"')
    text += MAILBOX.replace("HOTRO_IMAP_PASSWORD", "NO_SUCH_VARIABLE_H2") + '[smtp]\nhost = "smtp.example.vn"\n'
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text))
    english = re.compile(r"\b(must|should|needs?|is not|not set|only|allowed|field required|input|valid|greater|less|unique|extra)\b", re.I)
    assert len(error.value.problems) >= 6
    for problem in error.value.problems:
        message = problem.split(": ", 1)[1]
        assert not english.search(message), problem
