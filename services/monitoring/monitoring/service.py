"""Monitoring: what it answers over RPC (M1-M7). Each entrypoint hands the call to a feature's
handlers: ``ingest`` (the pipeline, and posts read back), ``sentiment``, ``watch_rules``,
``alerts``, ``reports``; the pipeline uses ``clusters`` and ``spikes`` too."""
from nameko.dependency_providers import Config

from monitoring import metrics, models
from monitoring.alerts import handlers as alerts
from monitoring.ingest import handlers as ingest
from monitoring.reports import handlers as reports
from monitoring.sentiment import handlers as sentiment
from monitoring.watch_rules import handlers as watch_rules
from plumbing.consumer import event_handler
from plumbing.metrics import DatabaseGauges
from plumbing.rpc import rpc
from plumbing.service import PlatformService
from plumbing.unit_of_work import UnitOfWork


class MonitoringService(PlatformService):
    name = "monitoring"

    uow = UnitOfWork(models.outbox, models.inbox)
    config = Config()
    model = sentiment.SentimentAnalyser()
    segmenter = reports.TermSegmenter()  # the trend report's Chinese words
    open_alerts = DatabaseGauges(metrics.OpenAlerts)

    # -- posts ---------------------------------------------------------------
    @rpc
    def ingest_post(self, data):
        return ingest.ingest_post(self.uow, self.model, self.config, data)

    @rpc
    def ingest_posts(self, data):
        return ingest.ingest_posts(self.uow, self.model, self.config, data)

    @rpc
    def get_post(self, post_id):
        return ingest.get_post(self.uow, post_id)

    @rpc
    def list_posts(self, query=None):
        return ingest.list_posts(self.uow, query)

    @rpc
    def correct_sentiment(self, post_id, data):
        return sentiment.correct_sentiment(self.uow, post_id, data)

    @rpc
    def analyse(self, data):
        return sentiment.analyse(self.uow, self.model, data)

    @rpc
    def review_queue(self, query=None):
        return sentiment.review_queue(self.uow, query)

    @rpc
    def list_sentiment_models(self):
        return sentiment.list_models(self.uow)

    @rpc
    def roll_back_sentiment_model(self):
        return sentiment.roll_back_model(self.uow)

    # -- watch rules --------------------------------------------------------
    @rpc
    def create_rule(self, data):
        return watch_rules.create_rule(self.uow, data)

    @rpc
    def update_rule(self, rule_id, data):
        return watch_rules.update_rule(self.uow, rule_id, data)

    @rpc
    def delete_rule(self, rule_id):
        return watch_rules.delete_rule(self.uow, rule_id)

    @rpc
    def list_rules(self):
        return watch_rules.list_rules(self.uow)

    # -- alerts ---------------------------------------------------------------
    @rpc
    def list_alerts(self, query=None):
        return alerts.list_alerts(self.uow, query)

    @rpc
    def get_alert(self, alert_id):
        return alerts.get_alert(self.uow, alert_id)

    @rpc
    def change_alert_state(self, alert_id, data):
        return alerts.change_alert_state(self.uow, alert_id, data)

    @rpc
    def add_alert_action(self, alert_id, data):
        return alerts.add_alert_action(self.uow, alert_id, data)

    @rpc
    def add_alert_note(self, alert_id, data):
        return alerts.add_alert_note(self.uow, alert_id, data)

    # a ticket opened for an alert was resolved or closed: a note on the alert (README, "Opinion alerts")
    @event_handler("ticketing", "ticket.resolved", versions=(1, 2))
    def on_ticket_resolved(self, event):
        alerts.ticket_settled(self.uow, event)

    @event_handler("ticketing", "ticket.closed")
    def on_ticket_closed(self, event):
        alerts.ticket_settled(self.uow, event)

    # -- reports (M7) ---------------------------------------------------------
    @rpc
    def report(self, query):
        return reports.report(self.uow, query)

    @rpc
    def report_file(self, query, file_format):
        return reports.report_file(self.uow, query, file_format)
