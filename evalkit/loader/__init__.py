"""Suite files (`*.eval.yaml`) → validated `LoadedSuite`s, with `file:line` on every problem.

The loader is the only part of evalkit that reads suite YAML, through the one safe YAML reader
(`evalkit.yamlfile`, which the emulator's form files and profiles use too). Its modules:

- `reader`: suite files read with `evalkit.yamlfile`, its problems worded for suites;
- `expand`: the authoring syntax (`vars`, `include`, `matrix`) expanded into plain conversations;
- `messages`: validation errors turned into messages a user can act on;
- `files`: discovery, and loading all or nothing (suite names unique across files);
- `scope`: the suites root includes and `python:` checks stay under, and the project
  configuration that names it (`LoadOptions` widens it);
- `fields`: field names and select options checked against a known form;
- `schema`: the JSON Schema of the suite format, for editors;
- `writer`: suites written back as YAML (record mode, `evalkit init`, `evalkit expand`).
"""

from evalkit.loader.fields import KnownField, KnownForm
from evalkit.loader.files import (
    SUITE_SUFFIX,
    SuiteFile,
    Suites,
    discover,
    index_suites,
    load_suite,
    load_suites,
)
from evalkit.loader.reader import MAX_FILE_BYTES, MAX_NESTING
from evalkit.loader.schema import SCHEMA_FILE, suite_schema, suite_schema_text
from evalkit.loader.scope import LoadOptions, SuiteScope
from evalkit.loader.writer import dump_suite, schema_header

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "SCHEMA_FILE",
    "SUITE_SUFFIX",
    "KnownField",
    "KnownForm",
    "LoadOptions",
    "SuiteFile",
    "SuiteScope",
    "Suites",
    "discover",
    "dump_suite",
    "index_suites",
    "load_suite",
    "load_suites",
    "schema_header",
    "suite_schema",
    "suite_schema_text",
]
