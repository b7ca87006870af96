"""Channels: everything it answers over RPC, the events it consumes and its timers, each
handed to the use case in its feature package: ``mailboxes``, ``inbound`` (mail in),
``outbound`` (mail out and staff notifications). Each change happens in one transaction that
also records its events in the outbox (``events.py``)."""
import os

from nameko.dependency_providers import Config

from channels import models
from channels.erasure import handlers as erasure
from channels.inbound import handlers as inbound
from channels.inbound import imap
from channels.inbound.idle import watch_mailboxes
from channels.inbound.calls import TicketingRpc
from channels.mailboxes import handlers as mailboxes
from channels.outbound import handlers as outbound
from plumbing.consumer import event_handler
from plumbing.rpc import rpc
from plumbing.service import PlatformService
from plumbing.timing import timer
from plumbing.unit_of_work import UnitOfWork


class ChannelsService(PlatformService):
    name = "channels"

    uow = UnitOfWork(models.outbox, models.inbox)
    config = Config()
    ticketing = TicketingRpc()

    # -- mailboxes ----------------------------------------------------------------------------
    @rpc
    def create_mailbox(self, data):
        return mailboxes.create_mailbox(self.uow, data)

    @rpc
    def update_mailbox(self, mailbox_id, data):
        return mailboxes.update_mailbox(self.uow, mailbox_id, data)

    @rpc
    def get_mailbox(self, mailbox_id):
        return mailboxes.get_mailbox(self.uow, mailbox_id)

    @rpc
    def list_mailboxes(self):
        return mailboxes.list_mailboxes(self.uow)

    @rpc
    def delete_mailbox(self, mailbox_id):
        return mailboxes.delete_mailbox(self.uow, mailbox_id)

    # -- mail in ------------------------------------------------------------------------------
    @rpc
    def take_raw_mail(self, mailbox_id, data):
        return inbound.take_raw(self.uow, self.ticketing, inbound.Settings(self.config), mailbox_id, data)

    @rpc
    def list_inbound(self, query=None):
        return inbound.list_inbound(self.uow, query)

    @timer("CHANNELS_POLL_SECONDS", imap.POLL_SECONDS)
    def poll_mailboxes(self):
        imap.poll_mailboxes(self.uow, self.ticketing, inbound.Settings(self.config),
                            idle_poll_seconds=self.config.get("CHANNELS_IDLE_POLL_SECONDS") or
                            os.environ.get("CHANNELS_IDLE_POLL_SECONDS") or imap.IDLE_POLL_SECONDS)

    @watch_mailboxes  # IMAP IDLE: a folder's new mail fetched as it comes (inbound/idle.py)
    def fetch_mailbox(self, mailbox_id):
        return imap.fetch_mailbox(self.uow, self.ticketing, inbound.Settings(self.config), mailbox_id)

    # -- mail out: to the customer (T1, T5, T6, T7) ---------------------------------------------
    @event_handler("channels", "channels.mail_received")
    def on_mail_received(self, event):
        outbound.mail_received(self.uow, event, self.ticketing, self.config)

    @event_handler("channels", "channels.bounce_received")
    def on_bounce_received(self, event):
        outbound.bounce_received(self.uow, event)

    @event_handler("ticketing", "ticket.replied")
    def on_ticket_replied(self, event):
        outbound.reply(self.uow, event, self.ticketing, self.config)

    @event_handler("ticketing", "complaint.verdict_given")
    def on_complaint_verdict(self, event):
        outbound.complaint_result(self.uow, event, self.ticketing, self.config)

    @event_handler("ticketing", "suggestion.decided")
    def on_suggestion_decided(self, event):
        outbound.suggestion_decision(self.uow, event, self.ticketing, self.config)

    @event_handler("ticketing", "ticket.resolved", versions=(1, 2))  # 2 dropped the rating token only
    def on_ticket_resolved(self, event):
        outbound.survey(self.uow, event, self.ticketing, self.config)

    @timer("CHANNELS_SEND_SECONDS", outbound.SEND_SECONDS)
    def send_mail(self):
        return outbound.send_due(self.uow, self.ticketing, self.config)

    @rpc
    def list_deliveries(self, ticket_id):
        return outbound.list_deliveries(self.uow, ticket_id)

    @rpc
    def preview_template(self, query):
        return outbound.preview_template(query)

    # -- erasure: the customer's mail goes with their data (X6, docs/customers.md) -----------------
    @event_handler("ticketing", "customer.erased")
    def on_customer_erased(self, event):
        erasure.customer_erased(self.uow, event, self.config)

    # -- mail out: staff notifications (T3, T4, M6) ---------------------------------------------
    @event_handler("ticketing", "ticket.assigned")
    def on_ticket_assigned(self, event):
        outbound.assignment(self.uow, event, self.ticketing, self.config)

    @event_handler("ticketing", "ticket.transferred")
    def on_ticket_transferred(self, event):
        outbound.assignment(self.uow, event, self.ticketing, self.config)

    # -- mail out: the agent workspace's notifications (docs/workspace.md) ------------------------
    @event_handler("ticketing", "ticket.mentioned")
    def on_ticket_mentioned(self, event):
        outbound.mentioned(self.uow, event, self.ticketing, self.config)

    @event_handler("ticketing", "ticket.replied")
    def on_followed_ticket_replied(self, event):
        outbound.follower_news(self.uow, event, self.ticketing, self.config, "reply")

    @event_handler("ticketing", "ticket.status_changed")
    def on_followed_ticket_state(self, event):
        outbound.follower_news(self.uow, event, self.ticketing, self.config, "state")

    @event_handler("ticketing", "ticket.assigned")
    def on_followed_ticket_assigned(self, event):
        outbound.follower_news(self.uow, event, self.ticketing, self.config, "assignment")

    @event_handler("ticketing", "ticket.transferred")
    def on_followed_ticket_transferred(self, event):
        outbound.follower_news(self.uow, event, self.ticketing, self.config, "assignment")

    @event_handler("ticketing", "sla.warning")
    def on_sla_warning(self, event):
        outbound.sla_warning(self.uow, event, self.ticketing, self.config)

    @event_handler("ticketing", "sla.breached")
    def on_sla_breached(self, event):
        outbound.sla_breach(self.uow, event, self.ticketing, self.config)

    @event_handler("monitoring", "opinion.alert_raised")
    def on_opinion_alert_raised(self, event):
        outbound.opinion_alert(self.uow, event, self.config)

    @event_handler("monitoring", "opinion.alert_updated")
    def on_opinion_alert_updated(self, event):
        outbound.opinion_alert(self.uow, event, self.config)

    @event_handler("gateway", "staff.account_created")
    def on_staff_created(self, event):
        outbound.learn_staff(self.uow, event)

    @event_handler("gateway", "staff.account_updated")
    def on_staff_updated(self, event):
        outbound.learn_staff(self.uow, event)

    @rpc
    def notification_preferences(self):
        return outbound.get_preferences(self.uow)

    @rpc
    def set_notification_preferences(self, data):
        return outbound.set_preferences(self.uow, data)

    @rpc
    def on_call(self):
        return outbound.get_on_call(self.uow)

    @rpc
    def set_on_call(self, data):
        return outbound.set_on_call(self.uow, data)
