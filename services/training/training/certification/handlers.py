"""Certifications and career levels: issue and renew on completing a
course, revoke, find expiry, and what an agent holds (R4, R5).

The expiry sweep claims expired certifications with ``FOR UPDATE SKIP
LOCKED`` and marks each in the same transaction as its event, so replicas
running the same timer publish each expiry once.
"""
from sqlalchemy import func, or_, select

from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, NotFound, load_or_invalid as load
from plumbing.paging import fetch_page
from plumbing.schemas import shared
from training import events, metrics
from training.certification import rules
from training.contract import (
    CAREER_LEVELS, CareerLevelListSchema, CareerLevelSchema, CareerLevelUpdateSchema, CertificationListQuerySchema,
    CertificationPageSchema, CertificationSchema, RevocationSchema, StandingSchema, is_valid,
)
from training.models import CareerLevel, Certification

EXPIRY_SWEEP_SECONDS = 60
SWEEP_BATCH = 200


def list_certifications(uow, query, agents):
    """``agents``: only theirs (the gateway's scope for agents and supervisors)."""
    criteria = load(CertificationListQuerySchema, query or {})
    conditions = [] if agents is None else [Certification.agent.in_(agents)]
    return shared(CertificationPageSchema).dump(
        fetch_page(uow.session, Certification, criteria, [Certification.id.desc()], conditions))


def revoke_certification(uow, certification_id, data):
    reason = load(RevocationSchema, data)["reason"]
    with uow.transaction():
        held = get_or_not_found(uow.session, Certification, certification_id, lock=True)
        if not is_valid(held.valid_until, held.revoked_at, uow.now()):
            raise Conflict("the certification is no longer valid", {"valid": [False]})
        held.revoked_at, held.revoked_reason = uow.now(), reason
        uow.record(events.CERTIFICATION_REVOKED, events.AGGREGATE, held.agent,
                   {"agent": held.agent, "certification": held.name})
    return shared(CertificationSchema).dump(held)


def agent_standing(uow, agent):
    """What the agent holds, whether it clears them for duty, which levels they qualify for."""
    now = uow.now()
    held = uow.session.scalars(select(Certification).where(Certification.agent == agent)
                               .order_by(Certification.name)).all()
    valid = {c.name for c in held if is_valid(c.valid_until, c.revoked_at, now)}
    levels = requirements(uow)
    return shared(StandingSchema).dump({
        "agent": agent, "certifications": held,
        "cleared_for_duty": any(rules.clears_for_duty(name, levels) for name in valid),
        "qualified_levels": rules.qualified_levels(valid, levels)})


def list_career_levels(uow):
    stored = {level.level: level for level in uow.session.scalars(select(CareerLevel))}
    return shared(CareerLevelListSchema).dump({"items": [
        stored.get(level, {"level": level, "certifications": [], "updated_at": None}) for level in CAREER_LEVELS]})


def set_career_level(uow, level, data):
    """Set what a level requires. A change to the specialist level changes
    who is cleared for duty: each valid certification whose standing
    changed is announced again with its new ``clears_for_duty``."""
    if level not in CAREER_LEVELS:
        raise NotFound(f"career level {level!r} does not exist; the levels are {', '.join(CAREER_LEVELS)}")
    required = list(dict.fromkeys(load(CareerLevelUpdateSchema, data)["certifications"]))
    with uow.transaction():
        before = requirements(uow)
        record = uow.session.get(CareerLevel, level, with_for_update=True) or CareerLevel(level=level)
        record.certifications, record.updated_at = required, uow.now()
        uow.session.add(record)
        uow.session.flush()
        after = requirements(uow)
        changed = set(before.get(rules.DUTY_LEVEL, ())) ^ set(after.get(rules.DUTY_LEVEL, ()))
        for held in valid_certifications(uow, changed):
            announce(uow, held, after)
    return shared(CareerLevelSchema).dump(record)


def sweep_expiry(uow):
    """Announce each certification that expired, once; refresh the gauges."""
    now = uow.now()
    with uow.transaction():
        expired = uow.session.scalars(
            select(Certification).where(Certification.expired_at.is_(None), Certification.revoked_at.is_(None),
                                        Certification.valid_until <= now)
            .order_by(Certification.valid_until).limit(SWEEP_BATCH).with_for_update(skip_locked=True)).all()
        for held in expired:
            held.expired_at = now
            uow.record(events.CERTIFICATION_EXPIRED, events.AGGREGATE, held.agent,
                       {"agent": held.agent, "certification": held.name})
    refresh_gauges(uow, now)
    return len(expired)


# -- the steps ---------------------------------------------------------------------------
def certify(uow, agent, course):
    """Issue the course's certification, or renew it with a new date."""
    held = uow.session.scalars(select(Certification).where(
        Certification.agent == agent, Certification.name == course.certification).with_for_update()).first()
    if held is None:
        held = Certification(agent=agent, name=course.certification)
        uow.session.add(held)
    issued = uow.now()
    held.course_id, held.issued_at = course.id, issued
    held.valid_until = rules.valid_until(issued, course.certification_validity_days)
    held.revoked_at = held.revoked_reason = held.expired_at = None
    announce(uow, held, requirements(uow))


def announce(uow, held, levels):
    uow.record(events.CERTIFIED, events.AGGREGATE, held.agent, {
        "agent": held.agent, "certification": held.name, "valid_until": held.valid_until,
        "clears_for_duty": rules.clears_for_duty(held.name, levels)})


def requirements(uow) -> dict[str, list[str]]:
    """What each career level requires, as stored."""
    return {level.level: level.certifications for level in uow.session.scalars(select(CareerLevel))}


def valid_certifications(uow, names):
    now = uow.now()
    held = uow.session.scalars(select(Certification).where(Certification.name.in_(names))).all()
    return [c for c in held if is_valid(c.valid_until, c.revoked_at, now)]


def refresh_gauges(uow, now):
    """Certifications valid and expiring soon, counted in the database, so every replica's gauges agree."""
    valid = (Certification.revoked_at.is_(None),
             or_(Certification.valid_until.is_(None), Certification.valid_until > now))
    counts = {
        metrics.CERTIFICATIONS_VALID: select(Certification.name, func.count()).where(*valid),
        metrics.CERTIFICATIONS_EXPIRING: select(Certification.name, func.count()).where(
            *valid, Certification.valid_until <= now + rules.EXPIRING_WITHIN),
    }
    for gauge, statement in counts.items():
        rows = uow.session.execute(statement.group_by(Certification.name)).all()
        gauge.clear()  # a name with none left must not keep its old count
        for name, count in rows:
            gauge.labels(name).set(count)
