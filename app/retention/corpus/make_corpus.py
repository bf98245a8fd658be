"""Build intent_corpus.jsonl: the labelled messages the intent model trains and is measured on.

Run `python -m app.retention.corpus.make_corpus` after editing the hand-written files
(hand_ja.txt, hand_en.txt) or the pools below. Output is deterministic (fixed seed, stable hash).

Three sources, recorded in each row's `source` so the bench can score them apart:
- `hand`: messages written one by one (hand_*.txt), every kind the issue lists;
- `legacy`: the 270 messages of the old rule corpus, relabelled to cancel / pause / skip / none;
- `composed`: greeting x context x reason x request x closing, per channel, with surface noise
  (half-width katakana, hiragana-only via janome's readings, typos, emoji, quoted shop mail).
Labels: cancel, pause (several deliveries or open-ended), skip (exactly one delivery), none.
The split (train ~70 / dev ~15 / test ~15) is a stable hash of the text, assigned once.
"""
from __future__ import annotations

import hashlib
import json
import random
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "intent_corpus.jsonl"
CHANNELS = {"e": "email", "f": "form", "x": "x", "p": "phone"}


def split_of(text: str) -> str:
    bucket = int(hashlib.sha1(text.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "train" if bucket < 70 else "dev" if bucket < 85 else "test"


# --- surface noise ----------------------------------------------------------------------------------

_HALF = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF66, 0xFF9E)}


def to_halfwidth_katakana(text: str) -> str:
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)
        if base[0] in _HALF and len(base) == 2 and base[1] == "\u3099":
            out.append(_HALF[base[0]] + "ﾞ")
        elif base[0] in _HALF and len(base) == 2 and base[1] == "\u309a":
            out.append(_HALF[base[0]] + "ﾟ")
        elif ch in _HALF:
            out.append(_HALF[ch])
        elif ch == "ー":
            out.append("ｰ")
        else:
            out.append(ch)
    return "".join(out)


_TOKENIZER = None


def to_kana(text: str, katakana: bool = False) -> str:
    """The whole message in kana (as someone typing without converting would)."""
    global _TOKENIZER
    if _TOKENIZER is None:
        from janome.tokenizer import Tokenizer
        _TOKENIZER = Tokenizer()
    out = []
    for token in _TOKENIZER.tokenize(text):
        reading = token.reading if token.reading != "*" else token.surface
        if katakana:
            out.append(reading)
        else:
            out.append("".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in reading))
    return "".join(out)


_TYPO_SWAPS = [("解約", "会約"), ("解約", "解訳"), ("解約", "かい約"), ("定期", "低期"), ("定期", "てい期"),
               ("停止", "定止"), ("休止", "急止"), ("したい", "したぃ"), ("です", "でし"), ("ます", "ますー"),
               ("ください", "くだたい"), ("お願い", "おねがい"), ("cancel", "cancle"), ("cancel", "cancell"),
               ("subscription", "subscribtion"), ("subscription", "subsciption"), ("please", "pls"),
               ("delivery", "delivry"), ("deliveries", "deliverys"), ("want", "wnat"), ("my ", "ny ")]


def add_typo(text: str, rnd: random.Random) -> str:
    swaps = [(a, b) for a, b in _TYPO_SWAPS if a in text]
    if swaps:
        a, b = rnd.choice(swaps)
        return text.replace(a, b, 1)
    if len(text) > 8:
        i = rnd.randrange(2, len(text) - 2)
        return text[:i] + text[i + 1:]
    return text


EMOJI = ["🙏", "😢", "🙇‍♀️", "💦", "😭", "😅", "✨", "😡", "🥲", "🙇", "!!", "…", "😂", "👋", "🤔"]


# --- the hand-written and legacy rows ---------------------------------------------------------------

def hand_rows(name: str, lang: str) -> list[dict]:
    rows = []
    for line in (HERE / name).read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, text = line.split(" | ", 1)
        label, reason, channel = head.split()
        rows.append(dict(text=text.replace("\\n", "\n"), lang=lang, channel=CHANNELS[channel], label=label,
                         reason=None if label in ("none",) else reason, source="hand"))
    return rows


_LEGACY_SKIP = ("次回だけ", "今回だけ", "1回だけ", "一回だけ", "スキップ", "skip", "1回分", "一回分", "今月だけ",
                "今月分だけ", "今回分だけ", "just the next", "one delivery", "this month only")
_LEGACY_PAUSE = ("休止", "一時", "しばらく", "当分", "ヶ月", "か月", "カ月", "お休み", "いったん", "一旦", "pause",
                 "hold", "suspend", "for a while", "couple of months", "few months", "until", "まで", "temporar",
                 "break", "落ち着")


