"""Rows while a batch is ingested, as plain attributes."""


class Record:
    """A post or cluster while a batch is ingested: its columns as plain attributes, changed in
    memory and written for the whole batch by one statement (``insert_rows``, ``update_by_id``);
    mapped objects would cost more per attribute than the pipeline's own work on them."""

    def __init__(self, columns, **more):
        self.__dict__.update(columns, **more)
