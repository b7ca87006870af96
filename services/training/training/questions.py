"""The question bank's rules: what a well-formed question is and how an
answer is marked (R3). Short answers are marked by an assessor."""
SINGLE, MULTIPLE, TRUE_FALSE, SHORT = "single_choice", "multiple_choice", "true_false", "short_answer"
KINDS = (SINGLE, MULTIPLE, TRUE_FALSE, SHORT)
CHOICE_KINDS = (SINGLE, MULTIPLE)


def question_errors(kind, options, correct) -> dict[str, list[str]]:
    """Choices need two options and a key naming them; true/false a boolean
    key; a short answer neither."""
    errors = {}
    if kind in CHOICE_KINDS:
        if len(options) < 2:
            errors["options"] = ["A choice question needs at least two options."]
        if not isinstance(correct, list) or not correct or any(
                isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(options) for i in correct):
            errors["correct"] = ["List the positions of the right options (from 0)."]
        elif len(set(correct)) != len(correct):
            errors["correct"] = ["An option is listed twice."]
        elif kind == SINGLE and len(correct) != 1:
            errors["correct"] = ["A single-choice question has exactly one right option."]
    else:
        if options:
            errors["options"] = [f"A {kind} question has no options."]
        if kind == TRUE_FALSE and not isinstance(correct, bool):
            errors["correct"] = ["true or false."]
        if kind == SHORT and correct is not None:
            errors["correct"] = ["A short answer is marked by an assessor: no key."]
    return errors


def answer_error(kind, option_count, answer) -> str | None:
    """Why ``answer`` cannot answer a question of ``kind``, or None."""
    if kind == SINGLE and not (isinstance(answer, int) and not isinstance(answer, bool)
                               and 0 <= answer < option_count):
        return "the position of one option"
    if kind == MULTIPLE and not (isinstance(answer, list) and answer and all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < option_count for i in answer)):
        return "a list of option positions"
    if kind == TRUE_FALSE and not isinstance(answer, bool):
        return "true or false"
    if kind == SHORT and not (isinstance(answer, str) and len(answer) <= 5000):
        return "text of at most 5000 characters"
    return None


def auto_marks(kind, correct, marks, answer) -> float | None:
    """Marks for an answer (0 for none); None when an assessor must mark it.
    A multiple choice scores only when exactly the right options are chosen."""
    if kind == SHORT:
        return None
    if answer is None:
        return 0.0
    if kind == SINGLE:
        right = answer == correct[0]
    elif kind == MULTIPLE:
        right = sorted(set(answer)) == sorted(correct)
    else:
        right = answer is correct
    return float(marks) if right else 0.0
