"""Training's Prometheus metrics (for a Grafana panel): exam attempts taken
and passed by course (pass rate = passed / taken), and certifications valid
and expiring soon, counted in the database by the expiry sweep's timer."""
from datetime import datetime

from prometheus_client import Counter, Gauge
from sqlalchemy import func, or_, select

from training.certifications import EXPIRING_WITHIN
from training.models import Certification

EXAM_ATTEMPTS = Counter("csops_training_exam_attempts_total", "Exam attempts graded.", ["course"])
EXAM_ATTEMPTS_PASSED = Counter(
    "csops_training_exam_attempts_passed_total",
    "Graded exam attempts whose own grade reached the pass mark; pass rate = this / attempts.", ["course"])
CERTIFICATIONS_VALID = Gauge(
    "csops_training_certifications_valid", "Certifications neither revoked nor expired.", ["certification"])
CERTIFICATIONS_EXPIRING = Gauge(
    "csops_training_certifications_expiring_soon",
    "Valid certifications that expire within 30 days.", ["certification"])


def attempt_graded(course_id, passed):
    EXAM_ATTEMPTS.labels(str(course_id)).inc()
    if passed:
        EXAM_ATTEMPTS_PASSED.labels(str(course_id)).inc()


def refresh_certification_gauges(session, now: datetime):
    valid = (Certification.revoked_at.is_(None),
             or_(Certification.valid_until.is_(None), Certification.valid_until > now))
    counts = {
        CERTIFICATIONS_VALID: select(Certification.name, func.count()).where(*valid),
        CERTIFICATIONS_EXPIRING: select(Certification.name, func.count()).where(
            *valid, Certification.valid_until <= now + EXPIRING_WITHIN),
    }
    for gauge, statement in counts.items():
        rows = session.execute(statement.group_by(Certification.name)).all()
        gauge.clear()  # a name with none left must not keep its old count
        for name, count in rows:
            gauge.labels(name).set(count)
