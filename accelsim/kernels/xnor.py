"""Bit-packed XNOR/popcount: the crossbar's dot product of +-1 inputs with +-1 weights.

Bits are packed 64 to a uint64 word (bit 1 = +1); padding bits are 0 in both operands, so they never
count as a mismatch.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def pack_bits(pm1: np.ndarray) -> np.ndarray:
    """Pack a (n, m) array of +-1 (or 0/1 bits, 1 = +1) into (n, ceil(m / 64)) uint64 words."""
    bits = np.asarray(pm1) > 0
    packed = np.packbits(bits, axis=1)
    return packed_bytes_to_words(packed)


def unpack_bits(words: np.ndarray, n_bits: int) -> np.ndarray:
    """Inverse of ``pack_bits``: (n, n_words) uint64 -> (n, n_bits) uint8 bits (1 = +1)."""
    words = np.ascontiguousarray(words)
    return np.unpackbits(words.view(np.uint8).reshape(words.shape[0], -1), axis=1, count=n_bits)


def packed_bytes_to_words(packed: np.ndarray) -> np.ndarray:
    """(n, n_bytes) uint8 from ``np.packbits(axis=1)`` -> (n, ceil(n_bytes / 8)) uint64 words."""
    n, n_bytes = packed.shape
    n_words = (n_bytes + 7) // 8
    padded = np.zeros((n, n_words * 8), dtype=np.uint8)
    padded[:, :n_bytes] = packed
    return padded.view(np.uint64).reshape(n, n_words)


@njit(cache=True, parallel=True)
def _pack_thresholded(count, bound, flip, out):
    """out[i] = pack_bits(fires[i]) with fires[i, j] = (count[i, j] >= bound[j]) != flip[j].

    count (n, m) integers; bound (m,) of count's type; flip (m,) bool; out (n, ceil(m / 64)) uint64.
    Bit order as ``pack_bits``: element b of a word is bit 8 * (b // 8) + 7 - b % 8 (np.packbits'
    big-endian bytes read as a little-endian word). Branch-free: each full word ORs its 64 shifted
    comparisons in a loop of constant trip count, which vectorises.
    """
    n, m = count.shape
    n_full = m // 64
    for i in prange(n):
        row = count[i]
        for w in range(n_full):
            c = row[64 * w:64 * w + 64]
            bd = bound[64 * w:64 * w + 64]
            fl = flip[64 * w:64 * w + 64]
            word = np.uint64(0)
            for b in range(64):
                fire = np.uint64((c[b] >= bd[b]) != fl[b])
                word |= fire << np.uint64((b & 56) + 7 - (b & 7))
            out[i, w] = word
        if n_full < out.shape[1]:
            word = np.uint64(0)
            for b in range(m - 64 * n_full):
                j = 64 * n_full + b
                fire = np.uint64((row[j] >= bound[j]) != flip[j])
                word |= fire << np.uint64((b & 56) + 7 - (b & 7))
            out[i, n_full] = word


def pack_thresholded(count: np.ndarray, bound: np.ndarray, flip: np.ndarray) -> np.ndarray:
    """Bit-packed activations (n, ceil(m / 64)) uint64 of neurons that fire iff (count >= bound) xor
    flip: ``pack_bits`` of the thresholded counts in one pass (``network.integer_bounds`` gives
    ``bound`` for a layer's thresholds)."""
    count = np.ascontiguousarray(count)
    if count.ndim != 2 or count.dtype.kind not in "iu":
        raise TypeError("count must be a 2-D integer array")
    m = count.shape[1]
    bound = np.ascontiguousarray(bound, dtype=count.dtype)
    flip = np.ascontiguousarray(flip, dtype=np.bool_)
    if bound.shape != (m,) or flip.shape != (m,):
        raise ValueError(f"bound and flip must have shape ({m},)")
    out = np.empty((count.shape[0], -(-m // 64)), dtype=np.uint64)
    _pack_thresholded(count, bound, flip, out)
    return out


def count_ones(words: np.ndarray) -> np.ndarray:
    """Number of 1 bits (+1 inputs) per row of packed words (n, n_words) -> (n,) int64."""
    return unpack_bits(words, 64 * words.shape[1]).sum(axis=1, dtype=np.int64)


@njit(cache=True, inline="always")
def _popcount64(v):
    """Set bits of a uint64 (SWAR; LLVM lowers it to the popcnt instruction where available)."""
    v = v - ((v >> np.uint64(1)) & np.uint64(0x5555555555555555))
    v = (v & np.uint64(0x3333333333333333)) + ((v >> np.uint64(2)) & np.uint64(0x3333333333333333))
    v = (v + (v >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return (v * np.uint64(0x0101010101010101)) >> np.uint64(56)


@njit(cache=True, parallel=True)
def _xnor_popcount(x_words, w_words, n_in, out):
    """out[i, j] = n_in - popcount(x[i] XOR w[j]) = #{k : x_ik == w_jk}.

    x_words: (n_images, n_words) uint64; w_words: (n_out, n_words) uint64; out: (n_images, n_out) int32.
    """
    n_img, n_words = x_words.shape
    n_out = w_words.shape[0]
    for i in prange(n_img):
        for j in range(n_out):
            mismatches = 0
            for k in range(n_words):
                mismatches += _popcount64(x_words[i, k] ^ w_words[j, k])
            out[i, j] = n_in - mismatches


def xnor_popcount(x_words: np.ndarray, w_words: np.ndarray, n_in: int) -> np.ndarray:
    """XNOR popcounts (n_images, n_out) int32 of packed inputs against packed weights.

    Parameters
    ----------
    x_words : (n_images, n_words) uint64, from ``pack_bits`` of the +-1 inputs.
    w_words : (n_out, n_words) uint64, from ``pack_bits`` of the +-1 weights (one row per neuron).
    n_in : the number of real (unpadded) inputs.
    """
    if x_words.dtype != np.uint64 or w_words.dtype != np.uint64:
        raise TypeError("xnor_popcount takes uint64 words from pack_bits")
    if x_words.shape[1] != w_words.shape[1]:
        raise ValueError(f"inputs have {x_words.shape[1]} words, weights {w_words.shape[1]}")
    out = np.empty((x_words.shape[0], w_words.shape[0]), dtype=np.int32)
    _xnor_popcount(np.ascontiguousarray(x_words), np.ascontiguousarray(w_words), n_in, out)
    return out
