"""The clusters step of the pipeline (``ingest``): each new on-topic post joins the cluster of
near-duplicates it resembles, or starts one, against the cluster index kept in the database."""
from sqlalchemy import func, insert, select

from monitoring.clusters import rules as dedupe
from monitoring.ingest import severity
from monitoring.ingest.records import Record
from monitoring.models import Cluster, ClusterBand
from plumbing.db import insert_integer_columns, insert_rows, is_postgres, one_of, update_by_id

CLUSTER_INDEX_LOCK = 0x6D6F6E6974  # "monit": the PostgreSQL advisory lock of the cluster index
CLUSTER_CHANGES = ("id", "lead_post_id", "size", "negative", "peak_severity", "severity", "level", "updated_at")


def join_clusters(uow, config, fresh, grown, alone, now):
    """Cluster the new on-topic posts, in order, scoring each with its cluster's size as it joined
    (``alone``: {post id: severity before spread}), and score again the re-seen ones whose engagement
    grew. Returns the clusters touched ({id: (cluster, crisis terms)}) and each new post's cluster
    size when it joined."""
    signatures = dedupe.signatures([post.text for post in fresh])
    keys = dedupe.band_keys(signatures)
    if fresh:  # all that needs no other batch's clusters is done: the lock is held until commit
        lock_cluster_index(uow)
    known = dict(uow.session.execute(select(ClusterBand.band_key, ClusterBand.cluster_id).where(
        one_of(uow.session, ClusterBand.band_key, sorted({key for post_keys in keys for key in post_keys})))).all())
    table = Cluster.__table__
    wanted = sorted(set(known.values()) | {post.cluster_id for post in grown})
    clusters = {row["id"]: Record(row) for row in uow.session.execute(
        select(table).where(one_of(uow.session, table.c.id, wanted)).order_by(table.c.id).with_for_update()).mappings()}
    index = dedupe.ClusterIndex(bands=known, first_new_id=max(clusters, default=0) + 1, signatures={
        cluster_id: dedupe.unpack(cluster.signature) for cluster_id, cluster in clusters.items()})
    touched, joined, started = {}, [], {}
    for post, sig, post_keys in zip(fresh, signatures, keys):
        cluster_id = index.join(sig, post_keys)
        cluster = clusters.get(cluster_id)
        if cluster is None:
            cluster = clusters[cluster_id] = started[cluster_id] = Record(dict(
                signature=dedupe.pack(sig), lead_post_id=post.id, size=1, negative=0, peak_severity=0.0,
                severity=0.0, level=None, created_at=now, updated_at=now))
        else:
            cluster.size += 1
            cluster.updated_at = now
        if post.sentiment == "negative":
            cluster.negative += 1
        severity.score_in_cluster(config, post, alone[post.id], cluster)
        touched[cluster_id] = (cluster, touched.get(cluster_id, (None, []))[1] + post.crisis_terms)
        joined.append((post, cluster, cluster.size))
    for post in grown:
        severity.score_in_cluster(config, post, alone[post.id], clusters[post.cluster_id])
        touched.setdefault(post.cluster_id, (clusters[post.cluster_id], []))
    store_clusters(uow, started.values(), [cluster for cluster_id, (cluster, _) in touched.items()
                                           if cluster_id not in started])
    for post, cluster, _ in joined:
        post.cluster_id = cluster.id
    new_bands = {key: clusters[cluster_id].id for key, cluster_id in index.bands.items() if key not in known}
    insert_integer_columns(uow.session, ClusterBand.__table__, {  # new keys: none was known under the lock
        "band_key": list(new_bands), "cluster_id": list(new_bands.values())})
    return touched, {post.id: size for post, _, size in joined}


def store_clusters(uow, started, changed):
    """Insert the clusters this batch started (each gets its id) and write the changes of the others."""
    table = Cluster.__table__
    # a started cluster's lead is one of its own posts: a key to match the new ids with
    ids = dict(insert_rows(uow.session, insert(table), [vars(cluster) for cluster in started],
                           table.c.lead_post_id, table.c.id))
    for cluster in started:
        cluster.id = ids[cluster.lead_post_id]
    update_by_id(uow.session, table, [{name: getattr(cluster, name) for name in CLUSTER_CHANGES}
                                      for cluster in changed])


def lock_cluster_index(uow):
    """Batches cluster one at a time: two concurrent ones would each start a cluster for the same
    story. SQLite writers are serialised already; PostgreSQL takes a lock held until commit."""
    if is_postgres(uow.session):
        uow.session.execute(select(func.pg_advisory_xact_lock(CLUSTER_INDEX_LOCK)))
