import hashlib

import numpy as np
import pytest
from datasketch import MinHash

from monitoring.clusters import rules as dedupe

STORY = "某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应"


def signature(text):
    return dedupe.signatures([text])[0]


def test_reposts_with_prefixes_links_and_mentions_join_the_original():
    index = dedupe.ClusterIndex()
    first = index.add(STORY + " https://t.cn/A6x")
    assert index.add(f"转发微博 //@小王: {STORY}") == first
    assert index.add(f"RT @bob: {STORY}!!!") == first
    assert index.add(STORY.replace("至今", "到现在")) == first   # a word changed is still the same story
    assert index.sizes[first] == 4


def test_different_posts_make_different_clusters():
    index = dedupe.ClusterIndex()
    ids = {index.add(text) for text in (STORY, "今天的外卖送得很快，味道也不错", "The delivery was late again")}
    assert len(ids) == 3


def test_english_near_duplicates_cluster():
    index = dedupe.ClusterIndex()
    text = "Acme Food made my whole family sick, avoid their delivery service"
    assert index.add(text) == index.add(f"RT @news: {text} #acme") != index.add("I love the new menu at Acme")


def test_signatures_are_stable_and_round_trip_through_storage():
    sig = signature(STORY)
    assert (signature(STORY) == sig).all()
    assert (dedupe.unpack(dedupe.pack(sig)) == sig).all()
    [keys] = dedupe.band_keys(sig[None])
    assert dedupe.band_keys(dedupe.unpack(dedupe.pack(sig))[None]) == [keys]
    assert len(set(keys)) == dedupe.BANDS
    assert all(-2**63 <= key < 2**63 for key in keys)


def test_band_keys_are_salted_blake2b_of_each_band_for_every_row():
    """The keys are stored: a batch's keys must be the ones each signature had alone."""
    sigs = dedupe.signatures([STORY, "The delivery was late again", ""])
    for sig, keys in zip(sigs, dedupe.band_keys(sigs)):
        bands = sig.tobytes()
        width = len(bands) // dedupe.BANDS
        assert keys == [int.from_bytes(hashlib.blake2b(bands[band * width:(band + 1) * width], digest_size=8,
                                                       salt=band.to_bytes(2, "big")).digest(), "big", signed=True)
                        for band in range(dedupe.BANDS)]


def test_similarity_and_best_cluster():
    sig = signature(STORY)
    other = signature("今天的外卖送得很快，味道也不错")
    assert dedupe.similarity(sig, sig) == 1.0
    assert dedupe.similarity(sig, other) < 0.2
    assert dedupe.best_cluster(sig, {7: other, 9: sig}) == 9
    assert dedupe.best_cluster(sig, {7: other}) is None
    assert dedupe.best_cluster(sig, {}) is None


def shingles(text):
    """The shingles MinHash is fed, the plain way: the core's UTF-8 3-grams, the whole core if shorter."""
    core = dedupe.core(text)
    if len(core) <= dedupe.SHINGLE:
        return {core.encode()} if core else set()
    return {core[i:i + dedupe.SHINGLE].encode() for i in range(len(core) - dedupe.SHINGLE + 1)}


def test_the_core_drops_links_mentions_hashtags_repost_markers_and_punctuation():
    assert dedupe.core("转发微博 //@小王: #某某外卖# 太差了！https://t.cn/A6x") == "太差了"
    assert dedupe.core("RT @bob: Cold FOOD, again... www.acme.com") == "coldfoodagain"
    assert dedupe.core("!!! https://x.y") == ""


TEXTS = [STORY, f"转发微博 //@小王: {STORY}", "The delivery was late again", "好", "ab", "abc", "", "!!! https://x.y",
         "😀 emoji 😀 outside the BMP", "ﬁ ligature and ｆｕｌｌ width", "a", STORY]


@pytest.mark.parametrize("cache_capacity", [10_000, 5])  # 5: the cache empties itself mid-batch
def test_batch_signatures_are_datasketch_minhashes(monkeypatch, cache_capacity):
    """Signatures stored yesterday must compare with today's: each is exactly datasketch's MinHash of
    the text's distinct shingles (b"" when it has none), whatever else is in the batch or the cache."""
    monkeypatch.setattr(dedupe, "shingle_hashes", dedupe.ShingleHashes(cache_capacity))
    for batch in (TEXTS, TEXTS[::-1], TEXTS[3:5]):
        for text, sig in zip(batch, dedupe.signatures(batch)):
            minhash = MinHash(num_perm=dedupe.NUM_PERM, seed=dedupe.SEED, scheme=dedupe.SCHEME)
            minhash.update_batch(list(shingles(text)) or [b""])
            assert sig.dtype == np.uint64
            assert (sig == minhash.hashvalues.astype(np.uint64)).all(), text


def test_a_cache_that_fills_up_mid_batch_still_gives_every_shingle_its_own_hash(monkeypatch):
    """Part of the batch known, the rest overflowing the cache: it starts again from the whole batch."""
    codes, _ = dedupe.shingle_codes([dedupe.core(STORY)])
    monkeypatch.setattr(dedupe, "shingle_hashes", dedupe.ShingleHashes(capacity=len(np.unique(codes)) + 1))
    dedupe.signatures([STORY])
    batch = ["The delivery was late again", STORY, "好"]
    filled = dedupe.signatures(batch)
    monkeypatch.setattr(dedupe, "shingle_hashes", dedupe.ShingleHashes())
    assert (filled == dedupe.signatures(batch)).all()


def test_shingle_codes_stand_for_the_shingles():
    codes, starts = dedupe.shingle_codes(["abcd", "", "好", "xy"])
    assert [dedupe.shingle_bytes(code) for code in codes.tolist()] == [b"abc", b"bcd", b"", "好".encode(), b"xy"]
    assert starts.tolist() == [0, 2, 3, 4]


def test_a_seeded_index_joins_known_clusters_and_numbers_new_ones_after_them():
    sig = signature(STORY)
    index = dedupe.ClusterIndex(bands={key: 7 for key in dedupe.band_keys(sig[None])[0]}, signatures={7: sig},
                                first_new_id=8)
    assert index.add(f"转发微博 //@小王: {STORY}") == 7
    assert index.add("The delivery was late again") == 8
    assert index.add("I love the new menu at Acme") == 9
