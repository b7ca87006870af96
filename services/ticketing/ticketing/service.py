"""Ticketing: everything it answers (RPC, events it consumes, timers), each
handed to its feature's handlers. Each call gets a unit of work (``uow``): its
session and transaction, caller, clock, outbox and inbox."""
from nameko.dependency_providers import Config

from plumbing.consumer import event_handler
from plumbing.metrics import DatabaseGauges
from plumbing.rpc import rpc
from plumbing.service import PlatformService, StartupCheck
from plumbing.timing import timer
from plumbing.unit_of_work import UnitOfWork
from ticketing import metrics, models
from ticketing.aftercare import handlers as aftercare
from ticketing.collaboration import handlers as collaboration
from ticketing.customers import handlers as customers
from ticketing.edits import handlers as edits
from ticketing.knowledge import handlers as knowledge
from ticketing.macros import handlers as macros
from ticketing.opinion_alerts import handlers as opinion_alerts
from ticketing.routing import handlers as routing
from ticketing.sla import handlers as sla
from ticketing.tickets import handlers as tickets
from ticketing.views import handlers as views
from ticketing.webhooks import handlers as webhooks


class TicketingService(PlatformService):
    name = "ticketing"

    uow = UnitOfWork(models.outbox, models.inbox)
    config = Config()
    open_tickets = DatabaseGauges(metrics.OpenTickets)
    nobody_cleared = StartupCheck(routing.warn_if_nobody_cleared)  # one line on a new install (R4)

    # -- tickets (T1, T2, T9, X6) --------------------------------------------------------
    @rpc
    def create_ticket(self, data):
        return tickets.create_ticket(self.uow, data, self.config)

    @rpc
    def create_tickets(self, requests):
        return tickets.create_tickets(self.uow, requests, self.config)

    @rpc
    def merge_ticket(self, ticket_id, data):
        return tickets.merge_ticket(self.uow, ticket_id, data)

    @rpc
    def import_tickets(self, data):
        return tickets.import_tickets(self.uow, data, self.config)

    @rpc
    def get_ticket(self, ticket_id):
        return tickets.get_ticket(self.uow, ticket_id)

    @rpc
    def ticket_summary(self, ticket_id):
        return tickets.ticket_summary(self.uow, ticket_id)

    @rpc
    def list_tickets(self, query=None):
        return tickets.list_tickets(self.uow, query)

    @rpc
    def change_state(self, ticket_id, data):
        return tickets.change_state(self.uow, ticket_id, data)

    @rpc
    def assign(self, ticket_id, data):
        return tickets.assign(self.uow, ticket_id, data, self.config)

    @rpc
    def escalate_ticket(self, ticket_id, data):
        return tickets.escalate_ticket(self.uow, ticket_id, data)

    @rpc
    def add_message(self, ticket_id, data):
        return tickets.add_message(self.uow, ticket_id, data, self.config)

    @rpc
    def list_messages(self, ticket_id, query=None):
        return tickets.list_messages(self.uow, ticket_id, query)

    @rpc
    def get_attachment(self, ticket_id, attachment_id):
        return tickets.get_attachment(self.uow, ticket_id, attachment_id)

    @rpc
    def ticket_history(self, ticket_id):
        return tickets.ticket_history(self.uow, ticket_id)

    @rpc
    def customer_data_access(self, query=None):
        return tickets.customer_data_access(self.uow, query)

    # -- the agent workspace: edits, bulk edits, canned responses, macros (docs/workspace.md) --
    @rpc
    def edit_ticket(self, ticket_id, data, if_match=None):
        return edits.edit_ticket(self.uow, ticket_id, data, if_match, self.config)

    @rpc
    def bulk_edit(self, data):
        return edits.bulk_edit(self.uow, data, self.config)

    @rpc
    def create_canned_response(self, data):
        return macros.create_canned_response(self.uow, data)

    @rpc
    def list_canned_responses(self, query=None):
        return macros.list_canned_responses(self.uow, query)

    @rpc
    def get_canned_response(self, canned_id):
        return macros.get_canned_response(self.uow, canned_id)

    @rpc
    def update_canned_response(self, canned_id, data):
        return macros.update_canned_response(self.uow, canned_id, data)

    @rpc
    def delete_canned_response(self, canned_id):
        return macros.delete_canned_response(self.uow, canned_id)

    @rpc
    def render_canned_response(self, canned_id, data):
        return macros.render_canned_response(self.uow, canned_id, data, self.config)

    @rpc
    def create_macro(self, data):
        return macros.create_macro(self.uow, data)

    @rpc
    def list_macros(self, query=None):
        return macros.list_macros(self.uow, query)

    @rpc
    def get_macro(self, macro_id):
        return macros.get_macro(self.uow, macro_id)

    @rpc
    def update_macro(self, macro_id, data):
        return macros.update_macro(self.uow, macro_id, data)

    @rpc
    def delete_macro(self, macro_id):
        return macros.delete_macro(self.uow, macro_id)

    @rpc
    def apply_macro(self, ticket_id, data, if_match=None):
        return macros.apply_macro(self.uow, ticket_id, data, if_match, self.config)

    # -- customers and organisations, erasure and retention (X6, docs/customers.md) -------------
    @rpc
    def create_customer(self, data):
        return customers.create_customer(self.uow, data, self.config)

    @rpc
    def get_customer(self, customer_id):
        return customers.get_customer(self.uow, customer_id)

    @rpc
    def update_customer(self, customer_id, data):
        return customers.update_customer(self.uow, customer_id, data, self.config)

    @rpc
    def list_customers(self, query=None):
        return customers.list_customers(self.uow, query, self.config)

    @rpc
    def customer_tickets(self, customer_id, query=None):
        return customers.customer_tickets(self.uow, customer_id, query)

    @rpc
    def merge_customer(self, customer_id, data):
        return customers.merge_customer(self.uow, customer_id, data)

    @rpc
    def erase_customer(self, customer_id, data):
        return customers.erase_customer(self.uow, customer_id, data, self.config)

    @rpc
    def list_erasures(self, query=None):
        return customers.list_erasures(self.uow, query)

    @timer("TICKETING_RETENTION_SECONDS", customers.RETENTION_SECONDS)
    def sweep_retention(self):
        return customers.sweep_retention(self.uow, self.config)

    @rpc
    def create_organisation(self, data):
        return customers.create_organisation(self.uow, data)

    @rpc
    def list_organisations(self, query=None):
        return customers.list_organisations(self.uow, query)

    @rpc
    def get_organisation(self, organisation_id):
        return customers.get_organisation(self.uow, organisation_id)

    @rpc
    def update_organisation(self, organisation_id, data):
        return customers.update_organisation(self.uow, organisation_id, data)

    @rpc
    def delete_organisation(self, organisation_id):
        return customers.delete_organisation(self.uow, organisation_id)

    # -- SLA (T4) ------------------------------------------------------------------------
    @rpc
    def create_sla_policy(self, data):
        return sla.create_sla_policy(self.uow, data)

    @rpc
    def list_sla_policies(self):
        return sla.list_sla_policies(self.uow)

    @rpc
    def get_sla_policy(self, policy_id):
        return sla.get_sla_policy(self.uow, policy_id)

    @rpc
    def update_sla_policy(self, policy_id, data):
        return sla.update_sla_policy(self.uow, policy_id, data)

    @rpc
    def delete_sla_policy(self, policy_id):
        return sla.delete_sla_policy(self.uow, policy_id)

    @rpc
    def list_sla_policy_versions(self, policy_id):
        return sla.list_sla_policy_versions(self.uow, policy_id)

    @rpc
    def get_sla_policy_version(self, policy_id, version):
        return sla.get_sla_policy_version(self.uow, policy_id, version)

    @rpc
    def preview_sla(self, data):
        return sla.preview_sla(self.uow, data)

    @timer("TICKETING_SLA_SWEEP_SECONDS", sla.SWEEP_SECONDS)
    def sweep_sla(self):
        return sla.sweep_sla(self.uow)

    # -- routing and the agents registry (T3, R4) ----------------------------------------
    @rpc
    def list_agents(self):
        return routing.list_agents(self.uow)

    @timer("TICKETING_ROUTE_SECONDS", routing.ROUTE_SECONDS)
    def route_waiting(self):
        return routing.route_waiting(self.uow, self.config)

    @event_handler("gateway", "staff.account_created")
    def on_staff_created(self, event):
        routing.learn_staff(self.uow, event)

    @event_handler("gateway", "staff.account_updated")
    def on_staff_updated(self, event):
        routing.learn_staff(self.uow, event)

    @event_handler("training", "training.certified")
    def on_certified(self, event):
        routing.learn_certification(self.uow, event)

    @event_handler("training", "training.certification_revoked")
    def on_certification_revoked(self, event):
        routing.end_certification(self.uow, event)

    @event_handler("training", "training.certification_expired")
    def on_certification_expired(self, event):
        routing.end_certification(self.uow, event)

    # -- after-care: complaints, ratings, callbacks, suggestions (T5, T6, T7) -------------
    @rpc
    def record_complaint(self, ticket_id, data):
        return aftercare.record_complaint(self.uow, ticket_id, data)

    @rpc
    def coordinate_complaint(self, ticket_id, data):
        return aftercare.coordinate_complaint(self.uow, ticket_id, data)

    @rpc
    def report_complaint_result(self, ticket_id, data):
        return aftercare.report_complaint_result(self.uow, ticket_id, data, self.config)

    @rpc
    def complaint_verdict(self, ticket_id, data):
        return aftercare.complaint_verdict(self.uow, ticket_id, data)

    @rpc
    def get_complaint(self, ticket_id):
        return aftercare.get_complaint(self.uow, ticket_id)

    @rpc
    def issue_rating_link(self, ticket_id):
        return aftercare.issue_rating_link(self.uow, ticket_id)

    @rpc
    def submit_rating(self, token, data):
        return aftercare.submit_rating(self.uow, token, data)

    @rpc
    def rating_link_state(self, token):
        return aftercare.rating_link_state(self.uow, token)

    @rpc
    def schedule_callback(self, ticket_id, data):
        return aftercare.schedule_callback(self.uow, ticket_id, data)

    @rpc
    def record_callback_outcome(self, callback_id, data):
        return aftercare.record_callback_outcome(self.uow, callback_id, data)

    @rpc
    def list_callbacks(self, query=None):
        return aftercare.list_callbacks(self.uow, query)

    @rpc
    def forward_suggestion(self, ticket_id, data):
        return aftercare.forward_suggestion(self.uow, ticket_id, data)

    @rpc
    def decide_suggestion(self, ticket_id, data):
        return aftercare.decide_suggestion(self.uow, ticket_id, data, self.config)

    # -- knowledge base (T8) -------------------------------------------------------------
    @rpc
    def create_article(self, data):
        return knowledge.create_article(self.uow, data)

    @rpc
    def update_article(self, article_id, data):
        return knowledge.update_article(self.uow, article_id, data)

    @rpc
    def get_article(self, article_id):
        return knowledge.get_article(self.uow, article_id)

    @rpc
    def search_articles(self, query):
        return knowledge.search_articles(self.uow, query)

    @rpc
    def knowledge_gaps(self, query=None):
        return knowledge.knowledge_gaps(self.uow, query)

    # -- webhooks (X2) -------------------------------------------------------------------
    @rpc
    def create_webhook(self, data):
        return webhooks.create_webhook(self.uow, data, self.config)

    @rpc
    def list_webhooks(self):
        return webhooks.list_webhooks(self.uow)

    @rpc
    def deactivate_webhook(self, webhook_id):
        return webhooks.deactivate_webhook(self.uow, webhook_id)

    @rpc
    def list_deliveries(self, webhook_id, query=None):
        return webhooks.list_deliveries(self.uow, webhook_id, query)

    @timer("TICKETING_WEBHOOK_DELIVER_SECONDS", webhooks.DELIVER_SECONDS)
    def deliver_webhooks(self):
        return webhooks.deliver_webhooks(self.uow, self.config)

    # -- public-opinion alerts (M6) ------------------------------------------------------
    @event_handler("monitoring", "opinion.alert_raised")
    def on_opinion_alert_raised(self, event):
        opinion_alerts.ticket_for_alert(self.uow, event, self.config)

    @event_handler("monitoring", "opinion.alert_updated")
    def on_opinion_alert_updated(self, event):
        opinion_alerts.ticket_for_alert(self.uow, event, self.config)

    # -- the agent workspace: views, presence, followers, links (docs/workspace.md) ---------
    @rpc
    def list_views(self):
        return views.list_views(self.uow)

    @rpc
    def create_view(self, data):
        return views.create_view(self.uow, data)

    @rpc
    def get_view(self, view_id):
        return views.get_view(self.uow, view_id)

    @rpc
    def update_view(self, view_id, data):
        return views.update_view(self.uow, view_id, data)

    @rpc
    def delete_view(self, view_id):
        return views.delete_view(self.uow, view_id)

    @rpc
    def view_tickets(self, view_id, query=None):
        return views.view_tickets(self.uow, view_id, query)

    @rpc
    def presence_heartbeat(self, ticket_id, data):
        return collaboration.heartbeat(self.uow, ticket_id, data)

    @rpc
    def presence(self, ticket_id):
        return collaboration.presence(self.uow, ticket_id)

    @timer("TICKETING_PRESENCE_PRUNE_SECONDS", collaboration.PRUNE_SECONDS)
    def prune_presence(self):
        return collaboration.prune_presence(self.uow)

    @rpc
    def follow_ticket(self, ticket_id, data):
        return collaboration.follow(self.uow, ticket_id, data)

    @rpc
    def unfollow_ticket(self, ticket_id, query=None):
        return collaboration.unfollow(self.uow, ticket_id, query)

    @rpc
    def list_followers(self, ticket_id):
        return collaboration.list_followers(self.uow, ticket_id)

    @rpc
    def notified_followers(self, ticket_id):
        return collaboration.notified_followers(self.uow, ticket_id)

    @rpc
    def link_ticket(self, ticket_id, data):
        return collaboration.link(self.uow, ticket_id, data)

    @rpc
    def unlink_ticket(self, ticket_id, other_id):
        return collaboration.unlink(self.uow, ticket_id, other_id)

    @rpc
    def list_links(self, ticket_id):
        return collaboration.list_links(self.uow, ticket_id)
