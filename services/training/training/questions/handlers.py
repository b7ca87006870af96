"""The question bank: categories, questions, retiring a question from future draws (R3)."""
from sqlalchemy import func, select

from plumbing.db import column_values, get_or_not_found
from plumbing.errors import Conflict, InvalidInput, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from training.contract import (
    CategoryCreateSchema, CategoryListSchema, CategorySchema, QuestionCreateSchema, QuestionListQuerySchema,
    QuestionPageSchema, QuestionRetireSchema, QuestionSchema,
)
from training.courses import handlers as courses
from training.models import Question, QuestionCategory


def create_category(uow, data):
    category = QuestionCategory(**load(CategoryCreateSchema, data))
    with uow.transaction():
        if uow.session.scalar(select(QuestionCategory.id).where(QuestionCategory.name == category.name)):
            raise Conflict(f"category {category.name!r} exists", {"name": ["already taken"]})
        uow.session.add(category)
    return shared(CategorySchema).dump(dict(column_values(category), active_questions=0))


def list_categories(uow):
    counts = dict(uow.session.execute(select(Question.category_id, func.count()).where(Question.active.is_(True))
                                      .group_by(Question.category_id)).all())
    categories = uow.session.scalars(select(QuestionCategory).order_by(QuestionCategory.name))
    return shared(CategoryListSchema).dump(
        {"items": [dict(column_values(c), active_questions=counts.get(c.id, 0)) for c in categories]})


def create_question(uow, data):
    fields = load(QuestionCreateSchema, data)
    with uow.transaction():
        if uow.session.get(QuestionCategory, fields["category_id"]) is None:
            raise InvalidInput("no such category", {"category_id": ["does not exist"]})
        question = Question(**fields, active=True, created_at=uow.now())
        uow.session.add(question)
    return shared(QuestionSchema).dump(question)


def list_questions(uow, query):
    criteria = load(QuestionListQuerySchema, query or {})
    return shared(QuestionPageSchema).dump(fetch_page(uow.session, Question, criteria, [Question.id]))


def set_question_active(uow, question_id, data):
    """Retire a question from future draws (or bring it back). Retiring is refused (409, naming the
    modules) when it would leave an exam module of a course unable to draw its questions."""
    active = load(QuestionRetireSchema, data)["active"]
    with uow.transaction():
        question = get_or_not_found(uow.session, Question, question_id, lock=True)
        if question.active and not active:
            check_still_drawable(uow, question)
        question.active = active
    return shared(QuestionSchema).dump(question)


def check_still_drawable(uow, question):
    left = uow.session.scalar(select(func.count()).select_from(Question).where(
        Question.category_id == question.category_id, Question.active.is_(True), Question.id != question.id))
    short = [(module, count) for module, count in courses.modules_drawing_from(uow, question.category_id)
             if count > left]
    if short:
        raise Conflict("retiring the question would leave "
                       + ", ".join(f"module {m.id} ({m.title}) of course {m.course_id}" for m, _ in short)
                       + " unable to draw its exam: add questions to the category or change the module first",
                       {"active": [f"module {m.id} of course {m.course_id} draws {count} from category "
                                   f"{question.category_id}, which would hold {left}" for m, count in short]})


def active_bank(uow) -> dict[int, list[Question]]:
    """Each category's active questions, the bank an exam draws from."""
    bank = {}
    for question in uow.session.scalars(select(Question).where(Question.active.is_(True)).order_by(Question.id)):
        bank.setdefault(question.category_id, []).append(question)
    return bank
