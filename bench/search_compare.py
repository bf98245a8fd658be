"""Bigram+unigram (analysis.py) vs janome morphological analysis, measured on the same corpus.

`python bench/search_bench.py --compare-analyzers [--docs 5000]` runs this. Both analyzers get
NFKC and kana folding; each indexes the same generated Japanese support mails into a one-field
Whoosh index; each query is analysed by the same analyzer (a phrase when it yields several
tokens). The truth for a query is every document containing it as a substring after
normalisation: that is what an agent who half-remembers a phrase expects to find.
Reported: indexing documents per CPU second, and per query group the mean recall and precision.
"""
from __future__ import annotations

import random
import shutil
import tempfile
import time

from whoosh import index as whoosh_index
from whoosh.analysis import Token, Tokenizer
from whoosh.fields import ID, TEXT, Schema
from whoosh.query import Phrase, Term

from app.search.analysis import fold_kana, normalise, text_analyzer
from app.search.phrase import FastPhrase
from bench.search_bench import GIVEN, PRODUCTS, SURNAMES, japanese_body, phone

QUERIES = {
    "words": ["解約", "定期便", "化粧水", "美容液", "キャンセル", "返品", "配送先", "請求金額", "クーポン", "休止",
              "住所", "保湿クリーム", "日焼け止め"],
    "word parts": ["定期", "期便", "粧水", "容液", "金額", "配送", "保湿", "洗顔", "焼け", "ャンセ", "クリー"],
    "names": ["山田", "花子", "山田花子", "ヤマダ", "田中", "健一", "渡辺", "ワタナベ", "高橋美咲"],
    "phrases and verb forms": ["届いて", "届いていません", "肌にあわなくて", "割れて", "変更したい", "使えません",
                               "合わない", "届いた商品", "発送をスキップ"],
    "single kanji": ["肌", "便", "額", "湿", "顔", "香"],
    "width and kana": ["ｷｬﾝｾﾙ", "きゃんせる", "ｸｰﾎﾟﾝ", "すきっぷ"],
}


class JanomeTokenizer(Tokenizer):
    """Surface forms from janome, after NFKC and kana folding (the same normalisation)."""

    _janome = None  # class-level: the schema (and this tokenizer) must stay picklable

    @classmethod
    def janome(cls):
        if cls._janome is None:
            from janome.tokenizer import Tokenizer as Janome

            cls._janome = Janome()
        return cls._janome

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        import unicodedata

        text = unicodedata.normalize("NFKC", value)
        pos = start_pos
        for word in self.janome().tokenize(text, wakati=True):
            word = fold_kana(word.strip()).lower()
            if not word:
                continue
            token.text, token.boost, token.stopped = word, 1.0, False
            if positions:
                token.pos = pos
            yield token
            pos += 1


def corpus(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        (sn, sk), (gn, _gk) = rng.choice(SURNAMES), rng.choice(GIVEN)
        who = rng.choice([f"{sn}{gn}様からのお問い合わせです。", f"{sk}様より電話がありました。",
                          f"{sn} {gn}です。", f"担当の{sn}です。"])
        docs.append(who + "\n" + japanese_body(rng, f"ORD-2024-{i:06d}", phone(i)))
    return docs


def _build(tokenizer, docs: list[str]):
    path = tempfile.mkdtemp(prefix="tsunagu-compare-")
    ix = whoosh_index.create_in(path, Schema(id=ID(stored=True), body=TEXT(analyzer=tokenizer, phrase=True)))
    start = time.process_time()
    writer = ix.writer(limitmb=256)
    for i, doc in enumerate(docs):
        writer.add_document(id=str(i), body=doc)
    writer.commit()
    return ix, path, time.process_time() - start


def _query(kind: str, tokenizer, text: str):
    if kind == "bigram":
        from app.search.analysis import cjk_terms, query_units

        units = query_units(text)
        parts = [FastPhrase("body", cjk_terms(u.text)) if len(cjk_terms(u.text)) > 1 else Term("body", cjk_terms(u.text)[0])
                 for u in units]
        return parts[0]
    words = [t.text for t in tokenizer(text)]
    return Phrase("body", words) if len(words) > 1 else Term("body", words[0])


def compare(n_docs: int, seed: int) -> dict:
    docs = corpus(n_docs, seed)
    norm_docs = [normalise(d).lower() for d in docs]
    report: dict = {"documents": n_docs}
    for kind, tokenizer in (("bigram", text_analyzer()), ("janome", JanomeTokenizer())):
        ix, path, cpu = _build(tokenizer, docs)
        groups = {}
        with ix.searcher() as searcher:
            for group, queries in QUERIES.items():
                recalls, precisions = [], []
                for text in queries:
                    needle = normalise(text).lower()
                    truth = {str(i) for i, d in enumerate(norm_docs) if needle in d}
                    found = {hit["id"] for hit in searcher.search(_query(kind, tokenizer, text), limit=None)}
                    if truth:
                        recalls.append(len(found & truth) / len(truth))
                    if found:
                        precisions.append(len(found & truth) / len(found))
                groups[group] = {"recall": round(sum(recalls) / max(1, len(recalls)), 3),
                                 "precision": round(sum(precisions) / max(1, len(precisions)), 3)}
        all_recall = sum(g["recall"] for g in groups.values()) / len(groups)
        report[kind] = {"docs_per_cpu_s": round(n_docs / cpu), "mean_recall": round(all_recall, 3),
                        "groups": groups}
        ix.close()
        shutil.rmtree(path, ignore_errors=True)
    return report


__all__ = ["compare", "PRODUCTS"]
