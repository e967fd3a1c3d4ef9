"""The unit directory and routing rules: the shipped files, validation errors, rule matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.routing import Rule, RuleConditions
from config.settings import ConfigError, load_settings
from config.units import is_placeholder_address, load_units, province_codes
from tickets.directory import known_topics, load_routing
from tickets.routing import TicketTags, first_matching_rule, target_unit_id


def test_the_shipped_directory_has_every_province_of_the_2025_map_and_the_central_units() -> None:
    routing = load_routing(load_settings(None))
    ids = {unit.id for unit in routing.units.units}
    assert {f"province-{code}" for code in province_codes()} <= ids
    assert len(province_codes()) == 34
    assert {"central-bhxh-policy", "central-bhyt-policy", "central-collection", "central-it", "central-inspection"} <= ids
    assert routing.units.get("province-79").name == "Bảo hiểm xã hội Thành phố Hồ Chí Minh"
    assert routing.units.get("province-75").name == "Bảo hiểm xã hội tỉnh Đồng Nai"
    # Shipped addresses are placeholders: nothing can be sent until a deployment gives real ones.
    assert all(unit.why_unreachable() for unit in routing.units.units)
    first = routing.rules.rules[0]
    assert (first.to, first.review, first.when.category, first.when.province) == ("province", True, ("complaint",), "known")


@pytest.mark.parametrize(
    ("address", "placeholder"),
    [("a@donvi.example", True), ("a@example.com", True), ("a@sub.example.org", True), ("a@x.test", True), ("a@bhxh.gov.vn", False), ("a@myexample.com", False)],
)
def test_reserved_example_domains_count_as_not_configured(address: str, placeholder: bool) -> None:
    assert is_placeholder_address(address) is placeholder


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(error: pytest.ExceptionInfo[ConfigError]) -> str:
    return "\n".join(error.value.problems)


def test_unit_mistakes_are_each_reported_clearly(tmp_path: Path) -> None:
    path = write(
        tmp_path, "units.toml",
        '[[units]]\nid = "province-99"\nname = "X"\nkind = "province"\nprovince_code = "99"\n'
        '[[units]]\nid = "province-79"\nname = "Y"\nkind = "province"\nprovince_code = "75"\n'
        '[[units]]\nid = "Bad Id"\nname = "Z"\nkind = "central"\n'
        '[[units]]\nid = "hook"\nname = "W"\nkind = "central"\nwebhook_url = "https://u.vn/h"\n'
        '[[units]]\nid = "mail"\nname = "V"\nkind = "central"\nemails = ["not-an-address"]\n',
    )  # fmt: skip
    with pytest.raises(ConfigError) as error:
        load_units(path)
    text = problems(error)
    assert f"tệp {path}, units[0] (province-99)" in text and "không phải mã tỉnh/thành trên bản đồ 2025" in text
    assert "phải là province-75" in text
    assert "chữ thường không dấu" in text
    assert "webhook_secret" in text
    assert "không phải địa chỉ thư điện tử: not-an-address" in text


def test_rule_mistakes_are_each_reported_clearly(tmp_path: Path) -> None:
    units = write(tmp_path, "units.toml", '[[units]]\nid = "central-it"\nname = "CNTT"\nkind = "central"\nemails = ["it@bhxh.gov.vn"]\n')
    rules = write(
        tmp_path, "routing.toml",
        '[[rules]]\nname = "a"\nto = "nowhere"\nsla_hours = 24\n'
        '[[rules]]\nname = "a"\nwhen = { topics = ["không có chủ đề này"] }\nto = "central-it"\nsla_hours = 24\n'
        '[[rules]]\nname = "c"\nwhen = { province = "unknown" }\nto = "province"\nsla_hours = 24\n',
    )  # fmt: skip
    settings = load_settings(None, units_file=str(units), routing_file=str(rules))
    with pytest.raises(ConfigError) as error:
        load_routing(settings)
    text = problems(error)
    assert f"tệp {rules}, rules[0] (a): to = 'nowhere' không phải" in text
    assert "đã được dùng cho quy tắc khác" in text
    assert "không có chủ đề 'không có chủ đề này'" in text
    assert 'to = "province" không áp dụng được' in text
    bad_fields = write(tmp_path, "bad.toml", '[[rules]]\nname = "x"\nwhen = { category = "complain", province = ["80", "00"] }\nto = "central-it"\nsla_hours = 0\ncolour = 1\n')
    with pytest.raises(ConfigError) as error:
        load_routing(load_settings(None, units_file=str(units), routing_file=str(bad_fields)))
    text = problems(error)
    assert "rules[0] (x).when.category" in text
    assert "không phải mã tỉnh/thành trên bản đồ 2025: 00" in text
    assert "rules[0] (x).sla_hours" in text
    assert "rules[0] (x).colour" in text
    broken = write(tmp_path, "broken.toml", "[[rules]\n")
    with pytest.raises(ConfigError, match="không phải TOML hợp lệ"):
        load_routing(load_settings(None, units_file=str(units), routing_file=str(broken)))
    with pytest.raises(ConfigError, match="không tìm thấy tệp"):
        load_routing(load_settings(None, units_file=str(tmp_path / "missing.toml")))


def test_a_broken_rules_file_stops_the_cli_with_every_mistake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from tiepnhan.cli import app

    rules = write(tmp_path, "routing.toml", '[[rules]]\nname = "a"\nto = "nowhere"\nsla_hours = 24\n')
    monkeypatch.setenv("TIEPNHAN_ROUTING_FILE", str(rules))
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    result = CliRunner().invoke(app, ["escalations"])
    assert result.exit_code == 2
    assert "nowhere" in result.output


def tags(**values: object) -> TicketTags:
    base: dict[str, object] = {"category": "complaint", "insurance_types": ("BHYT",), "province_code": "75", "topics": ("thẻ BHYT",), "channel": "email", "confidence": {"category": 0.9, "province": 0.8, "insurance_types": 0.9}, "text": ""}
    base.update(values)
    text = str(base.pop("text"))
    return TicketTags(**base, text=lambda: text)  # type: ignore[arg-type]


def rule(name: str, to: str = "province", **when: object) -> Rule:
    return Rule(name=name, when=RuleConditions(**when), to=to, sla_hours=24)  # type: ignore[arg-type]


def test_the_first_matching_rule_wins_and_each_condition_counts() -> None:
    rules = [
        rule("fraud", "central-inspection", keywords=["tố cáo"]),
        rule("bhyt-confident", "central-bhyt-policy", insurance_types=["BHYT"], min_confidence=0.95),
        rule("fanpage", "central-communication", channel=["facebook_comment"]),
        rule("in-province", province="known", category=["complaint"]),
    ]
    assert first_matching_rule(rules, tags(text="Tôi muốn TO CAO can bo xa")).name == "fraud"  # tone marks optional
    assert first_matching_rule(rules, tags(text="tố cáo viên")).name == "fraud"
    assert first_matching_rule(rules, tags(text="không tốt cáo")).name == "in-province"  # whole words only
    # min_confidence looks at the tags the rule names (here the insurance type only).
    assert first_matching_rule(rules, tags(confidence={"insurance_types": 0.9, "category": 0.99})).name == "in-province"
    assert first_matching_rule(rules, tags(confidence={"insurance_types": 0.99, "category": 0.5})).name == "bhyt-confident"
    assert first_matching_rule(rules, tags(confidence={"insurance_types": 0.99}, insurance_types=("BHXH",))).name == "in-province"
    assert first_matching_rule(rules, tags(channel="facebook_comment", insurance_types=())).name == "fanpage"
    assert first_matching_rule(rules, tags(category="question", insurance_types=())) is None
    assert target_unit_id(rules[-1], tags()) == "province-75"
    assert target_unit_id(rules[-1], tags(province_code=None)) is None
    assert target_unit_id(rules[0], tags()) == "central-inspection"


def test_shipped_rules_route_an_unplaced_vssid_complaint_to_the_it_center() -> None:
    routing = load_routing(load_settings(None))
    ticket = tags(province_code=None, insurance_types=(), topics=("VssID",), text="Ứng dụng VssID báo lỗi, không đăng nhập được")
    chosen = first_matching_rule(routing.rules.rules, ticket)
    assert chosen is not None and target_unit_id(chosen, ticket) == "central-it"
    assert "VssID" in known_topics()
