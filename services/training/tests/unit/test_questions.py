import pytest

from training.contract import question_errors
from training.questions import rules as q


@pytest.mark.parametrize("kind, options, correct, field", [
    (q.SINGLE, ["a"], [0], "options"),
    (q.SINGLE, ["a", "b"], [0, 1], "correct"),
    (q.SINGLE, ["a", "b"], [2], "correct"),
    (q.MULTIPLE, ["a", "b"], [], "correct"),
    (q.MULTIPLE, ["a", "b"], [1, 1], "correct"),
    (q.MULTIPLE, ["a", "b"], [True], "correct"),
    (q.TRUE_FALSE, [], [0], "correct"),
    (q.TRUE_FALSE, ["yes", "no"], True, "options"),
    (q.SHORT, [], "the answer", "correct"),
])
def test_malformed_questions_name_the_field(kind, options, correct, field):
    assert set(question_errors(kind, options, correct)) == {field}


@pytest.mark.parametrize("kind, options, correct", [
    (q.SINGLE, ["a", "b"], [1]), (q.MULTIPLE, ["a", "b", "c"], [0, 2]), (q.TRUE_FALSE, [], False),
    (q.SHORT, [], None)])
def test_well_formed_questions(kind, options, correct):
    assert question_errors(kind, options, correct) == {}


@pytest.mark.parametrize("kind, correct, answer, marks", [
    (q.SINGLE, [1], 1, 2.0), (q.SINGLE, [1], 0, 0.0), (q.SINGLE, [1], None, 0.0),
    (q.MULTIPLE, [0, 2], [2, 0], 2.0), (q.MULTIPLE, [0, 2], [0], 0.0), (q.MULTIPLE, [0, 2], [0, 1, 2], 0.0),
    (q.TRUE_FALSE, False, False, 2.0), (q.TRUE_FALSE, False, True, 0.0),
])
def test_automatic_marks_all_or_nothing(kind, correct, answer, marks):
    assert q.auto_marks(kind, correct, 2, answer) == marks


def test_a_short_answer_waits_for_an_assessor():
    assert q.auto_marks(q.SHORT, None, 2, "polite and quick") is None


@pytest.mark.parametrize("kind, answer", [
    (q.SINGLE, 3), (q.SINGLE, True), (q.SINGLE, "1"), (q.MULTIPLE, []), (q.MULTIPLE, [5]), (q.TRUE_FALSE, 1),
    (q.SHORT, 7)])
def test_answers_of_the_wrong_shape_are_refused(kind, answer):
    assert q.answer_error(kind, 3, answer)


@pytest.mark.parametrize("kind, answer", [(q.SINGLE, 2), (q.MULTIPLE, [0, 2]), (q.TRUE_FALSE, False), (q.SHORT, "")])
def test_answers_of_the_right_shape(kind, answer):
    assert q.answer_error(kind, 3, answer) is None