def legacy_rows() -> list[dict]:
    rows = []
    for name in ("cancellation_intent.jsonl", "cancellation_intent_holdout.jsonl"):
        path = HERE / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            old = json.loads(line)
            text, low = old["text"], old["text"].lower()
            if old["is_cancellation"]:
                label = "pause" if any(k in low for k in _LEGACY_PAUSE) else "cancel"
                if label == "pause" and any(k in low for k in ("解約", "退会", "cancel", "やめ", "close")):
                    label = "cancel"
            else:
                label = "skip" if any(k in low for k in _LEGACY_SKIP) else "none"
            rows.append(dict(text=text, lang=old["lang"], channel=old["channel"], label=label,
                             reason=old.get("reason") if label != "none" else None, source="legacy"))
    return rows


# --- composed rows ----------------------------------------------------------------------------------
from app.retention.corpus.pools import EN, JA  # noqa: E402  (the long lists live apart)


def _compose(pools: dict, lang: str, rnd: random.Random) -> dict:
    label = rnd.choices(["cancel", "pause", "skip", "none"], weights=pools["weights"])[0]
    channel = rnd.choices(["email", "form", "x", "phone"], weights=[45, 20, 20, 15])[0]
    phone = channel == "phone"
    reason = "other"
    parts: list[str] = []
    if label == "none":
        kind = rnd.choice(list(pools["none"]))
        options = pools["none"][kind]
        if phone:
            options = pools["none_phone"].get(kind) or options
        core = rnd.choice(options)
        parts.append(core)
    else:
        key = f"{label}_phone" if phone else label
        if rnd.random() < 0.6:
            reason = rnd.choice(list(pools["reasons"]))
            if label == "skip" and reason not in ("surplus", "temporary"):
                reason = rnd.choice(["surplus", "temporary"])
            if label == "pause" and reason in ("not_effective", "other"):
                reason = "temporary"
            table = pools["reasons_phone" if phone else "reasons"]
            if label == "skip":
                table = pools["skip_reasons_phone" if phone else "skip_reasons"]
            clause = rnd.choice(table[reason])
            parts.append(clause)
        parts.append(rnd.choice(pools[key]))
        if reason == "other" and label == "pause":
            reason = "temporary"
    if phone:
        body = pools["phone_join"](parts)
        text = rnd.choice(pools["phone_heads"]) + body
        if rnd.random() < 0.4:
            text += rnd.choice(pools["phone_tails"])
    else:
        if rnd.random() < 0.35:
            ctx = rnd.choice(pools["context"])
            parts.insert(0 if rnd.random() < 0.6 else len(parts), ctx)
        body = pools["join"](parts)
        if channel == "x":
            text = rnd.choice(pools["x_heads"]) + pools["casual"](body, rnd)
            if rnd.random() < 0.5:
                text += rnd.choice(EMOJI)
        elif channel == "email":
            text = (rnd.choice(pools["greetings"]) if rnd.random() < 0.7 else "") + body
            if rnd.random() < 0.6:
                text += rnd.choice(pools["closings"])
            if rnd.random() < 0.2:
                text += rnd.choice(pools["signatures"])
        else:
            text = body
    if channel in ("email", "form") and rnd.random() < 0.12:
        text += "\n\n" + rnd.choice(pools["quoted"])
    if lang == "ja":
        roll = rnd.random()
        if roll < 0.05:
            text = to_halfwidth_katakana(to_kana(text, katakana=True)) if rnd.random() < 0.5 else \
                to_halfwidth_katakana(text)
        elif roll < 0.10 and "\n" not in text:
            text = to_kana(text)
        elif roll < 0.18:
            text = add_typo(text, rnd)
    elif rnd.random() < 0.15:
        text = add_typo(text, rnd)
    if channel != "x" and rnd.random() < 0.06:
        text += rnd.choice(EMOJI)
    return dict(text=text, lang=lang, channel=channel, label=label, reason=None if label == "none" else reason,
                source="composed")


def build(n_ja: int = 1450, n_en: int = 520, seed: int = 16) -> list[dict]:
    rnd = random.Random(seed)
    rows = hand_rows("hand_ja.txt", "ja") + hand_rows("hand_en.txt", "en") + legacy_rows()
    seen = {r["text"] for r in rows}
    for lang, pools, n in (("ja", JA, n_ja), ("en", EN, n_en)):
        made = 0
        tries = 0
        while made < n and tries < n * 20:
            tries += 1
            row = _compose(pools, lang, rnd)
            if row["text"] in seen:
                continue
            seen.add(row["text"])
            rows.append(row)
            made += 1
    for row in rows:
        row["split"] = split_of(row["text"])
    return rows


def main() -> None:
    rows = build()
    with open(OUT, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    from collections import Counter
    print(len(rows), Counter(r["lang"] for r in rows), Counter(r["label"] for r in rows),
          Counter(r["split"] for r in rows), Counter(r["source"] for r in rows))


if __name__ == "__main__":
    main()
