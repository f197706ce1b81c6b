"""Where to put new post-its: a simple grid inside a zone, or beside the zones when there is none.

Used by the importer, the templates and the demo boards, so that notes added by a program land
where a facilitator would have put them by hand.
"""

from __future__ import annotations

import math

from boards import schema as s
from boards.model import Zone

PAD = 20.0  # inner margin of a zone
TITLE_LINE = 24.0  # height of one line of a zone title
TITLE_CHARS = 35  # characters per title line in a 400-unit column (a rough guess, on purpose)
GAP = 20.0  # between notes
FREE_MARGIN = 80.0  # between the last zone and the notes that belong to no zone
FREE_COLUMNS = 4


def grid_position(
    index: int,
    zone: Zone | None,
    zones: tuple[Zone, ...] | list[Zone] = (),
    *,
    w: float = s.DEFAULT_NOTE_W,
    h: float = s.DEFAULT_NOTE_H,
) -> tuple[float, float]:
    """The (x, y) of the `index`-th note (from 0) of a grid in `zone`.

    Without a zone, the grid starts to the right of all `zones` (or at the origin). A full zone
    keeps growing downwards rather than spilling into its neighbour.
    """
    if zone is not None:
        columns = max(1, int((zone.w - 2 * PAD + GAP) // (w + GAP)))
        left, top = zone.x + PAD, zone.y + header_height(zone)
    else:
        columns = FREE_COLUMNS
        left = max((z.x + z.w for z in zones), default=-FREE_MARGIN) + FREE_MARGIN
        top = min((z.y for z in zones), default=0.0)
    row, column = divmod(index, columns)
    return float(left + column * (w + GAP)), float(top + row * (h + GAP))


def header_height(zone: Zone) -> float:
    """Room kept at the top of a zone for its title (SPIRAL questions are long)."""
    chars_per_line = max(10, int(TITLE_CHARS * zone.w / 400))
    lines = max(1, math.ceil(len(zone.title) / chars_per_line))
    return 2 * PAD + lines * TITLE_LINE
