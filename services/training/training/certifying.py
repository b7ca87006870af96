"""Certifications and career levels: issue and renew on completing a
course, revoke, find expiry, and what an agent holds (R4, R5).

The expiry sweep claims expired certifications with ``FOR UPDATE SKIP
LOCKED`` and marks each in the same transaction as its event, so replicas
running the same timer publish each expiry once.
"""
from sqlalchemy import select

from plumbing.db import get_or_not_found
from plumbing.errors import Conflict, NotFound, load_or_invalid as load
from plumbing.schemas import shared
from plumbing.rpc import rpc
from training import certifications, events, metrics
from training.models import CareerLevel, Certification
from training.contract import (
    CareerLevelListSchema, CareerLevelSchema, CareerLevelUpdateSchema, CertificationListQuerySchema,
    CertificationPageSchema, CertificationSchema, RevocationSchema, StandingSchema,
)
from plumbing.timing import timer

EXPIRY_SWEEP_SECONDS = 60
SWEEP_BATCH = 200


class Certifying:
    """Mixed into TrainingService: needs its ``db``, ``now``, ``publish`` and ``agents_page``."""

    @rpc
    def list_certifications(self, query=None, agents=None):
        return self.agents_page(Certification, CertificationListQuerySchema, CertificationPageSchema, query, agents)

    @rpc
    def revoke_certification(self, certification_id, data):
        reason = load(RevocationSchema, data)["reason"]
        with self.db.begin():
            held = get_or_not_found(self.db, Certification, certification_id, lock=True)
            if not certifications.is_valid(held.valid_until, held.revoked_at, self.now()):
                raise Conflict("the certification is no longer valid", {"valid": [False]})
            held.revoked_at, held.revoked_reason = self.now(), reason
            self.publish(events.CERTIFICATION_REVOKED, held.agent, {"agent": held.agent, "certification": held.name})
        return shared(CertificationSchema).dump(held)

    @rpc
    def agent_standing(self, agent):
        """What the agent holds, whether it clears them for duty, which levels they qualify for."""
        now = self.now()
        held = self.db.scalars(select(Certification).where(Certification.agent == agent)
                               .order_by(Certification.name)).all()
        valid = {c.name for c in held if certifications.is_valid(c.valid_until, c.revoked_at, now)}
        requirements = self.requirements()
        return shared(StandingSchema).dump({
            "agent": agent, "certifications": held,
            "cleared_for_duty": any(certifications.clears_for_duty(name, requirements) for name in valid),
            "qualified_levels": certifications.qualified_levels(valid, requirements)})

    @rpc
    def list_career_levels(self):
        stored = {level.level: level for level in self.db.scalars(select(CareerLevel))}
        return shared(CareerLevelListSchema).dump({"items": [
            stored.get(level, {"level": level, "certifications": [], "updated_at": None})
            for level in certifications.LEVELS]})

    @rpc
    def set_career_level(self, level, data):
        """Set what a level requires. A change to the specialist level changes
        who is cleared for duty: each valid certification whose standing
        changed is announced again with its new ``clears_for_duty``."""
        if level not in certifications.LEVELS:
            raise NotFound(f"career level {level!r} does not exist; the levels are {', '.join(certifications.LEVELS)}")
        required = list(dict.fromkeys(load(CareerLevelUpdateSchema, data)["certifications"]))
        with self.db.begin():
            before = self.requirements()
            record = self.db.get(CareerLevel, level, with_for_update=True) or CareerLevel(level=level)
            record.certifications, record.updated_at = required, self.now()
            self.db.add(record)
            self.db.flush()
            after = self.requirements()
            duty = certifications.DUTY_LEVEL
            changed = set(before.get(duty, ())) ^ set(after.get(duty, ()))
            for held in self.valid_certifications(changed):
                self.announce(held, after)
        return shared(CareerLevelSchema).dump(record)

    @timer("TRAINING_EXPIRY_SWEEP_SECONDS", EXPIRY_SWEEP_SECONDS)
    def sweep_expiry(self):
        """Announce each certification that expired, once; refresh the gauges."""
        now = self.now()
        with self.db.begin():
            expired = self.db.scalars(
                select(Certification).where(Certification.expired_at.is_(None), Certification.revoked_at.is_(None),
                                            Certification.valid_until <= now)
                .order_by(Certification.valid_until).limit(SWEEP_BATCH).with_for_update(skip_locked=True)).all()
            for held in expired:
                held.expired_at = now
                self.publish(events.CERTIFICATION_EXPIRED, held.agent,
                             {"agent": held.agent, "certification": held.name})
        metrics.refresh_certification_gauges(self.db, now)
        return len(expired)

    # -- the steps -----------------------------------------------------------------------
    def certify(self, agent, course):
        """Issue the course's certification, or renew it with a new date."""
        held = self.db.scalars(select(Certification).where(
            Certification.agent == agent, Certification.name == course.certification).with_for_update()).first()
        if held is None:
            held = Certification(agent=agent, name=course.certification)
            self.db.add(held)
        issued = self.now()
        held.course_id, held.issued_at = course.id, issued
        held.valid_until = certifications.valid_until(issued, course.certification_validity_days)
        held.revoked_at = held.revoked_reason = held.expired_at = None
        self.announce(held, self.requirements())

    def announce(self, held, requirements):
        self.publish(events.CERTIFIED, held.agent, {
            "agent": held.agent, "certification": held.name, "valid_until": held.valid_until,
            "clears_for_duty": certifications.clears_for_duty(held.name, requirements)})

    def requirements(self) -> dict[str, list[str]]:
        return {level.level: level.certifications for level in self.db.scalars(select(CareerLevel))}

    def valid_certifications(self, names):
        now = self.now()
        held = self.db.scalars(select(Certification).where(Certification.name.in_(names))).all()
        return [c for c in held if certifications.is_valid(c.valid_until, c.revoked_at, now)]
