"""Cycles, ratings, results and appeals (A2-A6), mixed into AppraisalService.

Relies on the service's ``db``, ``events``, ``context``, ``config`` and its
KPI steps (``period_conditions``, ``exam_scores``). Every step is written
to the audit trail in the transaction that makes it.
"""
from datetime import date, datetime, timezone
from types import SimpleNamespace

from sqlalchemy import select

from appraisal import cycles, events, kpis, scoring
from appraisal.models import (
    Appeal, AuditEntry, Cycle, KpiDefinition, Rating, Result, Template, TicketRecord,
)
from appraisal.contract import (
    AppealCreateSchema, AppealDecisionSchema, AppealInvestigationSchema, AppealListSchema, AppealQuerySchema,
    AppealSchema, AuditListSchema, CycleCreateSchema, CycleListSchema, CycleSchema, CycleTransitionSchema,
    ReviewRatingCreateSchema, ReviewRatingSchema, ResultListSchema, ResultQuerySchema, ResultSchema,
)
from plumbing.config import setting
from plumbing.db import get_or_not_found, insert_rows, upsert_insert
from plumbing.errors import Conflict, InvalidInput, NotFound, load_or_invalid as load
from plumbing.schemas import shared
from plumbing.rpc import rpc

RATING_STATES = ("collecting", "computed")
VISIBLE_TO_AGENTS = ("published", "closed")


def conflict(error: cycles.CycleConflict) -> Conflict:
    return Conflict(str(error), {error.field: [str(error)]})


def most_tickets(tickets_by_team: dict):
    """The team with the most tickets (of equals, the first by name); None without any."""
    return min(tickets_by_team, key=lambda team: (-tickets_by_team[team], team), default=None)


def dates(text) -> frozenset:
    return frozenset(date.fromisoformat(part.strip()) for part in (text or "").split(",") if part.strip())


