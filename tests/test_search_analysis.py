"""Search analysis without a database: normalisation, tokens, phone terms, loosening, snippets."""
from __future__ import annotations

import pickle

from app.search.analysis import JaEnTokenizer, cjk_terms, name_analyzer, normalise, query_units, text_analyzer
from app.search.highlight import Needles, highlight, snippet
from app.search.documents import phone_terms
from app.search.index import make_schema
from app.search.inflection import loose_variants


def test_width_and_kana_fold_to_the_same_text():
    assert normalise("ﾃｽﾄ") == normalise("テスト") == normalise("てすと") == "てすと"
    assert normalise("ＡＢＣ１２３") == "ABC123"
    assert normalise("ｶﾞｲﾄﾞ") == "がいど"  # half-width voiced marks combine


def test_cjk_runs_give_unigrams_for_kanji_and_bigrams_at_one_position_per_character():
    tokens = [(t.text, t.pos) for t in text_analyzer()("肌にあう", positions=True)]
    assert tokens == [("肌", 0), ("肌に", 0), ("にあ", 1), ("あう", 2)]
    assert cjk_terms("届いて") == ["届い", "いて"]
    assert cjk_terms("肌") == ["肌"]


def test_english_is_lower_cased_and_stemmed_names_are_not_stemmed():
    assert [t.text for t in text_analyzer()("Running DELIVERIES")] == ["run", "deliveri"]
    assert [t.text for t in name_analyzer()("Running")] == ["running"]
    assert [u.text for u in query_units("running")] == ["run"]


def test_offsets_point_into_the_original_half_width_text():
    text = "お客様ｶﾞｲﾄﾞです"
    spans = [(t.text, text[t.startchar:t.endchar]) for t in text_analyzer()(text, chars=True)
             if t.text == "がい"]
    assert spans == [("がい", "ｶﾞｲ")]


def test_schema_with_custom_analyzers_pickles():
    schema = pickle.loads(pickle.dumps(make_schema()))
    assert isinstance(schema["body"].analyzer, JaEnTokenizer)
    assert schema["names"].analyzer.stem is False


def test_phone_terms_cover_e164_national_hyphenated_and_tails():
    terms = phone_terms("+819012345678")
    for form in ("819012345678", "09012345678", "090-1234-5678", "5678", "12345678"):
        assert form in terms


def test_conjugated_verbs_get_looser_phrases_but_light_verbs_and_negations_at_the_end_do_not():
    assert set(loose_variants("肌に合わない")) == {"肌に合わな", "肌にあわな"}
    assert loose_variants("解約したい") == ()
    assert loose_variants("届いていません") == ()


def test_highlight_escapes_everything_and_only_adds_mark():
    needles = Needles.from_units(query_units("テスト"))
    html = str(highlight('<script>alert("x")</script> ﾃｽﾄ & てすと', needles))
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp;" in html
    assert html.count("<mark>") == 2 and "<mark>ﾃｽﾄ</mark>" in html


def test_snippet_is_a_window_around_the_matches():
    text = "前置き。" * 60 + "商品が届いていません。" + "後書き。" * 60
    html = str(snippet(text, Needles.from_units(query_units("届いて")), width=60))
    assert html.startswith("…") and html.endswith("…") and "<mark>届いて</mark>" in html
    assert len(html) < 120
