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
PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations  # made once: building them costs more than hashing


def shingles(text: str) -> set[bytes]:
    """Character 3-grams of the text without links, mentions, repost markers and punctuation."""
    core = NOISE.sub("", normalise(text))
    if len(core) <= SHINGLE:
        return {core.encode()} if core else set()
    return {core[i:i + SHINGLE].encode() for i in range(len(core) - SHINGLE + 1)}


def signature(text: str) -> np.ndarray:
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, permutations=PERMUTATIONS, scheme=SCHEME)
    minhash.update_batch(list(shingles(text)) or [b""])
    return minhash.hashvalues.astype(np.uint64)  # the stored form, so keys computed before and after storing agree


def band_keys(sig: np.ndarray) -> list[int]:
    """One signed 64-bit key per band (fits a database BIGINT)."""
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(sig[band * ROWS:(band + 1) * ROWS].tobytes(), digest_size=8,
                                 salt=band.to_bytes(2, "big")).digest()
        keys.append(int.from_bytes(digest, "big", signed=True))
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
    """The in-memory form of the index, for the benchmark and the tests:
    the service keeps the same keys in its ``cluster_bands`` table."""

    def __init__(self, threshold=DEFAULT_THRESHOLD):
        self.threshold = threshold
        self.bands = {}       # band key -> cluster id
        self.signatures = {}  # cluster id -> its first post's signature
        self.sizes = {}

    def add(self, text: str) -> int:
        """The cluster id ``text`` joins (a new one if it resembles none)."""
        sig = signature(text)
        keys = band_keys(sig)
        candidates = {self.bands[key] for key in keys if key in self.bands}
        cluster_id = best_cluster(sig, {c: self.signatures[c] for c in candidates}, self.threshold)
        if cluster_id is None:
            cluster_id = len(self.signatures) + 1
            self.signatures[cluster_id] = sig
        for key in keys:
            self.bands.setdefault(key, cluster_id)
        self.sizes[cluster_id] = self.sizes.get(cluster_id, 0) + 1
        return cluster_id
