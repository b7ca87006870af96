"""Channels: everything it answers over RPC and its timers, each handed to the use case in
its feature package: ``mailboxes``, ``inbound`` (mail in). Each change happens in one transaction that also records
its events in the outbox (``events.py``)."""
from nameko.dependency_providers import Config

from channels import models
from channels.inbound import handlers as inbound
from channels.inbound import imap
from channels.inbound.calls import TicketingRpc
from channels.mailboxes import handlers as mailboxes
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
        imap.poll_mailboxes(self.uow, self.ticketing, inbound.Settings(self.config))
