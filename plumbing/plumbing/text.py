"""Text that no database stores: NUL characters (PostgreSQL's text cannot hold
them) and unpaired surrogates (not Unicode, so not UTF-8 either). JSON can
carry both (``"\\u0000"``, ``"\\ud800"``); the gateway refuses them in requests
and consumers in events, naming where they are."""


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
