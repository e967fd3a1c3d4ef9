"""The automatic-answer decision and its settings."""

from __future__ import annotations

import pytest

from config.settings import AutoAnswerConfig, ConfigError, load_settings
from qbank.auto_answer import auto_answer_decision
from qbank.entry import BankEntry
from qbank.retrieve import Suggestion

ENTRY = BankEntry("q77", "Số tổng đài?", "Gọi 1900 9068.", topic="hotline_support")
ENTRIES = {"q77": ENTRY, "d1": BankEntry("d1", "Nháp?", "Chưa xong.", topic="hotline_support", status="draft")}
ON = AutoAnswerConfig(enabled=True, min_score=0.8, topics=["hotline_support"], channels=["facebook_message"])


def _decide(config: AutoAnswerConfig, score: float = 0.9, entry_id: str = "q77", channel: str = "facebook_message", category: str = "question"):  # type: ignore[no-untyped-def]
    return auto_answer_decision(config, channel, category, [Suggestion(entry_id, score, ("tổng", "đài"))], ENTRIES)


def test_off_by_default() -> None:
    assert load_settings(None).question_bank.auto_answer.enabled is False
    assert _decide(AutoAnswerConfig()).answer is False


def test_answers_only_when_every_condition_holds() -> None:
    yes = _decide(ON)
    assert yes.answer and yes.entry_id == "q77"
    assert yes.text is not None and yes.text.startswith("Gọi 1900 9068.") and "tự động" in yes.text and "1900 9068" in yes.text.splitlines()[-1]
    assert not _decide(ON, score=0.79).answer
    assert not _decide(ON, channel="email").answer
    assert not _decide(ON, category="complaint").answer
    assert not _decide(ON, entry_id="d1").answer  # a draft never answers by itself
    other_topic = AutoAnswerConfig(enabled=True, min_score=0.8, topics=["office_hours"], channels=["facebook_message"])
    assert "chủ đề" in _decide(other_topic).reason
    assert not auto_answer_decision(ON, "facebook_message", "question", [], ENTRIES).answer


def test_switching_on_without_topics_or_channels_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, question_bank={"auto_answer": {"enabled": True, "channels": ["email"]}})
    assert any("chủ đề" in problem for problem in caught.value.problems)
    with pytest.raises(ConfigError) as caught:
        load_settings(None, question_bank={"auto_answer": {"enabled": False, "channels": ["sms"]}})
    assert any("channels" in problem for problem in caught.value.problems)
