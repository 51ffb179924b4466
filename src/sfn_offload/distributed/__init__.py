"""Distributed Map interop: item files for ``ItemReader``, results from ``ResultWriter``.

An Inline Map caps fan-out at 40 concurrent iterations and counts its whole items array against
the payload limit. A Distributed Map reads its items from S3 and can write its results to S3:

- :func:`write_item_file` writes a list as an S3 object an ``ItemReader`` reads directly (a JSON
  array, or JSONL); elements too large for a child execution's input become pointers inside the
  file, which a decorated child hydrates;
- :func:`read_result_writer` reads a Map's ``ResultWriter`` output back as the list of its
  children's outputs (the decorator does this by itself when one appears in an event).

``ItemBatcher`` inputs (``{"Items": [...], "BatchInput": {...}}``) need nothing special: pointers
inside ``Items`` are hydrated element by element like anywhere else.
"""

from ..wire.references import is_result_writer_output
from .item_files import ItemFile, write_item_file
from .result_writer import MapRunResults, read_result_writer

__all__ = [
    "ItemFile",
    "MapRunResults",
    "is_result_writer_output",
    "read_result_writer",
    "write_item_file",
]
