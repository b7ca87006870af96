"""Channels: everything it answers over RPC and its timers, each handed to the use case in
its feature package: ``mailboxes``. Each change happens in one transaction that also records
its events in the outbox (``events.py``)."""
from plumbing.rpc import rpc
from plumbing.service import PlatformService
from plumbing.unit_of_work import UnitOfWork

from channels import models
from channels.mailboxes import handlers as mailboxes


class ChannelsService(PlatformService):
    name = "channels"

    uow = UnitOfWork(models.outbox, models.inbox)

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
