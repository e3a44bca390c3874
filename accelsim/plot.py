"""matplotlib figures from result tables (PNG, and SVG beside it on request); headless (Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

#: The file name endings ``save_figure`` can write (matplotlib's formats).
FIGURE_SUFFIXES = (".png", ".svg", ".pdf", ".eps", ".ps", ".jpg", ".jpeg", ".tif", ".tiff", ".webp")

from accelsim.outputs import OutputSet, ensure_dir  # noqa: E402


def save_figure(path: Path, table: pd.DataFrame, *, x: str, y: str, yerr: str | None = None,
                hue: str | None = None, panel: str | None = None, row: str | None = None,
                logx: bool = False, logy: bool = False, xlabel: str | None = None,
                ylabel: str | None = None, title: str = "", svg: bool = False) -> list[Path]:
    """Plot ``y`` against ``x`` (one line per value of ``hue``, one subplot per value of ``panel``,
    one row of subplots per value of ``row``) and write it to ``path`` (and an SVG beside it with
    ``svg``)."""
    panels = sorted(table[panel].unique(), key=str) if panel else [None]
    rows = sorted(table[row].unique(), key=str) if row else [None]
    fig, axes = plt.subplots(len(rows), len(panels), figsize=(6 * len(panels), 4 * len(rows)), dpi=120,
                             sharey=True, squeeze=False)
    cells = [(axes[i][j], r, value) for i, r in enumerate(rows) for j, value in enumerate(panels)]
    for ax, r, value in cells:
        part_table = table if row is None else table[table[row] == r]
        part_table = part_table if panel is None else part_table[part_table[panel] == value]
        groups = part_table.groupby(hue, sort=True) if hue else [(None, part_table)]
        for label, part in groups:
            part = part.sort_values(x)
            err = part[yerr] if yerr else None
            ax.errorbar(part[x], part[y], yerr=err, marker="o", capsize=3,
                        label=f"{hue} = {label}" if hue else None)
        if logx:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel or x)
        if panel or row:
            ax.set_title(", ".join(f"{k} = {v}" for k, v in ((row, r), (panel, value)) if k), fontsize=9)
        if hue:
            ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
    for line in axes:
        line[0].set_ylabel(ylabel or y)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    try:
        also_svg = svg and path.suffix.lower() != ".svg"
        return write_figure(fig, path, *([path.with_suffix(".svg")] if also_svg else []))
    finally:
        plt.close(fig)


def write_figure(fig, *paths: Path) -> list[Path]:
    """Save ``fig`` to each path (format from the suffix), all replaced together and atomically
    (``accelsim.outputs.OutputSet``): a kill leaves the old figures or the new ones."""
    written = []
    with OutputSet() as files:
        for path in paths:
            fmt = path.suffix[1:].lower()
            if not fmt:  # as matplotlib does: the default format, its suffix appended
                fmt = matplotlib.rcParams["savefig.format"]
                path = path.with_name(f"{path.name}.{fmt}")
            ensure_dir(path.parent)
            written.append(files.write(path, lambda fh, fmt=fmt: fig.savefig(fh, format=fmt)))
    return written
