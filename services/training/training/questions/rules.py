"""The question bank's rules: how an answer is marked (R3). Short answers
are marked by an assessor. What a well-formed question is, the schemas say
(``training.contract.question_errors``)."""
from training.contract import MULTIPLE, SHORT, SINGLE, TRUE_FALSE


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
