"""How far a package part may deflate: the bomb check refuses beyond it (``safety.py``), and the writer never
writes a part past it (``zip_writer.py``), so the tool always reads back what it wrote."""

#: deflate can reach ~1000:1; real sheet XML compresses 5-30:1 (Apache POI refuses beyond 100:1)
MAX_RATIO = 200
RATIO_FLOOR = 1024**2  # parts smaller than this cannot hurt whatever their ratio


def too_packed(size: int, compressed: int) -> bool:
    """A part of ``size`` bytes stored in ``compressed`` bytes deflates further than a workbook's parts do."""
    return size > RATIO_FLOOR and size > MAX_RATIO * max(compressed, 1)
