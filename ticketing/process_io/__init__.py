"""Import and export of a whole process: ticket types, tracking template, mail templates.

The file format is YAML (JSON is valid YAML too):

    format: mesa-process/1
    tracking_template: [{label, label_en}, ...]   # or plain labels
    ticket_types: [definition, ...]      # see definitions.definition_of
    notification_templates: [{event, type_slug, locale, subject, text, html}, ...]

Every level of the document has a fixed set of keys (`schema.DOCUMENT`): an unknown key,
such as the half of a text cut at an unquoted comma, is refused with its location.
Import is idempotent and all-or-nothing: every mistake is reported with its location
and nothing is written unless the whole file is valid. English texts a file leaves out
(`description_en`, `help_text_en`, `choices_en`, a tracking item's `label_en`) keep
what is there, so a designer that does not edit them does not erase them.

Where each part lives:
    schema         the keys and value kinds of every level, checked with locations
    import_export  parse, validate, import (all-or-nothing) and export
"""

from ticketing.process_io.import_export import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_NODES,
    ImportErrors,
    dump_yaml,
    export_process,
    import_process,
    import_type,
    parse,
    validate_process,
)
from ticketing.process_io.schema import (
    DOCUMENT,
    FORMAT,
    TEMPLATE_KEYS,
    TEXT,
    TICKET_TYPE,
    AnyOf,
    Free,
    Keys,
    ListOf,
    Scalar,
    TextMap,
    check_schema,
    schema_errors,
)

__all__ = [
    "DOCUMENT",
    "FORMAT",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_NODES",
    "TEMPLATE_KEYS",
    "TEXT",
    "TICKET_TYPE",
    "AnyOf",
    "Free",
    "ImportErrors",
    "Keys",
    "ListOf",
    "Scalar",
    "TextMap",
    "check_schema",
    "dump_yaml",
    "export_process",
    "import_process",
    "import_type",
    "parse",
    "schema_errors",
    "validate_process",
]
