"""The trained part of intent detection: a linear classifier over characters and rule families.

Features: TF-IDF character n-grams of the folded text (NFKC, lower case, katakana → hiragana, so
ｶｲﾔｸ, カイヤク and かいやく are one spelling), plus one column per phrase family of
intent_rules (the request rules' verdict, negations, questions, conditional threats, newsletters...).
Model: multinomial logistic regression over cancel / pause / skip / none, chosen on the dev split
(bench/intent_eval.py). It is trained at first use from the shipped corpus, once per process (about
2 s on an idle core; scikit-learn is imported only then), deterministically (lbfgs on one BLAS thread,
the corpus in file order), so no binary model file can go out of date with the code or the library.
With INTENT_WARMUP (on except in tests), the worker at start and a web process at its first request
train it in a background thread (`warm_up`), so no customer's message waits for the training.
"""
from __future__ import annotations

import json
import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional

from app.retention.intent_rules import clean, rule_features

LABELS = ("cancel", "pause", "skip", "none")
CORPUS = Path(__file__).resolve().parent / "corpus" / "intent_corpus.jsonl"

#: Tuned on dev (bench/intent_eval.py): n-gram range, regularisation, weight of the rule columns.
NGRAMS = (1, 3)
C = 16.0
RULE_WEIGHT = 0.3


def fold(text: str) -> str:
    """NFKC (half-width → full-width), lower case, katakana → hiragana. Length-preserving after NFKC."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    return "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in text)


def load_corpus(splits: Optional[Iterable[str]] = None) -> list[dict]:
    wanted = set(splits) if splits else None
    with open(CORPUS, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [r for r in rows if wanted is None or r["split"] in wanted]


@dataclass
class Model:
    vectorizer: object
    classifier: object
    rule_weight: float

    def _matrix(self, bodies: list[str]):
        from scipy.sparse import csr_matrix, hstack

        grams = self.vectorizer.transform([fold(b) for b in bodies])
        rules = csr_matrix([rule_features(b) for b in bodies]) * self.rule_weight
        return hstack([grams, rules]).tocsr()

    def probabilities(self, bodies: list[str]) -> list[dict[str, float]]:
        """Per cleaned body: {label: probability}."""
        if not bodies:
            return []
        probs = self.classifier.predict_proba(self._matrix(bodies))
        classes = list(self.classifier.classes_)
        return [{label: float(row[classes.index(label)]) if label in classes else 0.0 for label in LABELS}
                for row in probs]

    def _vocabulary(self) -> list[str]:
        if not hasattr(self, "_vocab"):
            self._vocab = list(self.vectorizer.get_feature_names_out())
        return self._vocab

    def evidence(self, body: str, label: str, limit: int = 3) -> tuple[str, ...]:
        """The stretches of `body` whose n-grams pushed hardest towards `label` (for the agent)."""
        classes = list(self.classifier.classes_)
        if label not in classes:
            return ()
        folded = fold(body)
        normal = unicodedata.normalize("NFKC", body or "").lower()
        if len(normal) != len(folded):
            normal = folded
        row = self.vectorizer.transform([folded]).tocsr()
        coef = self.classifier.coef_[classes.index(label)]
        vocab = self._vocabulary()
        scored = sorted(((value * coef[j], vocab[j]) for j, value in zip(row.indices, row.data)), reverse=True)
        spans: list[tuple[int, int]] = []
        for score, gram in scored:
            if score <= 0 or len(spans) >= limit * 3:
                break
            if len(gram.strip()) < 2:
                continue
            start = folded.find(gram)
            if start >= 0:
                spans.append((start, start + len(gram)))
        merged: list[list[int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        merged.sort(key=lambda s: s[0] - s[1])
        return tuple(normal[s:e].strip() for s, e in merged[:limit] if normal[s:e].strip())


def train(rows: list[dict], ngrams: tuple[int, int] = NGRAMS, c: float = C, rule_weight: float = RULE_WEIGHT) -> Model:
    """Fit on labelled rows ({'text', 'label'}); texts are cleaned like inbound messages."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_limits

    bodies = [clean(r["text"]) for r in rows]
    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=ngrams, sublinear_tf=True, min_df=2, lowercase=False)
    vectorizer.fit([fold(b) for b in bodies])
    model = Model(vectorizer, LogisticRegression(C=c, max_iter=3000), rule_weight)
    # One BLAS thread: faster on a shared box (threads contend), and the same result on every machine.
    with threadpool_limits(1):
        model.classifier.fit(model._matrix(bodies), [r["label"] for r in rows])
    return model


_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _shipped() -> Model:
    return train(load_corpus())


def shipped_model() -> Model:
    """The model trained on the whole shipped corpus, once per process."""
    with _LOCK:
        return _shipped()


_warming: Optional[threading.Thread] = None
_WARM_LOCK = threading.Lock()


def warm_up() -> Optional[threading.Thread]:
    """Train the shipped model in a background thread, once per process (a message arriving
    meanwhile waits for that training instead of starting its own). Returns the thread, or None
    when the model is ready already."""
    global _warming
    with _WARM_LOCK:
        if _shipped.cache_info().currsize:
            return None
        if _warming is None:
            _warming = threading.Thread(target=shipped_model, name="intent-warm-up", daemon=True)
            _warming.start()
        return _warming


def init_app(app) -> None:
    """With INTENT_WARMUP, a web process starts the training at its first request."""
    if not app.config.get("INTENT_WARMUP"):
        return

    @app.before_request
    def _warm_up_intent_model() -> None:
        warm_up()
