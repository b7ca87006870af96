"""Monitoring: what it answers over RPC. Rules live in ``posts.py``."""
from datetime import datetime, timezone

from nameko.rpc import rpc
from sqlalchemy import select

from monitoring import models, posts
from monitoring.schemas import (
    PostCreateSchema, PostIngestResultSchema, PostListQuerySchema, PostPageSchema, PostSchema,
)
from plumbing.db import get_or_not_found, upsert_insert
from plumbing.errors import load_or_invalid as load
from plumbing.outbox import Outbox
from plumbing.paging import fetch_page, shared
from plumbing.service import PlatformService


class MonitoringService(PlatformService):
    name = "monitoring"

    events = Outbox(models.outbox)

    @rpc
    def ingest_post(self, data):
        fields = load(PostCreateSchema, data)
        now = datetime.now(timezone.utc)
        author = {f"author_{name}": value for name, value in fields.pop("author").items()}
        insert = upsert_insert(self.db)
        Post = models.Post
        with self.db.begin():
            # ON CONFLICT rather than select-then-insert: a concurrent ingest of
            # the same post waits here instead of failing on the unique key.
            created = self.db.execute(
                insert(Post.__table__).values(**fields, **author, received_at=now, updated_at=now)
                .on_conflict_do_nothing(index_elements=["platform", "external_id"])
            ).rowcount == 1
            post = self.db.scalars(
                select(Post).where(Post.platform == fields["platform"], Post.external_id == fields["external_id"])
                .with_for_update()
            ).one()
            stored = {name: getattr(post, name) for name in posts.COUNTS}
            merged = posts.merge_counts(stored, fields)
            if merged != stored:
                for name, value in merged.items():
                    setattr(post, name, value)
                post.updated_at = now
        return shared(PostIngestResultSchema).dump({"post": post, "created": created})

    @rpc
    def get_post(self, post_id):
        return shared(PostSchema).dump(get_or_not_found(self.db, models.Post, post_id))

    @rpc
    def list_posts(self, query=None):
        criteria = load(PostListQuerySchema, query or {})
        order = [models.Post.posted_at.desc(), models.Post.id.desc()]
        return shared(PostPageSchema).dump(fetch_page(self.db, models.Post, criteria, order))
