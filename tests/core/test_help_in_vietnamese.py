"""Every command's --help is in Vietnamese: walk the whole Typer app, read every help text."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from tiepnhan.cli import app

VIETNAMESE = re.compile(r"[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.IGNORECASE)
# Common English words; none of them is a Vietnamese word or a technical name used here.
ENGLISH_WORDS = {
    "the", "an", "of", "to", "and", "or", "for", "with", "from", "on", "is", "are", "each", "every", "by", "its",
    "it", "this", "that", "be", "as", "at", "into", "when", "which", "what", "who", "show", "list", "send", "shown",
    "message", "messages", "ticket", "tickets", "file", "files", "only", "per", "line", "object", "exit", "print",
    "number", "address", "unit", "reason", "why", "how", "was", "were", "again", "after", "before", "instead",
}
# Technical names and command words that stay as they are (Vietnamese sentences name them).
ALLOWED = {"json", "lines", "labels", "precision", "recall", "dead", "letter", "worker", "scheduler", "procfile", "spam"}


def commands(command: typer.core.TyperGroup | typer.core.TyperCommand, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    for name, child in getattr(command, "commands", {}).items():
        yield from commands(child, (*path, name))


def help_texts() -> list[tuple[str, str]]:
    root = typer.main.get_command(app)
    context = typer.Context(root)
    found = []
    for path, command in commands(root):
        where = "tiepnhan " + " ".join(path)
        found.append((where, command.help or ""))  # type: ignore[attr-defined]
        params = [*command.params, command.get_help_option(context)]  # type: ignore[attr-defined]
        for param in params:
            if param is not None and getattr(param, "help", None):
                found.append((f"{where} {param.name}", param.help))
    return found


def english_words(text: str) -> set[str]:
    text = re.sub(r"`[^`]*`|\S+/\S*|--[\w-]+|\b[A-Z_]{2,}\b", " ", text)  # commands, paths, options, env vars
    words = {w.lower() for w in re.findall(r"[A-Za-z]+", text)}
    return (words & ENGLISH_WORDS) - ALLOWED


@pytest.mark.parametrize(("where", "text"), help_texts())
def test_help_text_is_vietnamese(where: str, text: str) -> None:
    assert text.strip(), f"{where}: no help text"
    assert VIETNAMESE.search(text), f"{where}: {text!r}"
    assert not english_words(text), f"{where}: English words {english_words(text)} in {text!r}"


def test_every_help_screen_renders_in_vietnamese() -> None:
    runner = CliRunner()
    for path, _ in commands(typer.main.get_command(app)):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        for english in ("Show this message", "Options", "Commands", "Arguments", "[default:", "[required]", "env var"):
            assert english not in result.output, (path, english)


def test_the_checker_finds_english() -> None:
    assert english_words("List the units escalations can go to")
    assert not english_words("Danh sách đơn vị, in dạng JSON (`tiepnhan units --json`)")
