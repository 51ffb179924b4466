"""The wire: the JSON that travels through Step Functions in place of payloads.

- :mod:`~sfn_offload.wire.pointer`: the versioned pointer (v1) and its strict parser;
- :mod:`~sfn_offload.wire.references`: every reference shape an event may carry (value
  pointer, list pointer, element reference, py2sfn Map event and put results, Distributed Map
  ResultWriter output), recognised in one place;
- :mod:`~sfn_offload.wire.maps` and :mod:`~sfn_offload.wire.py2sfn`: the Map-run and
  py2sfn-task-tools shapes it recognises;
- :mod:`~sfn_offload.wire.codec`: payload bytes (compact UTF-8 JSON, gzip, digests), written by
  :mod:`~sfn_offload.wire.writer` as the Lambda runtime writes JSON;
- :mod:`~sfn_offload.wire.paths`: JSON paths into documents and copy-on-write assignment.
"""

from .pointer import MARKER, VERSION, Pointer, is_pointer

__all__ = ["MARKER", "VERSION", "Pointer", "is_pointer"]
