"""Training's Prometheus metrics (for a Grafana panel): exam attempts taken
and passed by course (pass rate = passed / taken), and certifications valid
and expiring soon, counted in the database by the expiry sweep
(``certification/handlers.py``)."""
from prometheus_client import Counter, Gauge

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
