"""Distributed Map interop: item files for ``ItemReader``, results from ``ResultWriter``."""

from .results import (
    ItemFile,
    MapRunResults,
    is_result_writer_output,
    read_result_writer,
    write_item_file,
)

__all__ = [
    "ItemFile",
    "MapRunResults",
    "is_result_writer_output",
    "read_result_writer",
    "write_item_file",
]
