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

from monitoring.watch_rules.rules import normalise

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 3
DEFAULT_THRESHOLD = 0.5
SEED = 1  # seed and scheme fixed: signatures stored yesterday must compare with today's
SCHEME = "affine32"
MARKS = re.compile(r"https?://\S+|www\.\S+|[@#][\w\u4e00-\u9fff-]+:?|转发微博|\brt\b")  # links, mentions, tags, reposts
NOT_WORD = re.compile(r"\W+")
MULTIPLIERS, OFFSETS = MinHash(num_perm=NUM_PERM, seed=SEED, scheme=SCHEME).permutations
BAND_HASHES = [hashlib.blake2b(digest_size=8, salt=band.to_bytes(2, "big")) for band in range(BANDS)]
MURMUR3_FINALIZER = (np.uint32(16), np.uint32(0x85EBCA6B), np.uint32(13), np.uint32(0xC2B2AE35), np.uint32(16))
CODE_POINT_BITS = 21  # every code point fits
NO_CHARACTER = (1 << CODE_POINT_BITS) - 1  # above every code point: pads a shingle shorter than three characters
CACHED_SHINGLES = 2_000_000  # 24 MB of codes and hashes per process


def core(text: str) -> str:
    """The text shingled: without links, mentions, hashtags, repost markers, spaces and punctuation."""
    return NOT_WORD.sub("", MARKS.sub(" ", normalise(text)))


class ShingleHashes:
    """Shingle code -> its hash as MinHash permutes it (SHA-1's first four bytes, mixed by the
    MurmurHash3 finalizer), kept across batches in two sorted arrays so a batch looks all its
    shingles up at once; only shingles never seen before are hashed one by one. Emptied when full."""

    def __init__(self, capacity=CACHED_SHINGLES):
        self.capacity = capacity
        self.codes = np.empty(0, dtype=np.int64)
        self.hashes = np.empty(0, dtype=np.uint32)

    def __call__(self, codes: np.ndarray) -> np.ndarray:
        where, known = self.find(codes)
        if not known.all():
            missing = np.unique(codes[~known])
            if len(self.codes) + len(missing) > self.capacity:  # emptied: every shingle of the batch is new
                self.codes, self.hashes = self.codes[:0], self.hashes[:0]
                missing = np.unique(codes)
            self.remember(missing)
            where, _ = self.find(codes)
        return self.hashes[where]

    def find(self, codes):
        where = np.searchsorted(self.codes, codes)
        known = where < len(self.codes)
        known[known] = self.codes[where[known]] == codes[known]
        return where, known

    def remember(self, new_codes):
        digests = b"".join(hashlib.sha1(shingle_bytes(code)).digest()[:4] for code in new_codes.tolist())
        hashes = np.frombuffer(digests, dtype="<u4").astype(np.uint32)
        shift1, multiplier1, shift2, multiplier2, shift3 = MURMUR3_FINALIZER
        hashes = (hashes ^ (hashes >> shift1)) * multiplier1
        hashes = (hashes ^ (hashes >> shift2)) * multiplier2
        hashes ^= hashes >> shift3
        at = np.searchsorted(self.codes, new_codes)
        self.codes, self.hashes = np.insert(self.codes, at, new_codes), np.insert(self.hashes, at, hashes)


def shingle_bytes(code: int) -> bytes:
    """The UTF-8 shingle a code stands for (``shingle_codes``)."""
    points = ((code >> (CODE_POINT_BITS * (SHINGLE - 1 - offset))) & NO_CHARACTER for offset in range(SHINGLE))
    return "".join(chr(point) for point in points if point != NO_CHARACTER).encode()


def shingle_codes(cores) -> tuple[np.ndarray, np.ndarray]:
    """Every character 3-gram of every core as one int64 (three 21-bit code points), and where each
    core's codes start. A core shorter than three characters is one shingle, padded with
    ``NO_CHARACTER`` (the empty core: the empty shingle)."""
    lengths = np.fromiter(map(len, cores), dtype=np.intp, count=len(cores))
    total = int(lengths.sum())
    points = np.full(total + SHINGLE, NO_CHARACTER, dtype=np.int64)  # padded: an empty last core reads past
    points[:total] = np.frombuffer("".join(cores).encode("utf-32-le"), dtype="<u4")
    counts = np.maximum(lengths - (SHINGLE - 1), 1)
    starts = np.cumsum(counts) - counts
    position = np.arange(int(counts.sum())) - np.repeat(starts, counts)  # of each shingle in its core
    first = np.repeat(np.cumsum(lengths) - lengths, counts) + position
    room = np.repeat(lengths, counts) - position  # characters left in the core from there
    codes = np.zeros(len(first), dtype=np.int64)
    for offset in range(SHINGLE):
        point = np.where(room > offset, points[first + offset], NO_CHARACTER)
        codes |= point << (CODE_POINT_BITS * (SHINGLE - 1 - offset))
    return codes, starts


def signatures(texts) -> np.ndarray:
    """One signature per text (rows in order), as ``MinHash.update_batch`` of the text's distinct
    shingles (the UTF-8 3-grams of its ``core``; the whole core if shorter, b"" if empty) gives it.
    Shingles are cut and looked up for the whole batch with numpy (``ShingleHashes``)."""
    if not texts:
        return np.empty((0, NUM_PERM), dtype=np.uint64)
    codes, starts = shingle_codes([core(text) for text in texts])
    # a row per permutation, so each reduces along contiguous memory; uint32: wrapping is the modulo 2^32
    permuted = shingle_hashes(codes)[None, :] * MULTIPLIERS[:, None] + OFFSETS[:, None]
    return np.minimum.reduceat(permuted, starts, axis=1).T.astype(np.uint64)  # the stored form


def band_keys(signatures: np.ndarray) -> list[list[int]]:
    """For each signature (a row), one signed 64-bit key per band (fits a database BIGINT)."""
    data = memoryview(np.ascontiguousarray(signatures, dtype=np.uint64).tobytes())
    width = signatures.shape[1] * 8 // BANDS
    digests = []
    for start, salted in zip(range(0, len(data), width), BAND_HASHES * len(signatures)):
        digest = salted.copy()
        digest.update(data[start:start + width])
        digests.append(digest.digest())
    return np.frombuffer(b"".join(digests), dtype=">i8").reshape(len(signatures), BANDS).tolist()


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


shingle_hashes = ShingleHashes()  # per process: posts share most shingles with earlier batches


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
        sigs = signatures([text])
        return self.join(sigs[0], band_keys(sigs)[0])

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
