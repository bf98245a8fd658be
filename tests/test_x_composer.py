"""The browser composer counts like X and like the server (vendored twitter-text, real Chromium)."""
from __future__ import annotations

from pathlib import Path

from app.channels.x.text import weighted_length

STATIC = Path(__file__).resolve().parents[1] / "static"
SAMPLES = ["あ" * 140, "あ" * 141, "ご確認ください https://example.com/a/long/path?x=1 よろしくお願いします",
           "ｶﾀｶﾅ and ASCII", "家族👨‍👩‍👧です", "「」、。" * 10, "café é"]


def test_composer_counts_like_the_server(new_context):
    page = new_context().new_page()
    page.set_content('<form><textarea data-x-composer data-x-composer-block-submit></textarea>'
                     '<button type="submit">送信</button></form>')
    page.add_script_tag(path=str(STATIC / "vendor/twitter-text/twitter-text.min.js"))
    page.add_script_tag(path=str(STATIC / "js/x-composer.js"))
    counter = page.locator(".x-composer-count")
    for text in SAMPLES:
        page.fill("textarea", text)
        assert counter.get_attribute("data-weighted") == str(weighted_length(text)), text

    page.fill("textarea", "あ" * 140)
    text = counter.inner_text()
    assert "140 characters" in text and "0 more full-width" in text and "280 / 280" in text
    assert not page.locator("button").is_disabled()
    page.fill("textarea", "あ" * 141)
    assert "over" in (counter.get_attribute("class") or "") and page.locator("button").is_disabled()
    assert page.locator("textarea").get_attribute("aria-invalid") == "true"
