from monitoring import dedupe

STORY = "某某外卖后厨卫生太差，操作台上有老鼠，顾客吃完身体不适，商家至今没有回应"


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
    sig = dedupe.signature(STORY)
    assert (dedupe.signature(STORY) == sig).all()
    assert (dedupe.unpack(dedupe.pack(sig)) == sig).all()
    assert dedupe.band_keys(sig) == dedupe.band_keys(dedupe.unpack(dedupe.pack(sig)))
    assert len(set(dedupe.band_keys(sig))) == dedupe.BANDS
    assert all(-2**63 <= key < 2**63 for key in dedupe.band_keys(sig))


def test_similarity_and_best_cluster():
    sig = dedupe.signature(STORY)
    other = dedupe.signature("今天的外卖送得很快，味道也不错")
    assert dedupe.similarity(sig, sig) == 1.0
    assert dedupe.similarity(sig, other) < 0.2
    assert dedupe.best_cluster(sig, {7: other, 9: sig}) == 9
    assert dedupe.best_cluster(sig, {7: other}) is None
    assert dedupe.best_cluster(sig, {}) is None


def test_short_and_empty_texts_have_shingles():
    assert dedupe.shingles("好") == {"好".encode()}
    assert dedupe.shingles("!!! https://x.y") == set()
    dedupe.signature("")  # no shingle at all still gives a signature


def test_batch_signatures_are_datasketch_minhashes():
    """Signatures stored before the batch hashing must compare with new ones."""
    from datasketch import MinHash

    texts = [STORY, f"转发微博 //@小王: {STORY}", "The delivery was late again", "好", ""]
    for text, sig in zip(texts, dedupe.signatures(texts)):
        minhash = MinHash(num_perm=dedupe.NUM_PERM, seed=dedupe.SEED, scheme=dedupe.SCHEME)
        minhash.update_batch(list(dedupe.shingles(text)) or [b""])
        assert sig.dtype == dedupe.np.uint64
        assert (sig == minhash.hashvalues.astype(dedupe.np.uint64)).all()


def test_a_seeded_index_joins_known_clusters_and_numbers_new_ones_after_them():
    sig = dedupe.signature(STORY)
    index = dedupe.ClusterIndex(bands={key: 7 for key in dedupe.band_keys(sig)}, signatures={7: sig},
                                first_new_id=8)
    assert index.add(f"转发微博 //@小王: {STORY}") == 7
    assert index.add("The delivery was late again") == 8
    assert index.add("I love the new menu at Acme") == 9
