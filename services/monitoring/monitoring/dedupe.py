"""Near-duplicate reposts: MinHash over character shingles, banded as in LSH (M1).

SimHash needs long texts; posts are short, and a repost is the same text
with a prefix ("转发微博", "RT @x:"), a link or a few words changed. MinHash
estimates the Jaccard similarity of two posts' sets of character 3-grams
and works on such texts in any script. Its signature is cut into bands;
two posts that agree on every row of any one band are candidates (with 16
bands of 4 rows, posts more than about 50% similar almost always are), and
a candidate joins the cluster whose signature it resembles most, if the
estimate is above ``threshold``.

The band keys are stable 64-bit integers so the index can live in the
service's database, shared by its replicas and kept across restarts.

Signatures are datasketch's (SHA-1 of each shingle, its "affine32"
permutations, seed 1), computed for a whole batch at once with numpy: the
same values as ``MinHash.update_batch`` gives, several times faster than a
``MinHash`` object per post, so signatures stored before stay comparable.
"""
import hashlib
import re

import numpy as np
from datasketch import MinHash

from monitoring.rules import normalise

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 3
DEFAULT_THRESHOLD = 0.5
SEED = 1  # seed and scheme fixed: signatures stored yesterday must compare with today's
SCHEME = "affine32"
NOISE = re.compile(r"https?://\S+|www\.\S+|[@#][\w\u4e00-\u9fff-]+:?|//|转发微博|\brt\b|[^\w]+")
MULTIPLIERS, OFFSETS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
BAND_HASHES = [hashlib.blake2b(digest_size=8, salt=band.to_bytes(2, "big")) for band in range(BANDS)]
MURMUR3_FINALIZER = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))


def shingles(text: str) -> set[bytes]:
    """Character 3-grams of the text without links, mentions, repost markers and punctuation."""
    core = NOISE.sub("", normalise(text))
    if len(core) <= SHINGLE:
        return {core.encode()} if core else set()
    return {core[i:i + SHINGLE].encode() for i in range(len(core) - SHINGLE + 1)}


def signatures(texts) -> np.ndarray:
    """One signature per text (rows in order), as ``MinHash.update_batch``
    of the text's shingles would give it. Each distinct shingle of the batch
    is hashed and permuted once: reposts share most of theirs."""
    shingle_sets = [shingles(text) or {b""} for text in texts]
    index = {}
    positions = np.fromiter((index.setdefault(shingle, len(index)) for shingle_set in shingle_sets
                             for shingle in shingle_set), dtype=np.intp)
    hashes = np.frombuffer(b"".join(hashlib.sha1(shingle).digest()[:4] for shingle in index),
                           dtype="<u4").astype(np.uint32)
    shift1, multiplier1, shift2, multiplier2, shift3 = MURMUR3_FINALIZER
    hashes = (hashes ^ (hashes >> shift1)) * multiplier1
    hashes = (hashes ^ (hashes >> shift2)) * multiplier2
    hashes ^= hashes >> shift3
    permuted = hashes[:, None] * MULTIPLIERS + OFFSETS  # uint32 arithmetic: wrapping is the modulo 2^32
    starts = np.cumsum([0] + [len(shingle_set) for shingle_set in shingle_sets[:-1]])
    return np.minimum.reduceat(permuted[positions], starts, axis=0).astype(np.uint64)  # the stored form


def signature(text: str) -> np.ndarray:
    return signatures([text])[0]


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (fits a database BIGINT)."""
    data = sig.tobytes()
    width = len(data) // BANDS
    keys = []
    for band, salted in enumerate(BAND_HASHES):
        digest = salted.copy()
        digest.update(data[band * width:(band + 1) * width])
        keys.append(int.from_bytes(digest.digest(), "big", signed=True))
    return keys


def similarity(first: np.ndarray, second: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(first == second)) / NUM_PERM


def pack(sig: np.ndarray) -> bytes:
    return sig.tobytes()


def unpack(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype=np.uint64)


def best_cluster(sig, candidates, threshold=DEFAULT_THRESHOLD):
    """The id among ``candidates`` ({cluster id: signature}) most similar to
    ``sig`` at or above ``threshold``, or None."""
    scored = [(similarity(sig, other), cluster_id) for cluster_id, other in candidates.items()]
    best = max(scored, default=(0.0, None), key=lambda pair: (pair[0], -pair[1]))
    return best[1] if best[0] >= threshold else None


class ClusterIndex:
    """The index in memory: band key -> cluster id, and each cluster's first
    signature. The service seeds one per batch with the rows of its
    ``cluster_bands`` and ``clusters`` tables that the batch's band keys
    hit, numbering the clusters it starts from ``first_new_id`` on."""

    def __init__(self, threshold=DEFAULT_THRESHOLD, bands=(), signatures=(), first_new_id=1):
        self.threshold = threshold
        self.bands = dict(bands)            # band key -> cluster id
        self.signatures = dict(signatures)  # cluster id -> its first post's signature
        self.sizes = {}                     # cluster id -> posts added here
        self.next_id = first_new_id

    def add(self, text: str) -> int:
        """The cluster id ``text`` joins (a new one if it resembles none)."""
        sig = signature(text)
        return self.join(sig, band_keys(sig))

    def join(self, sig: np.ndarray, keys: list[int]) -> int:
        candidates = {self.bands[key] for key in keys if key in self.bands}
        cluster_id = best_cluster(sig, {c: self.signatures[c] for c in candidates}, self.threshold)
        if cluster_id is None:
            cluster_id, self.next_id = self.next_id, self.next_id + 1
            self.signatures[cluster_id] = sig
        for key in keys:
            self.bands.setdefault(key, cluster_id)
        self.sizes[cluster_id] = self.sizes.get(cluster_id, 0) + 1
        return cluster_id
