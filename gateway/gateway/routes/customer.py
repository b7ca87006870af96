"""The customer's pages, with no account (W2): the rating page the CSAT survey's link opens (T6).

``GET /rate/<token>`` shows the form and changes nothing (mail scanners open links); ``POST`` records
the rating through ticketing's ``submit_rating``, as ``POST /api/v1/ratings/<token>`` does. The token
in the path is the credential: 192 random bits (``ticketing.aftercare.rules.new_rating_token``), only
its hash stored, one live link per ticket, valid 14 days; guessing one is hopeless, so no rate limit.
An unknown or replaced token is 404, a used one 409, an expired one 410; none says which tickets exist.
"""
from gateway import pages
from gateway.api import ApiCall, Router
from plumbing.errors import Conflict, NotFound
from ticketing.contract import RATING_SCALE

COMMENT_MAX = 2000
STATE_PAGES = {"rated": (409, "rated"), "expired": (410, "expired")}

router = Router()


@router.api("GET", "/rate/<token>", page=True, secret_path=True, summary="The customer's rating page (HTML)")
def show_rating_page(service, call: ApiCall, token):
    lang = pages.language(call.query, call.accept_language)
    refused = link_refused(service, token, lang)
    return refused or form_page(200, lang, token, call.query)


@router.api("POST", "/rate/<token>", page=True, secret_path=True, summary="The customer rates (HTML form)")
def submit_rating_page(service, call: ApiCall, token):
    lang = pages.language(call.query, call.accept_language)
    refused = link_refused(service, token, lang)
    if refused:
        return refused
    score, comment = call.body.get("score", ""), call.body.get("comment", "").strip()
    problem = ("pick_score" if score not in {str(value) for value in RATING_SCALE}
               else "comment_too_long" if len(comment) > COMMENT_MAX else None)
    if problem:
        return form_page(400, lang, token, call.query, problem=pages.texts(lang)[problem], chosen=score,
                         comment=comment)
    try:
        service.ticketing.submit_rating(token, {"score": int(score), "comment": comment or None})
    except (NotFound, Conflict):  # rated or replaced since the look above: say which
        return link_refused(service, token, lang) or pages.message(409, lang, "rated")
    return pages.message(200, lang, "thanks")


def link_refused(service, token, lang):
    """The page saying why the link cannot be rated, or None while it can."""
    try:
        state = service.ticketing.rating_link_state(token)["state"]
    except NotFound:
        return pages.message(404, lang, "invalid")
    if state in STATE_PAGES:
        status, key = STATE_PAGES[state]
        return pages.message(status, lang, key)
    return None


def form_page(status, lang, token, query, problem=None, chosen=None, comment=""):
    action = f"/rate/{token}" + (f"?lang={lang}" if "lang" in query else "")
    return pages.render(status, "rate.html", lang, title=pages.texts(lang)["rate_title"], action=action,
                        problem=problem, chosen=chosen, comment=comment)
