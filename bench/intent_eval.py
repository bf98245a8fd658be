"""Cancellation intent: precision / recall / F1 per label, for cancel-or-pause, per language, per split.

    .venv/bin/python -m bench.intent_eval             # train on train; score train, dev and test
    .venv/bin/python -m bench.intent_eval --tune      # grid on dev only (test never printed)

Trains the model of app/retention/intent_model.py on the corpus's train split only and scores it
(with the bands of app/retention/intent.py) on train, dev and test, and for comparison the old
phrase rules alone. Also by source (hand-written / legacy / composed rows): the composed rows share
phrase pools across splits, so the hand-written rows' figures are the honest ones. Prints the
confusion matrix and, last, JSON.
"""
from __future__ import annotations

import argparse
import itertools
import json
import time
from collections import Counter

from app.retention import intent
from app.retention.intent_model import LABELS, load_corpus, train
from app.retention.intent_rules import clean, rule_says_request


def predict(model, rows: list[dict]) -> list[tuple[str, str]]:
    """(label, band) per row, decided as app.retention.intent decides for inbound mail."""
    bodies = [clean(r["text"]) for r in rows]
    return [_decide(body, probs) for body, probs in zip(bodies, model.probabilities(bodies))]


def _decide(body: str, probs: dict[str, float]) -> tuple[str, str]:
    """intent._decide's label and band, without the reason and the explanation."""
    stop = probs["cancel"] + probs["pause"]
    if stop >= intent.MAYBE_AT:
        label = "cancel" if probs["cancel"] >= probs["pause"] else "pause"
        return label, "flag" if stop >= intent.FLAG_AT else "maybe"
    return ("skip" if probs["skip"] >= intent.SKIP_AT else "none"), "none"


def prf(tp: int, fp: int, fn: int) -> dict:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r), 3) if p + r else 0.0,
            "support": tp + fn}


def score(rows: list[dict], predicted: list[tuple[str, str]]) -> dict:
    result = {"n": len(rows)}
    gold = [r["label"] for r in rows]
    stop = {"cancel", "pause"}
    flagged = [label in stop and band == "flag" for label, band in predicted]
    noticed = [label in stop for label, _ in predicted]  # flag or maybe
    truth = [g in stop for g in gold]
    result["cancel_or_pause"] = prf(sum(f and t for f, t in zip(flagged, truth)),
                                    sum(f and not t for f, t in zip(flagged, truth)),
                                    sum(t and not f for f, t in zip(flagged, truth)))
    result["cancel_or_pause_incl_maybe"] = prf(sum(f and t for f, t in zip(noticed, truth)),
                                               sum(f and not t for f, t in zip(noticed, truth)),
                                               sum(t and not f for f, t in zip(noticed, truth)))
    result["maybe"] = sum(band == "maybe" for _, band in predicted)
    for label in LABELS:
        result[label] = prf(sum(p == label and g == label for (p, _), g in zip(predicted, gold)),
                            sum(p == label and g != label for (p, _), g in zip(predicted, gold)),
                            sum(p != label and g == label for (p, _), g in zip(predicted, gold)))
    result["confusion"] = {g: dict(Counter(p for (p, _), gg in zip(predicted, gold) if gg == g)) for g in LABELS}
    return result


def rules_only(rows: list[dict]) -> list[tuple[str, str]]:
    return [("cancel", "flag") if rule_says_request(clean(row["text"])) else ("none", "none") for row in rows]


def _line(name: str, s: dict) -> str:
    cp, mb = s["cancel_or_pause"], s["cancel_or_pause_incl_maybe"]
    per = "  ".join(f"{label} {s[label]['precision']:.2f}/{s[label]['recall']:.2f}" for label in LABELS)
    return (f"{name:<22} n={s['n']:<5} cancel-or-pause P {cp['precision']:.3f} R {cp['recall']:.3f} F1 {cp['f1']:.3f}"
            f"  (with maybe: P {mb['precision']:.3f} R {mb['recall']:.3f}, maybe={s['maybe']})  | {per}")


def evaluate(splits: tuple[str, ...], show_errors: str = "") -> dict:
    rows = load_corpus()
    started = time.perf_counter()
    model = train([r for r in rows if r["split"] == "train"])
    trained = time.perf_counter() - started
    print(f"corpus {len(rows)} rows {dict(Counter(r['lang'] for r in rows))} {dict(Counter(r['label'] for r in rows))}")
    print(f"trained on train ({sum(r['split'] == 'train' for r in rows)} rows) in {trained:.1f} s")
    report = {}
    for split in splits:
        part = [r for r in rows if r["split"] == split]
        predicted = predict(model, part)
        for lang in ("all", "ja", "en"):
            for source in ("all", "hand"):
                idx = [i for i, r in enumerate(part) if lang in ("all", r["lang"]) and source in ("all", r["source"])]
                if not idx:
                    continue
                s = score([part[i] for i in idx], [predicted[i] for i in idx])
                report[f"{split}/{lang}/{source}"] = s
                print(_line(f"{split}/{lang}/{source}", s))
        base = score(part, rules_only(part))
        report[f"{split}/rules-only"] = base
        print(_line(f"{split}/rules-only", base))
        print(f"  confusion (gold → predicted) {split}: {report[f'{split}/all/all']['confusion']}")
        if split == show_errors:
            for row, (label, band) in zip(part, predicted):
                if (label in ("cancel", "pause") and band == "flag") != (row["label"] in ("cancel", "pause")) or \
                        (row["label"] == "skip") != (label == "skip"):
                    print(f"  ERR gold={row['label']} got={label}/{band} [{row['source']}] {row['text'][:120]!r}")
    return report


def tune() -> None:
    """Grid over the model's knobs, scored on dev only."""
    rows = load_corpus()
    tr, dev = [r for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "dev"]
    for ngrams, c, weight in itertools.product([(1, 3), (1, 4)], [4.0, 16.0], [0.0, 0.3, 1.0]):
        model = train(tr, ngrams, c, weight)
        s = score(dev, predict(model, dev))
        hand = score([r for r in dev if r["source"] == "hand"], predict(model, [r for r in dev if r["source"] == "hand"]))
        cp, hp = s["cancel_or_pause"], hand["cancel_or_pause"]
        print(f"ngrams={ngrams} C={c} rules={weight}: dev P {cp['precision']:.3f} R {cp['recall']:.3f} F1 {cp['f1']:.3f}"
              f" skip F1 {s['skip']['f1']:.3f} maybe {s['maybe']} | hand P {hp['precision']:.3f} R {hp['recall']:.3f}"
              f" maybe {hand['maybe']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tune", action="store_true", help="grid search on dev (no test figures)")
    parser.add_argument("--dev-only", action="store_true", help="train and dev only (while tuning)")
    parser.add_argument("--errors", default="", help="list the errors of this split (never 'test' while tuning)")
    args = parser.parse_args()
    if args.tune:
        tune()
        return
    report = evaluate(("train", "dev") if args.dev_only else ("train", "dev", "test"), args.errors)
    print(json.dumps({k: {kk: v for kk, v in s.items() if kk != "confusion"} for k, s in report.items()},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
