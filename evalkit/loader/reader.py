"""Suite files read with evalkit's one safe YAML reader (`evalkit.yamlfile`), in a suite's words.

The reader itself (one parse, line numbers, duplicate keys, aliases and anchors, size and nesting
caps) is `evalkit.yamlfile`; this module names what it reads a suite file, so that every message
says so ("a suite file holds one YAML document", "suite files may be at most 2 MiB").
"""

from __future__ import annotations

from evalkit import yamlfile
from evalkit.yamlfile import MAX_FILE_BYTES, MAX_NESTING, Document, FileKind, Loc, Source, quote

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "SUITE_FILE",
    "Document",
    "Loc",
    "Source",
    "parse_bytes",
    "quote",
    "read_file",
]

SUITE_FILE = FileKind(
    name="suite file",
    plural="suites",
    keys="`suite`, `form` and `conversations`",
    refuse_anchors=True,
)
"""Suite files (and the files they include): anchors are refused as well as aliases."""


def read_file(path: str) -> Document:
    """Read one suite file (or a file it includes); see `evalkit.yamlfile.read_file`."""
    return yamlfile.read_file(path, SUITE_FILE)


def parse_bytes(path: str, data: bytes) -> Document:
    """Read the bytes of one suite file; see `evalkit.yamlfile.parse_bytes`."""
    return yamlfile.parse_bytes(path, data, SUITE_FILE)
