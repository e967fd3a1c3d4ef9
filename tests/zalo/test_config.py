"""[[zalo_accounts]]: typed, validated at start-up, one Vietnamese line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.settings import ConfigError, load_settings


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "tiepnhan.toml"
    path.write_text(body, encoding="utf-8")
    return path


def test_an_account_with_secrets_from_the_environment_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZALO_APP_SECRET", "s1")
    monkeypatch.setenv("ZALO_OA_SECRET", "s2")
    monkeypatch.setenv("ZALO_REFRESH", "r1")
    path = _write(tmp_path, """
[[zalo_accounts]]
name = "zalo-bhxh"
oa_id = "388613280878808645"
app_id = "3608465249409039"
app_secret_env = "ZALO_APP_SECRET"
oa_secret_key_env = "ZALO_OA_SECRET"
refresh_token_env = "ZALO_REFRESH"
api_url = "http://127.0.0.1:9999"
""")
    (account,) = load_settings(path).zalo_accounts
    assert account.oa_secret_key is not None and account.oa_secret_key.get_secret_value() == "s2"
    assert account.refresh_token is not None and account.refresh_token.get_secret_value() == "r1"
    assert account.api_url == "http://127.0.0.1:9999/" and account.oauth_url == "https://oauth.zaloapp.com/"
    assert "s2" not in repr(account)


def test_every_mistake_is_named_in_vietnamese(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZALO_UNSET", raising=False)
    path = _write(tmp_path, """
[[zalo_accounts]]
name = "a"
oa_id = "not-digits"
app_id = "1"
app_secret = "x"
oa_secret_key = "y"

[[zalo_accounts]]
name = "b"
oa_id = "2"
app_id = "3"
app_secret = "x"

[[zalo_accounts]]
name = "c"
oa_id = "4"
app_id = "5"
app_secret = "x"
oa_secret_key_env = "ZALO_UNSET"

[[zalo_accounts]]
name = "d"
oa_id = "6"
app_id = "7"
app_secret = "x"
oa_secret_key = "y"
api_url = "ftp://zalo"

[[facebook_pages]]
name = "d"
page_id = "1"
access_token = "t"
""")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    text = "\n".join(caught.value.problems)
    assert "zalo_accounts[0].oa_id" in text or "zalo_accounts.0.oa_id" in text
    assert "cần oa_secret_key hoặc oa_secret_key_env" in text
    assert "ZALO_UNSET" in text and "chưa được đặt" in text
    assert "http:// hoặc https://" in text
    assert len(caught.value.problems) == 4  # the duplicate name is checked once the accounts are valid


def test_a_zalo_account_may_not_share_a_source_name(tmp_path: Path) -> None:
    path = _write(tmp_path, """
[[zalo_accounts]]
name = "kenh"
oa_id = "6"
app_id = "7"
app_secret = "x"
oa_secret_key = "y"

[[facebook_pages]]
name = "kenh"
page_id = "1"
access_token = "t"
""")
    with pytest.raises(ConfigError, match="không được trùng nhau; bị trùng: kenh"):
        load_settings(path)