class Reviews:
    def now(self):
        return datetime.now(timezone.utc)

    def today(self) -> date:
        return self.now().date()

    @property
    def working_days(self) -> cycles.WorkingDays:
        country = setting(self.config, "appraisal", "HOLIDAYS_COUNTRY", "CN")
        return cycles.WorkingDays(
            country=country or None,
            extra_holidays=dates(setting(self.config, "appraisal", "EXTRA_HOLIDAYS", "")),
            working_weekend_days=dates(setting(self.config, "appraisal", "WORKING_DAYS", "")))

    def audit(self, cycle_id, action, details, appeal_id=None):
        self.db.add(AuditEntry(cycle_id=cycle_id, appeal_id=appeal_id, actor=self.context.actor, action=action,
                               details=details, at=self.now()))

    def publish(self, event_type, aggregate_id, subject):
        self.events.record(self.db, event_type, events.AGGREGATE, aggregate_id, subject)

    # -- cycles -------------------------------------------------------------------
    @rpc
    def create_cycle(self, data):
        fields = load(CycleCreateSchema, data)
        with self.db.begin():
            template = get_or_not_found(self.db, Template, fields["template_id"])
            try:
                start, end = cycles.period_of(template.period_type, fields["period_start"])
            except cycles.CycleConflict as exc:
                raise InvalidInput(str(exc), {exc.field: [str(exc)]}) from None
            if self.db.scalar(select(Cycle.id).where(Cycle.template_id == template.id, Cycle.period_start == start)):
                raise Conflict(f"template {template.id} already has a cycle for {start}",
                               {"period_start": ["already planned"]})
            cycle = Cycle(**fields, period_type=template.period_type, period_end=end, state="planned",
                          created_at=self.now())
            self.db.add(cycle)
            self.db.flush()
            self.audit(cycle.id, "cycle_planned", {"template_id": template.id, "period_start": start.isoformat(),
                                                   "period_end": end.isoformat()})
            return shared(CycleSchema).dump(cycle)

    @rpc
    def get_cycle(self, cycle_id):
        return shared(CycleSchema).dump(get_or_not_found(self.db, Cycle, cycle_id))

    @rpc
    def list_cycles(self):
        rows = self.db.scalars(select(Cycle).order_by(Cycle.period_start.desc(), Cycle.id.desc())).all()
        return shared(CycleListSchema).dump({"items": rows})

    @rpc
    def advance_cycle(self, cycle_id, data):
        """start, compute, review, publish or close, each allowed only from its states."""
        action = load(CycleTransitionSchema, data)["action"]
        with self.db.begin():
            cycle = get_or_not_found(self.db, Cycle, cycle_id, lock=True)
            try:
                target = cycles.next_state(cycle.state, action)
            except cycles.CycleConflict as exc:
                raise conflict(exc) from None
            details = {"from": cycle.state, "to": target}
            if action == "compute":
                details["results"] = self.compute_results(cycle)
            elif action == "publish":
                self.publish_results(cycle)
                details["appeal_deadline"] = cycle.appeal_deadline.isoformat()
            elif action == "close":
                details["retraining_requested"] = self.close(cycle)
            cycle.state = target
            self.audit(cycle.id, f"cycle_{action}", details)
            return shared(CycleSchema).dump(cycle)

    def compute_results(self, cycle) -> int:
        """Every agent with tickets, exam grades or ratings in the period gets a
        result. The KPIs' counts and sums come from one GROUP BY (agent, team)
        and the percentiles from one ranking per measure, not from every record."""
        rule, definitions = self.scoring_rule(cycle)
        conditions = [*self.period_conditions(cycle.period_start, cycle.period_end), TicketRecord.agent.is_not(None)]
        tallies, teams = {}, {}
        for (agent, team), tally in kpis.tallies(self.db, conditions).items():
            tallies.setdefault(agent, []).append(tally)
            if team:
                teams.setdefault(agent, {})[team] = tally["tickets"]
        percentiles = kpis.percentiles(self.db, conditions)
        ratings = self.ratings_by_agent(cycle.id)
        exam_scores = self.exam_scores(None, cycle.period_start, cycle.period_end)
        agents = set(tallies) | set(ratings) | set(exam_scores)
        rows = []
        for agent in sorted(agents):
            measured = kpis.values(kpis.merge(tallies.get(agent, [])), percentiles.get(agent, {}),
                                   exam_scores.get(agent, []))
            scored = scoring.score(rule, definitions, measured, ratings.get(agent, {}))
            result = SimpleNamespace(cycle_id=cycle.id, agent=agent, team=most_tickets(teams.get(agent, {})),
                                     kpis=measured, adjusted=False, computed_at=self.now())
            self.keep_score(result, scored)
            rows.append(vars(result))
        if rows:  # one multi-row upsert: a result computed again keeps its row (and id)
            insert_result = upsert_insert(self.db)(Result.__table__)
            insert_rows(self.db, insert_result.on_conflict_do_update(
                index_elements=[Result.cycle_id, Result.agent],
                set_={name: insert_result.excluded[name] for name in rows[0] if name not in ("cycle_id", "agent")}),
                rows)
        cycle.computed_at = self.now()
        return len(agents)

    def scoring_rule(self, cycle):
        """(scoring.Template, {key: scoring.KpiDefinition}) the cycle is scored with."""
        template = self.db.get(Template, cycle.template_id)
        definitions = {row.key: scoring.KpiDefinition(row.key, row.category, row.source, row.measure, row.direction,
                                                      row.target, row.floor)
                       for row in self.db.scalars(select(KpiDefinition))}
        rule = scoring.Template(
            items=tuple((item["kpi"], item["weight"], item.get("instant_fail_threshold")) for item in template.items),
            reviewer_weights=template.reviewer_weights, bands=tuple(scoring.Band(**band) for band in template.bands))
        return rule, definitions

    @staticmethod
    def keep_score(result, scored: scoring.Score):
        result.score, result.grade = scored.score, scored.grade
        result.breakdown = {"items": scored.items, "failed_by": scored.failed_by}
        band = scored.band
        result.outcome = {} if band is None else {
            "bonus_tier": band.bonus_tier, "promotion_eligible": band.promotion_eligible,
            "warning": band.warning, "retraining_course_id": band.retraining_course_id}

    def ratings_by_agent(self, cycle_id) -> dict:
        """{agent: {rating item: {reviewer role: [scores]}}}"""
        ratings = {}
        for rating in self.db.scalars(select(Rating).where(Rating.cycle_id == cycle_id).order_by(Rating.id)):
            for item, value in rating.scores.items():
                ratings.setdefault(rating.agent, {}).setdefault(item, {}).setdefault(
                    rating.reviewer_role, []).append(value)
        return ratings

    def publish_results(self, cycle):
        cycle.published_at = self.now()
        cycle.appeal_deadline = cycles.appeal_deadline(
            self.today(), cycles.AppealRules(cycle.appeal_days, cycle.decision_days), self.working_days)
        for result in self.db.scalars(select(Result).where(Result.cycle_id == cycle.id).order_by(Result.agent)):
            self.publish(events.PUBLISHED_RESULT, f"{cycle.id}:{result.agent}", {
                "cycle_id": cycle.id, "agent": result.agent, "period_start": cycle.period_start,
                "period_end": cycle.period_end, "score": result.score, "grade": result.grade,
                "appeal_deadline": cycle.appeal_deadline})

    def close(self, cycle) -> list:
        """Outcomes apply once appeals are settled: the window must be over and
        every appeal decided. Returns the agents sent back to training."""
        if self.today() <= cycle.appeal_deadline:
            raise Conflict(f"the appeal window is open until the end of {cycle.appeal_deadline.isoformat()}",
                           {"state": ["appeal window still open"]})
        undecided = self.db.scalars(select(Appeal.id).where(Appeal.cycle_id == cycle.id,
                                                            Appeal.state != "decided")).all()
        if undecided:
            raise Conflict(f"appeals {', '.join(map(str, undecided))} are not decided",
                           {"appeals": [str(appeal) for appeal in undecided]})
        cycle.closed_at = self.now()
        sent = []
        for result in self.db.scalars(select(Result).where(Result.cycle_id == cycle.id).order_by(Result.agent)):
            course_id = result.outcome.get("retraining_course_id")
            if course_id is not None:
                self.publish(events.RETRAINING_REQUESTED, f"{cycle.id}:{result.agent}", {
                    "agent": result.agent, "course_id": course_id, "cycle_id": cycle.id,
                    "reason": f"appraisal cycle {cycle.id} ({cycle.period_start.isoformat()}): grade {result.grade}"})
                sent.append(result.agent)
        return sent

    # -- ratings --------------------------------------------------------------------
    @rpc
    def rate(self, data):
        fields = load(ReviewRatingCreateSchema, data)
        reviewer = self.context.actor
        if fields["reviewer_role"] == "peer" and reviewer == fields["agent"]:
            raise InvalidInput("a peer rating of oneself is not a peer rating", {"agent": ["is the reviewer"]})
        with self.db.begin():
            cycle = get_or_not_found(self.db, Cycle, fields["cycle_id"])
            if cycle.state not in RATING_STATES:
                raise Conflict(f"ratings are taken while a cycle is collecting or computed; this one is {cycle.state}",
                               {"cycle_id": [f"cycle is {cycle.state}"]})
            rating = Rating(**fields, reviewer=reviewer, created_at=self.now())
            self.db.add(rating)
            self.db.flush()
            self.audit(cycle.id, "rating_entered", {"rating_id": rating.id, "agent": rating.agent,
                                                    "reviewer_role": rating.reviewer_role, "scores": rating.scores})
            return shared(ReviewRatingSchema).dump(rating)

    # -- results ---------------------------------------------------------------------
    @rpc
    def list_results(self, cycle_id, query=None):
        criteria = load(ResultQuerySchema, query or {})
        get_or_not_found(self.db, Cycle, cycle_id)
        statement = select(Result).where(Result.cycle_id == cycle_id).order_by(Result.agent)
        if "agent" in criteria:
            statement = statement.where(Result.agent == criteria["agent"])
        return shared(ResultListSchema).dump({"items": self.db.scalars(statement).all()})

    @rpc
    def my_result(self, cycle_id):
        """The caller's own result, once published (A5: an agent sees only their own)."""
        cycle = get_or_not_found(self.db, Cycle, cycle_id)
        result = self.own_result(cycle)
        return shared(ResultSchema).dump(result)

    def own_result(self, cycle):
        result = self.db.scalar(select(Result).where(Result.cycle_id == cycle.id,
                                                     Result.agent == self.context.actor))
        if cycle.state not in VISIBLE_TO_AGENTS or result is None:
            raise NotFound(f"you have no published result in cycle {cycle.id}")
        return result

    # -- appeals ------------------------------------------------------------------------
    @rpc
    def file_appeal(self, cycle_id, data):
        fields = load(AppealCreateSchema, data)
        with self.db.begin():
            cycle = get_or_not_found(self.db, Cycle, cycle_id)
            result = self.own_result(cycle)
            try:
                cycles.check_appeal_allowed(cycle.state, cycle.appeal_deadline, self.today())
            except cycles.CycleConflict as exc:
                raise conflict(exc) from None
            appealable = {item["kpi"] for item in result.breakdown["items"]}
            unknown = sorted(set(fields["items"]) - appealable)
            if unknown:
                raise InvalidInput("items must be items of the result", {"items": [
                    f"not an item of your result: {', '.join(unknown)}"]})
            if self.db.scalar(select(Appeal.id).where(Appeal.result_id == result.id, Appeal.state != "decided")):
                raise Conflict("you already have an appeal of this result under way", {"items": ["appeal open"]})
            appeal = Appeal(cycle_id=cycle.id, result_id=result.id, agent=result.agent, items=fields["items"],
                            reason=fields["reason"], state="filed", filed_at=self.now(),
                            decision_due=cycles.decision_due(self.today(), cycles.AppealRules(
                                cycle.appeal_days, cycle.decision_days), self.working_days))
            self.db.add(appeal)
            self.db.flush()
            self.audit(cycle.id, "appeal_filed", {"items": appeal.items, "reason": appeal.reason}, appeal.id)
            self.publish(events.APPEAL_FILED, appeal.id, appeal)
            return self.appeal_view(appeal)

    @rpc
    def list_appeals(self, query=None):
        criteria = load(AppealQuerySchema, query or {})
        statement = select(Appeal).where(*(getattr(Appeal, name) == value for name, value in criteria.items()))
        statement = statement.order_by(Appeal.id)
        return shared(AppealListSchema).dump({"items": [self.appeal_view(a, dump=False)
                                                        for a in self.db.scalars(statement)]})

    @rpc
    def investigate_appeal(self, appeal_id, data):
        note = load(AppealInvestigationSchema, data)["note"]
        with self.db.begin():
            appeal = self.locked_appeal(appeal_id)
            if appeal.state != "filed":
                raise Conflict(f"appeal {appeal_id} is {appeal.state}", {"state": [f"appeal is {appeal.state}"]})
            appeal.state, appeal.investigator = "investigating", self.context.actor
            self.audit(appeal.cycle_id, "appeal_investigation_started", {"note": note}, appeal.id)
            return self.appeal_view(appeal)

    @rpc
    def decide_appeal(self, appeal_id, data):
        fields = load(AppealDecisionSchema, data)
        with self.db.begin():
            appeal = self.locked_appeal(appeal_id)
            if appeal.state == "decided":
                raise Conflict(f"appeal {appeal_id} is already decided", {"state": ["appeal is decided"]})
            result = self.db.get(Result, appeal.result_id, with_for_update=True)
            before = result.score
            if fields["decision"] == cycles.UPHELD:
                self.rescore_without(result, appeal.items)
            elif fields["decision"] == cycles.ADJUSTED:
                self.set_score(result, fields["new_score"])
            if fields["decision"] != cycles.REJECTED:
                result.adjusted = True
            appeal.state, appeal.decision, appeal.decision_reason = "decided", fields["decision"], fields["reason"]
            appeal.score_before, appeal.score_after = before, result.score
            appeal.decided_by, appeal.decided_at = self.context.actor, self.now()
            self.audit(appeal.cycle_id, "appeal_decided", {
                "decision": appeal.decision, "reason": appeal.decision_reason, "score_before": before,
                "score_after": result.score, "grade_after": result.grade}, appeal.id)
            self.publish(events.APPEAL_DECIDED, appeal.id, appeal)
            return self.appeal_view(appeal)

    def locked_appeal(self, appeal_id):
        return get_or_not_found(self.db, Appeal, appeal_id, lock=True)

    def rescore_without(self, result, voided_items):
        """An upheld appeal: the appealed items leave the score, the others share their weight."""
        cycle = self.db.get(Cycle, result.cycle_id)
        rule, definitions = self.scoring_rule(cycle)
        ratings = self.ratings_by_agent(cycle.id).get(result.agent, {})
        self.keep_score(result, scoring.score(rule, definitions, result.kpis, ratings, frozenset(voided_items)))

    def set_score(self, result, new_score):
        """An adjusted appeal: the committee's score, graded by the template's bands; the breakdown stays."""
        rule, _ = self.scoring_rule(self.db.get(Cycle, result.cycle_id))
        band = scoring.grade_of(new_score, rule.bands)
        self.keep_score(result, scoring.Score(new_score, band.grade, band, result.breakdown["failed_by"],
                                              result.breakdown["items"]))

    def appeal_view(self, appeal, dump=True):
        view = {column.key: getattr(appeal, column.key) for column in Appeal.__table__.columns}
        view["overdue"] = appeal.state != "decided" and self.today() > appeal.decision_due
        return shared(AppealSchema).dump(view) if dump else view

    # -- audit --------------------------------------------------------------------------
    @rpc
    def audit_trail(self, cycle_id):
        get_or_not_found(self.db, Cycle, cycle_id)
        rows = self.db.scalars(select(AuditEntry).where(AuditEntry.cycle_id == cycle_id).order_by(AuditEntry.id))
        return shared(AuditListSchema).dump({"items": rows.all()})
