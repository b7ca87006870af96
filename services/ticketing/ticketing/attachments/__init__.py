"""Attachments: files on messages and on tickets as opened, by reference to the blob store."""
