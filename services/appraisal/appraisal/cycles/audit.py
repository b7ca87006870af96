"""The audit trail (A5): who did what to KPI definitions, templates, cycles,
ratings, results and appeals, written in the transaction that makes the step."""
from appraisal.models import AuditEntry


def audit(uow, cycle_id, action, details, appeal_id=None):
    uow.session.add(AuditEntry(cycle_id=cycle_id, appeal_id=appeal_id, actor=uow.actor, action=action,
                               details=details, at=uow.now()))
