"""Generate ingest/email/data/vn_charmaps.json from glibc's iconv.

Python has cp1258 but no codec for the legacy Vietnamese charsets VISCII and TCVN3
(TCVN 5712:1993); glibc's iconv has both. Run: uv run python scripts/gen_vn_charmaps.py
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

CHARSETS = {"viscii": "VISCII", "tcvn": "TCVN5712-1"}
OUT = Path(__file__).resolve().parent.parent / "ingest" / "email" / "data" / "vn_charmaps.json"


def charmap(iconv_name: str) -> list[str]:
    table = []
    for byte in range(256):
        result = subprocess.run(["iconv", "-f", iconv_name, "-t", "UTF-8"], input=bytes([byte]), capture_output=True, check=False)
        table.append(result.stdout.decode("utf-8") if result.returncode == 0 and result.stdout else "\ufffd")
    return table


def main() -> None:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    data = {name: "".join(c if len(c) == 1 else "\ufffd" for c in charmap(iconv)) for name, iconv in CHARSETS.items()}
    OUT.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
