"""Build classifiers/data/gazetteer.json from well-kept packages, not by hand.

- The map in force since 1 July 2025 (34 provinces and their wards): `vietnam-provinces`.
- The 63 provinces before it, their districts and towns, and which new province each old
  province became part of: the data files of `vietnamadminunits` (MIT), read straight from its
  wheel (the package itself needs shapely/geopy at import, which tiepnhan does not).

Provinces merged whole in 2025, so an old district's new province is its old province's.
Run: uv run --with pip python scripts/build_gazetteer.py
"""

from __future__ import annotations

import json
import re
import unicodedata
import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

from vietnam_provinces import Province, Ward

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VAU_VERSION = "1.0.4"
OUT = Path(__file__).resolve().parent.parent / "classifiers" / "data" / "gazetteer.json"


def vau_data() -> tuple[dict, dict, dict]:  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"vietnamadminunits=={VAU_VERSION}", "-d", tmp], check=True)
        wheel = next(Path(tmp).glob("vietnamadminunits-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            legacy = json.loads(archive.read("vietnamadminunits/data/parser_legacy.json"))
            converter = json.loads(archive.read("vietnamadminunits/data/converter_2025.json"))
            new = json.loads(archive.read("vietnamadminunits/data/parser_from_2025.json"))
    return legacy, converter, new


def strip_type(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh ", "Quận ", "Huyện ", "Thị xã ", "Phường ", "Xã ", "Thị trấn ", "Đặc khu "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def main() -> None:
    legacy, converter, _new = vau_data()
    from classifiers.text import fold

    new_by_short = {fold(strip_type(p.name)): f"{int(p.code):02d}" for p in Province.iter_all()}
    # old province key (e.g. "tinhbinhduong") → new 2-digit code
    old_to_new: dict[str, str] = {}
    for new_key, old_keys in converter["DICT_PROVINCE"].items():
        new_name = legacy["DICT_PROVINCE"].get(new_key, {}).get("provinceShort") or new_key
        code = new_by_short.get(fold(new_name))
        if code is None:
            # new keys are "thanhpho<name>" / "tinh<name>": match them against the new map
            bare = new_key.removeprefix("thanhpho").removeprefix("tinh")
            code = next((c for short, c in new_by_short.items() if short.replace(" ", "") == bare), None)
        if code is None:
            raise SystemExit(f"cannot place new province {new_key}")
        for old_key in old_keys:
            old_to_new[old_key] = code
    entries: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))

    def add(kind: str, phrase: str, code: str) -> None:
        # Keep the name as written (lower case, with its tone marks): the classifier folds it
        # for look-up and uses the accented form to tell "Lâm Đồng" from "làm đồng".
        name = unicodedata.normalize("NFC", phrase).lower().strip()
        if name:
            entries[kind][name].add(code)

    for province in Province.iter_all():
        code = f"{int(province.code):02d}"
        add("province", strip_type(province.name), code)
        add("province", province.name, code)
    for old_key, info in legacy["DICT_PROVINCE"].items():
        code = old_to_new[old_key]
        add("old_province", info["provinceShort"], code)
        add("old_province", info["province"], code)
    # A district's own full name, as the data writes it ("Thị xã Hoàng Mai"): another place's
    # guessed variant must not take it.
    actual = {unicodedata.normalize("NFC", info["district"]).lower() for districts in legacy["DICT_PROVINCE_DISTRICT"].values() for info in districts.values()}
    guessed: dict[str, list[tuple[int, str]]] = defaultdict(list)  # a variant → (how well its type fits, code)
    for old_key, districts in legacy["DICT_PROVINCE_DISTRICT"].items():
        code = old_to_new[old_key]
        for info in districts.values():
            short = re.sub(r"\s*\(.*?\)", "", info["districtShort"]).strip()  # "Cao Lãnh (Huyện)"
            add("district_full", info["district"], code)
            if not short.isdigit():
                # provincial cities and towns are what people name; rural districts less so
                kind = "city" if info.get("districtType") in ("Thành phố", "Thị xã") else "district"
                add(kind, short, code)
                # People keep the type a place had when they learnt it: "thị xã Phú Mỹ" for
                # what became a city. Rural districts became towns and towns cities, so those
                # types are interchangeable; only an urban district ("quận") was ever a quận,
                # which keeps "quận Hoàng Mai" (Hà Nội) apart from thị xã Hoàng Mai (Nghệ An).
                # When two places share a guessed variant ("thị xã Tân Uyên": the former town of
                # Bình Dương, and Lai Châu's rural district by a guessed type), the place whose
                # own type is of the same sort as the variant's (town or city, rural district) keeps it.
                prefixes = ["Huyện", "Thị xã", "Thành phố", "TP", "TX"] + (["Quận"] if info.get("districtType") == "Quận" else [])
                urban = info.get("districtType") in ("Thành phố", "Thị xã", "Quận")
                for prefix in prefixes:
                    variant = f"{prefix} {short}"
                    if variant == info["district"] or unicodedata.normalize("NFC", variant).lower() not in actual:
                        fits = (prefix != "Huyện") == urban
                        guessed[unicodedata.normalize("NFC", variant).lower()].append((0 if fits else 1, code))
    for variant, claims in guessed.items():
        best = min(rank for rank, _code in claims)
        for rank, code in claims:
            if rank == best:
                add("district_full", variant, code)
    for ward in Ward.iter_all():
        add("ward_full", ward.name, f"{int(ward.province_code):02d}")
    data = {kind: {phrase: sorted(codes) for phrase, codes in sorted(table.items())} for kind, table in entries.items()}
    data["_source"] = {"vietnam-provinces": "installed", "vietnamadminunits": VAU_VERSION}  # type: ignore[assignment]
    OUT.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {OUT}: " + ", ".join(f"{k}={len(v)}" for k, v in data.items() if not k.startswith("_")))


if __name__ == "__main__":
    main()
