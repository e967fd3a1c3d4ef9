"""`tiepnhan classify` and `tiepnhan evaluate`: the classifiers alone, no database or broker."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer


def read_lines(stream: TextIO) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"dòng {number}: không phải JSON ({exc})") from None


def register(app: typer.Typer) -> None:
    @app.command("classify")
    def classify_command(
        file: Annotated[str, typer.Argument(help='JSON lines {"id","channel","subject","body","sender"}; - for stdin')] = "-",
    ) -> None:
        """Tag messages: one JSON line out per line in."""
        from classifiers import classify

        stream = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")
        with stream:
            for row in read_lines(stream):
                result = classify(row.get("subject"), row.get("body") or "", row.get("channel")).to_json()
                out = {"id": row.get("id"), **{k: result[k] for k in ("insurance_types", "province_code", "category", "topics", "confidence", "evidence")}}
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")

    @app.command("evaluate")
    def evaluate_command(file: Annotated[Path, typer.Argument(help="JSON lines with a labels object")]) -> None:
        """Accuracy per field, precision and recall per label, province confusions, misses."""
        from classifiers.evaluate import evaluate, render

        with file.open(encoding="utf-8") as stream:
            report = evaluate(read_lines(stream))
        typer.echo(render(report))
