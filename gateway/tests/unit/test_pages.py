"""The customer's pages (gateway.pages): their language, their escaping, their headers."""
from gateway import pages


def test_the_language_is_the_query_s_then_accept_language_s_then_chinese():
    assert pages.language({"lang": "en"}, "zh-CN,zh;q=0.9") == "en"
    assert pages.language({"lang": "zh-cn"}, "en") == "zh-CN"
    assert pages.language({"lang": "fr"}, "en-GB,en;q=0.8") == "en"  # a language we lack: the header decides
    assert pages.language({}, "fr-FR,en;q=0.5,zh;q=0.7") == "zh-CN"  # by quality, not by order
    assert pages.language({}, "zh-TW,zh;q=0.9,en;q=0.5") == "zh-CN"
    assert pages.language({}, "fr-FR,fr;q=0.9") == "zh-CN"
    assert pages.language({}, None) == "zh-CN"


def test_a_page_escapes_what_it_shows_and_carries_the_security_headers():
    response = pages.render(400, "rate.html", "en", title="Rate", action="/rate/abc", problem=None, chosen="3",
                            comment='</textarea><script>alert(1)</script>')
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "&lt;/textarea&gt;&lt;script&gt;" in body
    assert 'value="3" required checked' in body and 'value="4" required>' in body
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert response.headers["Content-Security-Policy"] == \
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"
    assert response.headers["Referrer-Policy"] == "no-referrer" and response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Content-Language"] == "en"


def test_an_error_page_says_the_link_is_not_valid_or_to_try_again():
    assert "链接无效" in pages.error_page(404).get_data(as_text=True)
    assert "try again" in pages.error_page(503, "en").get_data(as_text=True)
    assert pages.error_page(413, "en").status_code == 413
