"""Server-rendered HTML pages for customers without an account (W2): the rating page of the CSAT
survey's link (T6). A page route is declared like any other (``@router.api(..., page=True)``,
``gateway.api``) but is public, takes a form-encoded body, answers HTML (errors too) and is kept
out of the JSON OpenAPI document.

Pages are Jinja2 templates, autoescaped, self-contained (inline style, no script, no external
asset), in zh-CN and en: ``?lang=`` first, then the Accept-Language header, else zh-CN. Every page
carries the headers of ``SECURITY_HEADERS``: nothing may be framed, loaded or posted elsewhere, no
Referer carries the link's token away, and no cache keeps the page.
"""
from jinja2 import DictLoader, Environment, select_autoescape
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from werkzeug.wrappers import Response

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

TEXTS = {
    "zh-CN": {
        "rate_title": "为我们的服务评分",
        "rate_intro": "您的问题已处理完毕。请为本次服务打分（1 分最低，5 分最高）。",
        "scores": {1: "1 分 · 非常不满意", 2: "2 分 · 不满意", 3: "3 分 · 一般", 4: "4 分 · 满意", 5: "5 分 · 非常满意"},
        "comment": "留言（可选）",
        "submit": "提交评分",
        "pick_score": "请选择 1 到 5 分。",
        "comment_too_long": "留言最多 2000 字。",
        "thanks_title": "感谢您的评价",
        "thanks": "您的评分已收到，感谢您抽出时间。",
        "invalid_title": "链接无效",
        "invalid": "此评分链接无效，或已被更新的链接取代。请使用我们最近一封邮件中的链接。",
        "rated_title": "已经评过分了",
        "rated": "本次服务已经评过分，每个链接只能使用一次。感谢您的反馈。",
        "expired_title": "链接已过期",
        "expired": "此评分链接已过期。",
        "unavailable_title": "暂时无法处理",
        "unavailable": "服务暂时无法处理您的请求，请稍后再试。",
        "error_title": "无法处理",
        "error": "无法处理此请求。",
    },
    "en": {
        "rate_title": "Rate our service",
        "rate_intro": "Your request has been resolved. Please rate our service (1 is the lowest, 5 the highest).",
        "scores": {1: "1 · very dissatisfied", 2: "2 · dissatisfied", 3: "3 · neutral", 4: "4 · satisfied",
                   5: "5 · very satisfied"},
        "comment": "Comment (optional)",
        "submit": "Send my rating",
        "pick_score": "Please choose a score from 1 to 5.",
        "comment_too_long": "The comment may have at most 2000 characters.",
        "thanks_title": "Thank you",
        "thanks": "We have your rating. Thank you for your time.",
        "invalid_title": "Link not valid",
        "invalid": "This rating link is not valid, or a newer link replaced it. Please use the link in our latest mail.",
        "rated_title": "Already rated",
        "rated": "This service was already rated; each link works once. Thank you for your feedback.",
        "expired_title": "Link expired",
        "expired": "This rating link has expired.",
        "unavailable_title": "Please try again",
        "unavailable": "We cannot take your request right now; please try again in a few minutes.",
        "error_title": "Cannot do that",
        "error": "This request cannot be handled.",
    },
}

LAYOUT = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;background:#f4f5f7;color:#1d2129}
main{max-width:34rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:8px;box-shadow:0 1px 3px #0002}
h1{font-size:1.4rem;margin-top:0}fieldset{border:0;padding:0;margin:1rem 0}
label{display:block;margin:.4rem 0}textarea{width:100%;box-sizing:border-box;min-height:6rem;font:inherit}
button{font:inherit;padding:.5rem 1.2rem;border:0;border-radius:4px;background:#1664ff;color:#fff;cursor:pointer}
.problem{color:#b42318;font-weight:600}
</style></head>
<body><main>
<h1>{{ title }}</h1>
{% block content %}{% endblock %}
</main></body></html>
"""

RATE = """{% extends "layout.html" %}{% block content %}
<p>{{ t.rate_intro }}</p>
{% if problem %}<p class="problem" role="alert">{{ problem }}</p>{% endif %}
<form method="post" action="{{ action }}">
<fieldset><legend>{{ t.rate_title }}</legend>
{% for score, label in t.scores.items() %}
<label><input type="radio" name="score" value="{{ score }}" required{% if chosen == score|string %} checked{% endif %}> {{ label }}</label>
{% endfor %}
</fieldset>
<label for="comment">{{ t.comment }}</label>
<textarea id="comment" name="comment" maxlength="2000">{{ comment }}</textarea>
<p><button type="submit">{{ t.submit }}</button></p>
</form>
{% endblock %}"""

MESSAGE = """{% extends "layout.html" %}{% block content %}<p>{{ message }}</p>{% endblock %}"""

ENVIRONMENT = Environment(loader=DictLoader({"layout.html": LAYOUT, "rate.html": RATE, "message.html": MESSAGE}),
                          autoescape=select_autoescape(default=True, default_for_string=True))


def language(query, accept_language) -> str:
    """The page's language: ``?lang=`` when it names one we have, else the first of Accept-Language (by
    quality) whose primary tag is one of ours (zh-TW and zh are Chinese before a lower-rated en), else zh-CN."""
    for asked in [(query or {}).get("lang", ""),
                  *(value for value, _ in parse_accept_header(accept_language or "", LanguageAccept))]:
        primary = asked.lower().replace("_", "-").split("-")[0]
        for lang in LANGUAGES:
            if asked.lower() == lang.lower() or primary == lang.lower().split("-")[0]:
                return lang
    return DEFAULT_LANGUAGE


def texts(lang) -> dict:
    return TEXTS[lang]


def render(status, template, lang, **values) -> Response:
    body = ENVIRONMENT.get_template(template).render(lang=lang, t=TEXTS[lang], **values)
    response = Response(body, status=status, mimetype="text/html")
    response.headers.extend(SECURITY_HEADERS)
    response.headers["Content-Language"] = lang
    return response


def message(status, lang, key) -> Response:
    """A page that says one thing: ``key`` names its title (``<key>_title``) and text in ``TEXTS``."""
    t = TEXTS[lang]
    return render(status, "message.html", lang, title=t[f"{key}_title"], message=t[key])


def error_page(status, lang=DEFAULT_LANGUAGE) -> Response:
    """What a page route answers when the request fails before or beside the route itself."""
    key = {404: "invalid", 503: "unavailable"}.get(status, "error")
    return message(status, lang, key)
