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
        file: Annotated[str, typer.Argument(help='tệp JSON lines, mỗi dòng {"id","channel","subject","body","sender"}; - là đầu vào chuẩn')] = "-",
    ) -> None:
        """Gắn nhãn tin nhắn: mỗi dòng JSON vào cho một dòng JSON ra (không cần cơ sở dữ liệu)."""
        from classifiers import classify

        stream = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")
        with stream:
            for row in read_lines(stream):
                result = classify(row.get("subject"), row.get("body") or "", row.get("channel")).to_json()
                out = {"id": row.get("id"), **{k: result[k] for k in ("insurance_types", "province_code", "category", "topics", "confidence", "evidence")}}
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")

    @app.command("evaluate")
    def evaluate_command(file: Annotated[Path, typer.Argument(help="tệp JSON lines, mỗi dòng có đối tượng labels (nhãn đúng)")]) -> None:
        """Đánh giá bộ phân loại: độ chính xác từng trường, precision và recall từng nhãn, các tỉnh bị nhầm, các trường hợp bỏ sót."""
        from classifiers.evaluate import evaluate, render

        with file.open(encoding="utf-8") as stream:
            report = evaluate(read_lines(stream))
        typer.echo(render(report))
