"""Approximate-memory training of Locatelli et al. (003 Sec. IV): a tanh MLP whose 16-bit fixed-point
weights live in simulated ST-MRAM, every update written with a per-bit error rate and charged the
programming energy the device model gives at that error rate.

Owns the fixed-point word format, the faulty word write (errors drawn from a Generator, vectorised),
the energy per bit written at a target BER (from ``accelsim.device``), and ``train_approx``.

Assumptions (each cited where it is used; README_errors.md collects them):

* A write error is a bit that should switch and does not (the MTJ's write error rate is the
  probability of not switching). A bit whose stored value already equals the target cannot fail.
  With BER 1 the bits are "fully random, never updated" (003 Sec. IV): they keep the random state
  the array powered up in.
* Energy: every bit of a word whose value changes receives a pulse (the 003 Fig. 1b driver writes
  the word; it does not read first), at the pulse length of that bit's significance class. The
  energy of pulsing only the changed bits (a read-before-write scheme) is counted as well.
* Training reads the weights back from the memory: an update is computed from the stored (possibly
  wrong) value, so errors are never corrected explicitly, only trained around.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from accelsim import rng as rng_streams
from accelsim.data import Dataset
from accelsim.errors import AccelsimError, DataError, UsageError

#: Sub-stream key of ``rng.stream(seed, "train", ...)`` for approximate-memory runs (the MLP trainer
#: uses 0 and 1, LeNet 20).
STREAM_KEY = 30

#: Number of set bits of every 16-bit value (popcount table).
_POPCOUNT16 = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.uint8)


# ------------------------------------------------------------------------------------ configuration


@dataclass(frozen=True, kw_only=True, slots=True)
class WriteEnergyModel:
    """How a target bit error rate becomes a pulse and an energy per bit written (003 Sec. III).

    The pulse amplitude is fixed at ``overdrive`` x Vc across the nominal junction and the pulse
    length is the one at which the array's mean write error rate equals the target (003: "a
    reduction of the pulse duration while keeping the pulse amplitude constant"). The energy is that
    of the P -> AP write through the driver (``accelsim.device.write_energy_j``, 003's 0.48 pJ
    definition), averaged over ``n_devices`` devices drawn with ``variability`` (003 Fig. 2, red).
    """

    mtj: str = "hirtzlin-32nm"
    """MTJ preset (``accelsim.device.presets``): 003's 32 nm junction."""
    driver: str = "locatelli-28nm"
    """Driver preset: 003's 28 nm bidirectional driver."""
    overdrive: float = 2.0
    """Junction voltage over Vc0 during the pulse (> 1); 003 Sec. III uses 2.0 Vc = 381 mV."""
    variability: str = "locatelli2018"
    """Variability preset ("none" for the nominal device); 003 counts device and CMOS variability."""
    n_devices: int = 50_000
    """Devices drawn to average the energy and WER over (>= 1; unused without variability)."""
    device_seed: int = 0
    """Seed of the device draw (the chip is the same whatever the training seed)."""
    reference_ber: float = 1e-10
    """BER of the quasi-deterministic write that BER 0 stands for, in (0, 1): error-free training
    is charged this write's energy (003's reference: "quasi-deterministic programming (BER = 1e-10)")."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.overdrive) and self.overdrive > 1.0):
            raise UsageError(f"energy overdrive: must be > 1 (V / Vc), got {self.overdrive!r}")
        if self.n_devices < 1:
            raise UsageError(f"energy n_devices: must be >= 1, got {self.n_devices!r}")
        if not 0.0 < self.reference_ber < 1.0:
            raise UsageError(f"energy reference_ber: must be in (0, 1), got {self.reference_ber!r}")


@dataclass(frozen=True, kw_only=True, slots=True)
class ApproxConfig:
    """An approximate-memory training run (003 Sec. IV); checked on construction (``UsageError``
    naming the option a CLI would expose)."""

    hidden: int = 300
    """Hidden tanh neurons (>= 1); 003's 784-300-10 network."""
    epochs: int = 5
    """Passes over the training set (>= 1); 003: "five presentations of the full set"."""
    batch_size: int = 10
    """Images per mini-batch, one memory write per batch (>= 1); 003: "a mini-batch of 10 images"."""
    lr: float = 0.1
    """Plain SGD learning rate of the first epoch (> 0). 003 gives none."""
    lr_final: float | None = 0.01
    """Learning rate of the last epoch, reached by a geometric decay per epoch (> 0); None keeps
    ``lr`` constant. The decay makes the final network depend far less on the last few batches
    (at a constant 0.1 the error-free accuracy scatters by 4 points between initialisations)."""
    n_bits: int = 16
    """Bits per weight word (2..16); 003: "16-bit fixed point numbers"."""
    frac_bits: int = 15
    """Fractional bits of the word (0..n_bits - 1): weights within +-2^(n_bits - 1 - frac_bits) in
    steps of 2^-frac_bits. Not given by 003; the default is Q15, the usual 16-bit format (+-1 in
    steps of 3.1e-5; this network's weights stay below 1)."""
    encoding: str = "sign_magnitude"
    """Signed-number format of the word (--encoding): "sign_magnitude" (the top bit is the sign, the
    others the magnitude, so bit b always weighs 2^(b - frac_bits)) or "twos_complement" (where a
    weight crossing zero switches every bit, and a failed top bit leaves it near the end of the
    range; see README_errors.md). 003 does not say; sign-magnitude is the format in which its "high
    significance bits" are the bits of large weight."""
    ber_hsb: float = 0.0
    """Write error rate of the high significance bits (--ber-hsb), in [0, 1]."""
    ber_lsb: float = 0.0
    """Write error rate of the ``n_lsb`` low significance bits (--ber-lsb), in [0, 1]."""
    n_lsb: int = 0
    """Number of low significance bits written at ``ber_lsb`` (--n-lsb), 0..n_bits; 0 makes the
    write uniform at ``ber_hsb``."""
    energy: WriteEnergyModel = field(default_factory=WriteEnergyModel)
    """Device model for the energy per bit written."""

    def __post_init__(self) -> None:
        for key in ("hidden", "epochs", "batch_size"):
            value = getattr(self, key)
            if not isinstance(value, int | np.integer) or value < 1:
                raise UsageError(f"--{key.replace('_', '-')}: must be an integer >= 1, got {value!r}")
        for key, value in (
            ("--lr", self.lr),
            ("--lr-final", self.lr if self.lr_final is None else self.lr_final),
        ):
            if not (isinstance(value, float | int) and math.isfinite(value) and value > 0):
                raise UsageError(f"{key}: must be a positive number, got {value!r}")
        if not 2 <= self.n_bits <= 16:
            raise UsageError(f"--n-bits: must be in 2..16, got {self.n_bits!r}")
        if not 0 <= self.frac_bits <= self.n_bits - 1:
            raise UsageError(
                f"--frac-bits: must be in 0..{self.n_bits - 1} (n_bits - 1), got {self.frac_bits!r}"
            )
        if self.encoding not in ENCODINGS:
            raise UsageError(f"--encoding: must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        for key in ("ber_hsb", "ber_lsb"):
            value = getattr(self, key)
            if not (isinstance(value, float | int) and 0.0 <= value <= 1.0):
                raise UsageError(f"--{key.replace('_', '-')}: must be a probability in [0, 1], got {value!r}")
        if not 0 <= self.n_lsb <= self.n_bits:
            raise UsageError(f"--n-lsb: must be in 0..{self.n_bits} (bits per word), got {self.n_lsb!r}")
        if self.n_lsb == 0 and self.ber_lsb != 0.0:
            raise UsageError(f"--ber-lsb: {self.ber_lsb} given but --n-lsb is 0 (no low significance bits)")

    @property
    def n_hsb(self) -> int:
        """Number of high significance bits."""
        return self.n_bits - self.n_lsb

    @property
    def lsb_mask(self) -> int:
        """Bit mask of the low significance bits."""
        return (1 << self.n_lsb) - 1

    @property
    def hsb_mask(self) -> int:
        """Bit mask of the high significance bits (within the n_bits word)."""
        return ((1 << self.n_bits) - 1) ^ self.lsb_mask


def uniform_config(ber: float, **kwargs) -> ApproxConfig:
    """An ``ApproxConfig`` writing every bit at ``ber`` (003 Fig. 3)."""
    return ApproxConfig(ber_hsb=ber, ber_lsb=0.0, n_lsb=0, **kwargs)


# --------------------------------------------------------------------------------- fixed-point words


#: Signed fixed-point formats of a weight word.
ENCODINGS = ("sign_magnitude", "twos_complement")


def to_words(values: np.ndarray, n_bits: int, frac_bits: int, encoding: str = "sign_magnitude") -> np.ndarray:
    """Fixed-point words (uint16, the low ``n_bits`` used) of float ``values``: round to the nearest
    multiple of 2^-frac_bits (ties to even), saturate to the word's range.

    ``encoding``: "sign_magnitude" (top bit = sign, 0 stored as +0; range +-(2^(n_bits-1) - 1)) or
    "twos_complement" (range [-2^(n_bits-1), 2^(n_bits-1) - 1]), in units of 2^-frac_bits.
    """
    top = 1 << (n_bits - 1)
    scaled = np.asarray(values, dtype=np.float32) * np.float32(1 << frac_bits)
    if encoding == "sign_magnitude":
        mag = np.abs(scaled)
        np.rint(mag, out=mag)
        np.clip(mag, 0, top - 1, out=mag)
        q = mag.astype(np.uint16)
        q |= ((scaled < 0) & (q != 0)).astype(np.uint16) << np.uint16(n_bits - 1)
        return q
    if encoding == "twos_complement":
        np.rint(scaled, out=scaled)
        np.clip(scaled, -top, top - 1, out=scaled)
        return (scaled.astype(np.int32) & ((1 << n_bits) - 1)).astype(np.uint16)
    raise ValueError(f"unknown encoding {encoding!r}; known: {', '.join(ENCODINGS)}")


def from_words(
    words: np.ndarray, n_bits: int, frac_bits: int, encoding: str = "sign_magnitude"
) -> np.ndarray:
    """float32 values of fixed-point words (inverse of :func:`to_words`; -0 reads as 0)."""
    top = 1 << (n_bits - 1)
    scale = 2.0**-frac_bits
    words = np.asarray(words, dtype=np.uint16)
    if encoding == "sign_magnitude":
        out = (words & np.uint16(top - 1)).astype(np.float32)
        factor = (words >> np.uint16(n_bits - 1)).astype(np.float32)  # 1 for negative words
        factor *= np.float32(-2.0 * scale)
        factor += np.float32(scale)
        out *= factor
        return out
    if encoding == "twos_complement":
        q = words.astype(np.int32)
        return ((q ^ top) - top).astype(np.float32) * np.float32(scale)
    raise ValueError(f"unknown encoding {encoding!r}; known: {', '.join(ENCODINGS)}")


def popcount(words: np.ndarray) -> np.ndarray:
    """uint8 number of set bits of each uint16 word."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words)
    return _POPCOUNT16[words]


@dataclass(frozen=True, kw_only=True, slots=True)
class WriteCounts:
    """What one faulty write of an array of words did."""

    n_words: int
    """Words whose target differed from the stored value (words written)."""
    n_changed_hsb: int
    """High significance bits that had to switch."""
    n_changed_lsb: int
    """Low significance bits that had to switch."""
    n_failed_hsb: int
    """High significance bits that did not switch (write errors)."""
    n_failed_lsb: int
    """Low significance bits that did not switch."""


#: Binary digits of a failure probability drawn with random words (see ``_failures``).
DENSE_DIGITS = 6


def _bernoulli_words(numerator: int, size: int, gen: np.random.Generator) -> np.ndarray:
    """uint16 words whose bits are independent Bernoulli(numerator / 2^DENSE_DIGITS).

    With uniform random words U_i and the binary digits d_1 .. d_K of the probability, R = U_i | R
    for d_i = 1 and R = U_i & R for d_i = 0, from d_K up to d_1, gives P(bit) = sum_i d_i 2^-i.
    """
    out = np.zeros(size, dtype=np.uint16)
    lowest = (numerator & -numerator).bit_length()  # digits below the lowest set one leave R at 0
    for i in range(DENSE_DIGITS - lowest + 1, 0, -1):
        u = np.frombuffer(gen.bytes(2 * size), dtype=np.uint16)
        if (numerator >> (DENSE_DIGITS - i)) & 1:
            out |= u
        else:
            out &= u
    return out


def _sparse_failures(bits: np.ndarray, q: float, gen: np.random.Generator) -> np.ndarray:
    """uint16 mask picking each set bit of ``bits`` (flat uint16) with probability q (q n small):
    Binomial(n, q) distinct ranks among the n set bits; a rank maps to its word by
    a cumulative popcount and to its bit by clearing the lower set bits of that word."""
    counts = popcount(bits)
    n = int(counts.sum(dtype=np.int64))
    picked = np.zeros_like(bits)
    k = int(gen.binomial(n, q)) if n else 0
    if k == 0:
        return picked
    # k distinct ranks, uniform over the k-subsets: draws with replacement, duplicates redrawn (the
    # procedure is invariant under relabelling, so every k-subset is equally likely); O(k), where
    # Generator.choice without replacement is O(n).
    ranks = np.unique(gen.integers(0, n, size=k))
    while ranks.size < k:
        ranks = np.unique(np.concatenate([ranks, gen.integers(0, n, size=k - ranks.size)]))
    ends = np.cumsum(counts, dtype=np.int64)
    word = np.searchsorted(ends, ranks, side="right")
    j = ranks - (ends[word] - counts[word])  # which of the word's set bits, 0 = lowest
    v = bits[word]
    for t in range(int(j.max())):
        v = np.where(j > t, v & (v - np.uint16(1)), v)
    np.bitwise_or.at(picked, word, v & (~v + np.uint16(1)))  # the lowest remaining set bit
    return picked


def _failures(changed: np.ndarray, mask: int, ber: float, gen: np.random.Generator) -> np.ndarray:
    """uint16 mask of the bits of ``changed & mask`` that fail, each independently with probability
    ``ber``.

    Exact (one independent Bernoulli(ber) per changed bit) and vectorised over the words that have
    a bit of the class to switch. With q = ber, or q = 1 - ber drawing the bits that *succeed* when
    ber > 1/2: q = q_hi + (1 - q_hi) q_lo with q_hi the first DENSE_DIGITS binary digits of q. Bits
    are hit with probability q_hi by random words (``_bernoulli_words``, a few array operations), and
    the bits not hit with probability q_lo < 2^(1 - DENSE_DIGITS) by drawing ranks among them
    (``_sparse_failures``, O(hits)).
    """
    flat = (changed & np.uint16(mask)).ravel()
    if ber <= 0.0:
        return np.zeros_like(changed)
    if ber >= 1.0:
        return flat.reshape(changed.shape)
    where = np.flatnonzero(flat != 0)
    out = np.zeros_like(flat)
    if where.size == 0:
        return out.reshape(changed.shape)
    bits = flat[where]
    invert = ber > 0.5
    q = 1.0 - ber if invert else ber
    numerator = math.floor(q * (1 << DENSE_DIGITS))
    q_hi = numerator / (1 << DENSE_DIGITS)
    hit = bits & _bernoulli_words(numerator, bits.size, gen) if numerator else np.zeros_like(bits)
    q_lo = (q - q_hi) / (1.0 - q_hi)
    if q_lo > 0.0:
        hit |= _sparse_failures(bits & ~hit, q_lo, gen)
    out[where] = bits ^ hit if invert else hit
    return out.reshape(changed.shape)


def write_words(
    stored: np.ndarray,
    target: np.ndarray,
    config: ApproxConfig,
    gen: np.random.Generator,
) -> tuple[np.ndarray, WriteCounts]:
    """Write ``target`` words over ``stored`` words with per-bit write errors.

    A bit that must switch fails (keeps its stored value) with probability ``config.ber_lsb`` for
    the ``n_lsb`` low bits and ``config.ber_hsb`` for the others; a bit already equal to its target
    cannot fail (003: the error rate of a write is that of a switching event; BER 1 leaves the bits
    "never updated").

    Parameters
    ----------
    stored, target : ndarray of uint16, same shape
    config : ApproxConfig
        The bit error rates and the LSB/HSB split.
    gen : numpy.random.Generator
        Source of the failures.

    Returns
    -------
    (new_stored, counts) : (ndarray of uint16, WriteCounts)
    """
    changed = np.bitwise_xor(stored, target)
    fail = _failures(changed, config.hsb_mask, config.ber_hsb, gen)
    if config.n_lsb:
        fail |= _failures(changed, config.lsb_mask, config.ber_lsb, gen)
    lsb = np.uint16(config.lsb_mask)
    n_changed = int(popcount(changed).sum(dtype=np.int64))
    n_changed_lsb = int(popcount(changed & lsb).sum(dtype=np.int64)) if config.n_lsb else 0
    n_failed = int(popcount(fail).sum(dtype=np.int64)) if fail.any() else 0
    n_failed_lsb = int(popcount(fail & lsb).sum(dtype=np.int64)) if config.n_lsb and n_failed else 0
    counts = WriteCounts(
        n_words=int(np.count_nonzero(changed)),
        n_changed_hsb=n_changed - n_changed_lsb,
        n_changed_lsb=n_changed_lsb,
        n_failed_hsb=n_failed - n_failed_lsb,
        n_failed_lsb=n_failed_lsb,
    )
    return target ^ fail, counts


# ------------------------------------------------------------------------------------------- energy


@functools.lru_cache(maxsize=256)
def _device_point(ber: float, model: WriteEnergyModel) -> tuple[float, float]:
    """(pulse_s, energy_j) per bit at target ``ber`` in (0, 1); cached (the device draw is the slow part)."""
    from accelsim.device.energy import source_voltage_v, write_energy_j
    from accelsim.device.presets import driver_preset, mtj_preset, variability_preset
    from accelsim.device.variability import array_write_energy_j, pulse_for_array_wer_s
    from accelsim.device.write import GAMMA, pulse_for_wer_s

    try:
        mtj, driver = mtj_preset(model.mtj), driver_preset(model.driver)
        variability = variability_preset(model.variability)
    except AccelsimError as exc:
        raise UsageError(f"energy model: {exc}") from None
    v_j = model.overdrive * mtj.vc_v
    v_src = float(source_voltage_v(v_j, mtj, driver, "p"))
    if variability.is_zero:
        pulse = float(pulse_for_wer_s(ber, v_j, mtj, GAMMA, "p_to_ap"))
        return pulse, float(write_energy_j(v_src, pulse, mtj, driver, "p_to_ap"))
    devices = _devices(model)
    pulse = float(pulse_for_array_wer_s(ber, v_src, devices, mtj, GAMMA, "p_to_ap"))
    return pulse, float(array_write_energy_j(v_src, pulse, devices, mtj, driver, "p_to_ap"))


@functools.lru_cache(maxsize=8)
def _devices(model: WriteEnergyModel):
    from accelsim.device.presets import driver_preset, mtj_preset, variability_preset
    from accelsim.device.variability import draw_devices

    return draw_devices(
        mtj_preset(model.mtj),
        variability_preset(model.variability),
        model.n_devices,
        rng_streams.stream(model.device_seed, "variation"),
        driver_preset(model.driver),
    )


def bit_write_pulse_s(ber: float, model: WriteEnergyModel) -> float:
    """Pulse length (s) that writes a bit at error rate ``ber`` (0 for BER 1: no pulse; the pulse of
    ``model.reference_ber`` for BER 0)."""
    return _bit_point(ber, model)[0]


def bit_write_energy_j(ber: float, model: WriteEnergyModel) -> float:
    """Programming energy (J) of one bit written at error rate ``ber`` (003 Fig. 2, with variability
    unless ``model.variability`` is "none"); BER 1 costs nothing (no pulse), BER 0 is charged the
    quasi-deterministic write at ``model.reference_ber``."""
    return _bit_point(ber, model)[1]


def _bit_point(ber: float, model: WriteEnergyModel) -> tuple[float, float]:
    ber = float(ber)
    if not 0.0 <= ber <= 1.0:
        raise UsageError(f"bit error rate must be in [0, 1], got {ber!r}")
    if ber >= 1.0:
        return 0.0, 0.0
    return _device_point(ber if ber > 0.0 else model.reference_ber, model)


# ----------------------------------------------------------------------------------------- training


@dataclass(frozen=True, kw_only=True, slots=True)
class ApproxData:
    """Training images and (optionally) test images for :func:`train_approx`."""

    train: Dataset
    test: Dataset | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ApproxEpoch:
    """One epoch of an approximate-memory run (accuracies are fractions)."""

    epoch: int
    loss: float
    """Mean cross-entropy of the epoch's mini-batches (with the weights as stored)."""
    test_acc: float | None
    seconds: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ApproxResult:
    """The stored network after training, its accuracy, and what the memory did and spent."""

    config: ApproxConfig
    seed: int
    words: tuple[np.ndarray, ...]
    """The stored words (uint16): w1 (n_in, hidden), b1 (hidden,), w2 (hidden, classes), b2 (classes,);
    ``from_words`` gives their values."""
    history: tuple[ApproxEpoch, ...]
    test_acc: float | None
    """Test accuracy of the stored network after the last epoch."""
    train_acc: float
    """Accuracy of the stored network on the training images."""
    n_writes: int
    """Mini-batch writes (updates), plus the initial write of the weights."""
    counts: WriteCounts
    """Totals over all writes (the initial one included)."""
    energy_bit_hsb_j: float
    """Energy of one high significance bit written (J)."""
    energy_bit_lsb_j: float
    """Energy of one low significance bit written (J)."""
    seconds: float

    @property
    def n_weights(self) -> int:
        """Synaptic weights stored (biases included)."""
        return int(sum(w.size for w in self.words))

    @property
    def energy_j(self) -> float:
        """Programming energy of the run (J): every bit of every written word pulsed."""
        return self.counts.n_words * self.energy_per_write_j

    @property
    def energy_changed_bits_j(self) -> float:
        """Programming energy (J) had only the bits that change been pulsed (read-before-write)."""
        c = self.counts
        return c.n_changed_hsb * self.energy_bit_hsb_j + c.n_changed_lsb * self.energy_bit_lsb_j

    @property
    def energy_per_write_j(self) -> float:
        """Energy of one write of one weight, all its bits pulsed (J): n_hsb E_hsb + n_lsb E_lsb.
        003 Fig. 5's "total programming energy per synaptic weight" (its savings are ratios of these)."""
        return self.config.n_hsb * self.energy_bit_hsb_j + self.config.n_lsb * self.energy_bit_lsb_j

    @property
    def training_energy_per_weight_j(self) -> float:
        """Programming energy of the whole training per synaptic weight (J): ``energy_j / n_weights``.
        Unlike ``energy_per_write_j`` it depends on how many words the training changed."""
        return self.energy_j / self.n_weights

    @property
    def measured_ber_hsb(self) -> float:
        """Failed / switching high significance bits (NaN when none switched)."""
        c = self.counts
        return c.n_failed_hsb / c.n_changed_hsb if c.n_changed_hsb else math.nan

    @property
    def measured_ber_lsb(self) -> float:
        """Failed / switching low significance bits (NaN when none switched)."""
        c = self.counts
        return c.n_failed_lsb / c.n_changed_lsb if c.n_changed_lsb else math.nan


def _add(a: WriteCounts, b: WriteCounts) -> WriteCounts:
    return WriteCounts(
        n_words=a.n_words + b.n_words,
        n_changed_hsb=a.n_changed_hsb + b.n_changed_hsb,
        n_changed_lsb=a.n_changed_lsb + b.n_changed_lsb,
        n_failed_hsb=a.n_failed_hsb + b.n_failed_hsb,
        n_failed_lsb=a.n_failed_lsb + b.n_failed_lsb,
    )


_NO_WRITES = WriteCounts(n_words=0, n_changed_hsb=0, n_changed_lsb=0, n_failed_hsb=0, n_failed_lsb=0)


def _check_data(data: ApproxData) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    if not isinstance(data, ApproxData) or not isinstance(data.train, Dataset):
        raise UsageError("train_approx: data must be an ApproxData(train=Dataset, test=Dataset | None)")
    train = data.train
    if train.n_images < 1:
        raise DataError(f"{train.source}: no training images")
    n_classes = int(train.y.max()) + 1
    x_test = y_test = None
    if data.test is not None:
        if data.test.n_features != train.n_features:
            raise DataError(
                f"{data.test.source}: test images have {data.test.n_features} features, "
                f"training images {train.n_features}"
            )
        x_test, y_test = data.test.x, data.test.y
        n_classes = max(n_classes, int(y_test.max()) + 1 if y_test.size else 0)
    return train.x, train.y, x_test, y_test, n_classes


def predict(w1: np.ndarray, b1: np.ndarray, w2: np.ndarray, b2: np.ndarray, x: np.ndarray) -> np.ndarray:
    """int64 classes of the tanh MLP with weight values w1 (n_in, hidden), b1, w2 (hidden, classes), b2."""
    out = []
    for start in range(0, x.shape[0], 1000):
        h = np.tanh(x[start : start + 1000] @ w1 + b1)
        out.append(np.argmax(h @ w2 + b2, axis=1))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def train_approx(
    config: ApproxConfig,
    data: ApproxData,
    seed: int,
    progress: Callable[[ApproxEpoch], None] | None = None,
) -> ApproxResult:
    """Train the 003 network with its weights in approximate MRAM.

    The network is n_in - ``hidden`` (tanh) - classes (softmax, cross-entropy), trained by plain
    mini-batch SGD (003 Sec. IV: tanh neurons, backpropagation, mini-batches of 10, 5 epochs; the
    readout and the loss are not given there). The memory powers up with random bits; the initial
    weights (uniform in +-1/sqrt(fan_in), LeCun) are written into it through the faulty write, and
    after every mini-batch each weight's new value, round-to-nearest of (stored value - lr x
    gradient), is written over the stored word with :func:`write_words`. The forward and backward
    passes always use the stored values.

    Parameters
    ----------
    config
        Network, schedule, word format, bit error rates and energy model.
    data
        Training images (intensities or +-1 bits) and optional test images.
    seed
        Run seed (003's "five sets of initial weights" are five seeds): power-up bits, initial
        weights, batch order and write errors come from ``rng.stream(seed, "train", STREAM_KEY, ...)``.
    progress
        Called with each epoch's record.

    Returns
    -------
    ApproxResult
    """
    t0 = time.perf_counter()
    x, y, x_test, y_test, n_classes = _check_data(data)
    n_batches = x.shape[0] // config.batch_size
    if n_batches == 0:
        raise UsageError(f"--batch-size: {config.batch_size} is larger than the {x.shape[0]} training images")
    e_hsb = bit_write_energy_j(config.ber_hsb, config.energy)
    e_lsb = bit_write_energy_j(config.ber_lsb, config.energy) if config.n_lsb else 0.0
    nb, fb, enc = config.n_bits, config.frac_bits, config.encoding
    n_in, h = x.shape[1], config.hidden
    shapes = ((n_in, h), (h,), (h, n_classes), (n_classes,))
    fans = (n_in, n_in, h, h)

    init = rng_streams.stream(seed, "train", STREAM_KEY, 0)
    write_gen = rng_streams.stream(seed, "train", STREAM_KEY, 2)
    words, values = [], []
    counts = _NO_WRITES
    for shape, fan in zip(shapes, fans):
        power_up = init.integers(0, 1 << nb, size=shape, dtype=np.uint16)
        target = to_words(init.uniform(-1.0, 1.0, shape) / math.sqrt(fan), nb, fb, enc)
        stored, c = write_words(power_up, target, config, write_gen)
        counts = _add(counts, c)
        words.append(stored)
        values.append(from_words(stored, nb, fb, enc))
    n_writes = 1
    lr_final = config.lr if config.lr_final is None else config.lr_final
    decay = (lr_final / config.lr) ** (1.0 / max(config.epochs - 1, 1))
    history = []
    test_acc = None
    for epoch in range(config.epochs):
        te = time.perf_counter()
        lr = np.float32(config.lr * decay**epoch)
        order = rng_streams.stream(seed, "train", STREAM_KEY, 1, epoch).permutation(x.shape[0])
        loss_sum = 0.0
        for b in range(n_batches):
            idx = order[b * config.batch_size : (b + 1) * config.batch_size]
            xb, yb = x[idx], y[idx]
            w1, b1, w2, b2 = values
            hid = np.tanh(xb @ w1 + b1)
            logits = hid @ w2 + b2
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            rows = np.arange(len(idx))
            loss_sum += float(-np.mean(np.log(prob[rows, yb] + 1e-30)))
            dlog = prob
            dlog[rows, yb] -= 1.0
            dlog /= np.float32(len(idx))
            dhid = (dlog @ w2.T) * (1.0 - hid * hid)
            # Only the rows of w1 fed by a non-zero input can change (the others' gradient is 0).
            active = np.flatnonzero(np.any(xb != 0, axis=0))
            grads = (xb[:, active].T @ dhid, dhid.sum(axis=0), hid.T @ dlog, dlog.sum(axis=0))
            for i, grad in enumerate(grads):
                cur_words = words[0][active] if i == 0 else words[i]
                cur_values = values[0][active] if i == 0 else values[i]
                target = to_words(cur_values - lr * grad, nb, fb, enc)
                stored, c = write_words(cur_words, target, config, write_gen)
                counts = _add(counts, c)
                if i == 0:
                    words[0][active] = stored
                    values[0][active] = from_words(stored, nb, fb, enc)
                else:
                    words[i] = stored
                    values[i] = from_words(stored, nb, fb, enc)
            n_writes += 1
        if x_test is not None:
            test_acc = float(np.mean(predict(*values, x_test) == y_test))
        record = ApproxEpoch(
            epoch=epoch + 1, loss=loss_sum / n_batches, test_acc=test_acc, seconds=time.perf_counter() - te
        )
        history.append(record)
        if progress is not None:
            progress(record)
    train_acc = float(np.mean(predict(*values, x) == y))
    return ApproxResult(
        config=config,
        seed=seed,
        words=tuple(words),
        history=tuple(history),
        test_acc=test_acc,
        train_acc=train_acc,
        n_writes=n_writes,
        counts=counts,
        energy_bit_hsb_j=e_hsb,
        energy_bit_lsb_j=e_lsb,
        seconds=time.perf_counter() - t0,
    )
