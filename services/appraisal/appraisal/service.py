"""Appraisal: what it answers. It keeps the facts of ticketing's, training's and
the gateway's staff events (``facts``), measures KPIs from them (``kpis``), holds KPI definitions,
templates and ratings (``reviews``) and runs cycles with their results,
appeals and audit trail (``cycles``), where the outcomes training could not apply are shown
(``training.retraining_refused``). Each entrypoint hands its call to a handler."""
from nameko.dependency_providers import Config

from appraisal import metrics, models
from appraisal.cycles import handlers as cycles
from appraisal.facts import handlers as facts
from appraisal.kpis import handlers as kpis
from appraisal.reviews import handlers as reviews
from plumbing.consumer import batch_event_handler
from plumbing.metrics import DatabaseGauges
from plumbing.rpc import rpc
from plumbing.service import PlatformService
from plumbing.unit_of_work import UnitOfWork


class AppraisalService(PlatformService):
    name = "appraisal"

    uow = UnitOfWork(models.outbox)  # no inbox: a fact's event id makes keeping it idempotent
    config = Config()
    review_gauges = DatabaseGauges(metrics.ReviewGauges)

    # -- facts from events: stored as they came, each ticket's record rebuilt ---------
    @batch_event_handler("ticketing", "ticket.created")
    def on_ticket_created(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config), facts.TicketCreatedDataSchema)

    @batch_event_handler("ticketing", "ticket.assigned")
    def on_ticket_assigned(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config))

    @batch_event_handler("ticketing", "ticket.transferred")
    def on_ticket_transferred(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config))

    @batch_event_handler("ticketing", "ticket.resolved", versions=(1, 2))  # 2 dropped the rating token only
    def on_ticket_resolved(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config))

    @batch_event_handler("ticketing", "ticket.reopened")
    def on_ticket_reopened(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config))

    @batch_event_handler("ticketing", "ticket.rated")
    def on_ticket_rated(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config), facts.TicketRatedDataSchema)

    @batch_event_handler("ticketing", "sla.clock_stopped")
    def on_sla_clock_stopped(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config), facts.SlaClockStoppedDataSchema)

    @batch_event_handler("ticketing", "sla.breached")
    def on_sla_breached(self, batch):
        facts.take_ticket_facts(self.uow, batch, facts.recontact_window(self.config), facts.SlaBreachedDataSchema)

    @batch_event_handler("training", "training.exam_passed")
    def on_exam_passed(self, batch):
        facts.take_exam_facts(self.uow, batch)

    @batch_event_handler("training", "training.exam_failed")
    def on_exam_failed(self, batch):
        facts.take_exam_facts(self.uow, batch)

    @batch_event_handler("gateway", "staff.account_created")
    def on_staff_created(self, batch):
        facts.take_staff_facts(self.uow, batch)

    @batch_event_handler("gateway", "staff.account_updated")
    def on_staff_updated(self, batch):
        facts.take_staff_facts(self.uow, batch)

    @batch_event_handler("training", "training.retraining_refused")
    def on_retraining_refused(self, batch):
        cycles.take_refused_outcomes(self.uow, batch)

    @rpc
    def replay(self):
        return facts.replay(self.uow, facts.recontact_window(self.config))

    # -- KPIs -------------------------------------------------------------------------
    @rpc
    def kpis(self, query):
        return kpis.get_kpis(self.uow, query)

    @rpc
    def ticket_counts(self, query=None, agents=None):
        return kpis.count_tickets(self.uow, query, agents)

    # -- KPI definitions, templates, ratings --------------------------------------------
    @rpc
    def create_kpi_definition(self, data):
        return reviews.create_kpi_definition(self.uow, data)

    @rpc
    def list_kpi_definitions(self):
        return reviews.list_kpi_definitions(self.uow)

    @rpc
    def update_kpi_definition(self, key, data):
        return reviews.update_kpi_definition(self.uow, key, data)

    @rpc
    def delete_kpi_definition(self, key):
        return reviews.delete_kpi_definition(self.uow, key)

    @rpc
    def update_template(self, template_id, data, missing_courses):
        return reviews.update_template(self.uow, template_id, data, missing_courses)

    @rpc
    def create_template(self, data, missing_courses):
        return reviews.create_template(self.uow, data, missing_courses)

    @rpc
    def list_templates(self):
        return reviews.list_templates(self.uow)

    @rpc
    def rate(self, data):
        return reviews.rate(self.uow, data)

    # -- cycles, results, appeals, audit --------------------------------------------------
    @rpc
    def create_cycle(self, data):
        return cycles.create_cycle(self.uow, data)

    @rpc
    def get_cycle(self, cycle_id):
        return cycles.get_cycle(self.uow, cycle_id)

    @rpc
    def list_cycles(self):
        return cycles.list_cycles(self.uow)

    @rpc
    def advance_cycle(self, cycle_id, data):
        return cycles.advance_cycle(self.uow, cycle_id, data, cycles.working_days(self.config))

    @rpc
    def list_results(self, cycle_id, query=None):
        return cycles.list_results(self.uow, cycle_id, query)

    @rpc
    def my_result(self, cycle_id):
        return cycles.my_result(self.uow, cycle_id)

    @rpc
    def file_appeal(self, cycle_id, data):
        return cycles.file_appeal(self.uow, cycle_id, data, cycles.working_days(self.config))

    @rpc
    def list_appeals(self, query=None):
        return cycles.list_appeals(self.uow, query)

    @rpc
    def investigate_appeal(self, appeal_id, data):
        return cycles.investigate_appeal(self.uow, appeal_id, data)

    @rpc
    def decide_appeal(self, appeal_id, data):
        return cycles.decide_appeal(self.uow, appeal_id, data)

    @rpc
    def audit_trail(self, cycle_id):
        return cycles.audit_trail(self.uow, cycle_id)
