"""Render benchmark (a script, not a test): boards of 100, 500 and 1,000 notes to PNG and to
each structured format; prints the median of several runs.

    .venv/bin/python -m tests.benchmarks.render_bench [--runs 5]

Targets (2-core machine): PNG of 500 notes ≤ 0.3 s, 1,000 notes ≤ 0.6 s; the WebP share of a
200-note board ≤ 300 KB. Note texts mix the sample sentences with random made-up words, so
the per-thread word-mask cache of the renderer is not flattered by a tiny vocabulary.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace

from boards.diff import diff_boards
from boards.export import export_csv, export_dot, export_markdown, export_mermaid
from boards.render import render_pdf, render_png, render_share, render_svg
from tests.boards.render.samples import big_board

SYLLABLES = "ba bo ka kɛ ɲɔ ŋa di ré lé to mu sa fo gɛ ni ta wu zo cha pré tion ment".split()


def realistic(n: int, seed: int = 7):
    """big_board(n) with half of each note's words made up (few repeats, like real post-its)."""
    rng = random.Random(seed)
    board = big_board(n, seed)
    notes = []
    for note in board.notes:
        words = note.text.split()
        made_up = ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 3))) for _ in words]
        notes.append(replace(note, text=" ".join(w for pair in zip(words, made_up) for w in pair)))
    return replace(board, notes=tuple(notes))


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    formats = {
        "png": lambda b: render_png(b),
        "png 2048px": lambda b: render_png(b, max_size=2048),
        "webp share": render_share,
        "svg": render_svg,
        "pdf": render_pdf,
        "csv": export_csv,
        "md": export_markdown,
        "mermaid": export_mermaid,
        "dot": export_dot,
    }
    print(f"{'notes':>6} " + " ".join(f"{name:>11}" for name in formats) + "   (median seconds)")
    for n in (100, 500, 1000):
        board = realistic(n)
        cells = [median_time(lambda fn=fn: fn(board), runs if name != "pdf" else max(1, runs // 2))
                 for name, fn in formats.items()]
        print(f"{n:>6} " + " ".join(f"{t:>11.3f}" for t in cells))
    board = realistic(200)
    share = render_share(board)
    full = render_png(board, fmt="webp")
    print(f"200-note WebP: share {len(share) / 1024:.0f} KB (1600 px max), {len(full) / 1024:.0f} KB at scale 1")
    later = realistic(1000, seed=8)
    print(f"diff of two 1000-note boards: {median_time(lambda: diff_boards(board, later), runs):.3f} s")


if __name__ == "__main__":
    main()
