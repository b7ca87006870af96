"""Text that no database stores: NUL characters (PostgreSQL's text cannot hold
them) and unpaired surrogates (not Unicode, so not UTF-8 either). JSON can
carry both (``"\\u0000"``, ``"\\ud800"``); the gateway refuses them in requests
and consumers in events, naming where they are.

And the article before a word a message fills in (``with_article``): every
"a {kind}" of a message goes through it, so none reads "a exam" or "a in_progress"."""
import re


def text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain unpaired surrogates (not valid Unicode)"
    return None


def first_text_problem(value) -> str | None:
    """Where in a JSON value (keys too) the first such text is, and what is wrong
    with it; iterative, so any depth the JSON decoder allowed is fine."""
    pending = [("", value)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                return f"{path or 'the value'} {problem}"
        elif isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                key_problem = text_problem(key) if isinstance(key, str) else None
                if key_problem:
                    return f"a key in {path or 'the value'} {key_problem}"
                pending.append((f"{path}.{key}" if path else str(key), item))
    return None


# A vowel letter that sounds like a consonant ("a user", "a one-off"), an h that is silent ("an hour").
SOUNDS_LIKE_CONSONANT = re.compile(r"(uni|use|usu|uti|ure|eu|one\b|once)", re.IGNORECASE)
SILENT_H = re.compile(r"(hour|honest|honou?r|heir)", re.IGNORECASE)
ABBREVIATION = re.compile(r"[A-Z]{2,5}\b")
VOWEL_NAMED_LETTERS = "AEFHILMNORSX"  # "an SLA", "an HR case"; "a KPI"


def with_article(word: str, capital: bool = False) -> str:
    """``word`` after "a" or "an" as it sounds: "an exam", "an in_progress", "a user", "an SLA"."""
    word = str(word)
    if ABBREVIATION.match(word):
        an = word[0] in VOWEL_NAMED_LETTERS
    elif SOUNDS_LIKE_CONSONANT.match(word):
        an = False
    else:
        an = word[:1].lower() in "aeiou" or bool(SILENT_H.match(word))
    article = "an" if an else "a"
    return f"{article.capitalize() if capital else article} {word}"
