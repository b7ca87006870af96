"""The monitoring API's shapes: validated at the gateway and again by the
service, and the source of the OpenAPI document."""
from marshmallow import Schema, fields, validate

from plumbing.paging import PageQuerySchema, StrictSchema, page_schema
from monitoring.posts import AUTHOR_KINDS, PLATFORMS


def count():
    return fields.Integer(strict=True, load_default=0, validate=validate.Range(min=0))


class AuthorSchema(StrictSchema):
    id = fields.String(required=True, validate=validate.Length(1, 200),
                       metadata={"description": "the author's id on the platform"})
    name = fields.String(required=True, validate=validate.Length(1, 200))
    followers = count()
    verified = fields.Boolean(load_default=False)
    kind = fields.String(load_default="person", validate=validate.OneOf(AUTHOR_KINDS),
                         metadata={"description": "person, media outlet or kol (key opinion leader)"})


class PostCreateSchema(StrictSchema):
    platform = fields.String(required=True, validate=validate.OneOf(PLATFORMS))
    external_id = fields.String(required=True, validate=validate.Length(1, 200),
                                metadata={"description": "the post's id on the platform; with platform, its identity"})
    url = fields.Url(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    author = fields.Nested(AuthorSchema, required=True)
    text = fields.String(required=True, validate=validate.Length(1, 10000))
    language = fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"),
                             metadata={"description": "BCP 47 tag, e.g. zh, en, zh-Hans"})
    posted_at = fields.AwareDateTime(required=True)
    reposts = count()
    comments = count()
    likes = count()
    parent_external_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 200),
                                       metadata={"description": "post this one reposts or comments on"})


class PostSchema(Schema):
    id = fields.Integer()
    platform = fields.String(validate=validate.OneOf(PLATFORMS))
    external_id = fields.String()
    url = fields.String(allow_none=True)
    author = fields.Method("dump_author")
    text = fields.String()
    language = fields.String(allow_none=True)
    posted_at = fields.DateTime()
    reposts = fields.Integer()
    comments = fields.Integer()
    likes = fields.Integer()
    parent_external_id = fields.String(allow_none=True)
    received_at = fields.DateTime()
    updated_at = fields.DateTime()

    def dump_author(self, post):
        return {"id": post.author_id, "name": post.author_name, "followers": post.author_followers,
                "verified": post.author_verified, "kind": post.author_kind}


class PostIngestResultSchema(Schema):
    post = fields.Nested(PostSchema)
    created = fields.Boolean(metadata={"description": "false when the post was seen before"})


class PostListQuerySchema(PageQuerySchema):
    platform = fields.String(validate=validate.OneOf(PLATFORMS))


PostPageSchema = page_schema(PostSchema, "PostPageSchema")
