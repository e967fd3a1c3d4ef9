"""Train the category model (classifiers/category_model.py) and write classifiers/data/category_model.json.

Logistic regression (scikit-learn) over TF-IDF character 2–4-grams of the folded text the rules
read, trained on the dev set and the written sets A, B and C. The held-out sets
(tests/data/heldout/) are never read here. Deterministic: the same data writes the same file.

Run: uv run python scripts/build_model.py [--out PATH] [--cv]
  --cv  prints the 5-fold cross-validated accuracy of the model, of the rules, and of the rules
        with the model where the rules' evidence is weak (what classify does).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from classifiers.category_model import MODEL_FILE
from classifiers.fields import read_fields
from classifiers.lexicon import lexicon

ROOT = Path(__file__).resolve().parent.parent
TRAINING_SETS = (
    ROOT / "tests" / "data" / "dev.jsonl",
    ROOT / "tests" / "data" / "written" / "set_a.jsonl",
    ROOT / "tests" / "data" / "written" / "set_b.jsonl",
    ROOT / "tests" / "data" / "written" / "set_c.jsonl",
)
NGRAM_RANGE = (2, 4)
MIN_DF = 3
C = 10.0
DIGITS = 4  # weights rounded when written: the file stays small and byte-for-byte reproducible


def read_rows(paths: Iterable[Path]) -> list[dict[str, Any]]:
    return [json.loads(line) for path in paths for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def model_text(subject: str | None, body: str) -> str:
    """The folded subject and new text, as the rules read them."""
    return " \n ".join(field.folded for field in read_fields(subject, body, lexicon()))


def train(texts: list[str], labels: list[str]) -> tuple[TfidfVectorizer, LogisticRegression]:
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=NGRAM_RANGE, min_df=MIN_DF, sublinear_tf=True, lowercase=False, dtype=np.float64)
    matrix = vectorizer.fit_transform(texts)
    model = LogisticRegression(C=C, max_iter=5000)
    model.fit(matrix, labels)
    return vectorizer, model


def export(vectorizer: TfidfVectorizer, model: LogisticRegression) -> dict[str, Any]:
    classes = [str(label) for label in model.classes_]
    features = {}
    for gram, column in sorted(vectorizer.vocabulary_.items()):
        weights = [round(float(model.coef_[row][column]), DIGITS) for row in range(len(classes))]
        if any(weights):
            features[gram] = [round(float(vectorizer.idf_[column]), DIGITS), *weights]
    return {"classes": classes, "intercept": [round(float(value), DIGITS) for value in model.intercept_], "ngram_range": list(NGRAM_RANGE), "features": features}


def cross_validate(rows: list[dict[str, Any]], texts: list[str], labels: list[str]) -> None:
    from classifiers.category_model import CategoryModel
    from classifiers.classify import WEAK_CATEGORY, classify_raw

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    right: dict[str, int] = {"model": 0, "rules": 0}
    weak = 0
    for train_index, test_index in folds.split(texts, labels):
        vectorizer, model = train([texts[i] for i in train_index], [labels[i] for i in train_index])
        data = export(vectorizer, model)
        scorer = CategoryModel(tuple(data["classes"]), tuple(data["intercept"]), *data["ngram_range"], {g: tuple(v) for g, v in data["features"].items()})
        for i in test_index:
            probabilities = scorer.scores(texts[i])
            guess = max(probabilities, key=probabilities.__getitem__)
            rules = classify_raw(rows[i].get("subject"), rows[i]["body"], rows[i].get("channel"), use_model=False)
            weak += rules.confidence["category"] <= WEAK_CATEGORY
            right["model"] += guess == labels[i]
            right["rules"] += rules.category == labels[i]
            for threshold in (0.4, 0.5, 0.6):
                for least in (0.5, 0.7, 0.85):
                    use = rules.confidence["category"] <= threshold and probabilities[guess] >= least
                    key = f"rules + model where rules <= {threshold} and model >= {least}"
                    right[key] = right.get(key, 0) + ((guess if use else rules.category) == labels[i])
    for name, count in right.items():
        print(f"{name}: {count / len(labels):.3f}")
    print(f"weak rule answers: {weak} of {len(labels)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--cv", action="store_true")
    args = parser.parse_args()
    rows = read_rows(TRAINING_SETS)
    texts = [model_text(row.get("subject"), row.get("body") or "") for row in rows]
    labels = [row["labels"]["category"] for row in rows]
    if args.cv:
        cross_validate(rows, texts, labels)
        return
    vectorizer, model = train(texts, labels)
    data = export(vectorizer, model)
    args.out.write_text(json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(data['features'])} n-grams, {args.out.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
