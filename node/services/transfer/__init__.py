"""Import and export of a node's content: the use cases behind ``kennisknoop import`` and ``export``.

- ``rows.py``: an import file (JSON, or CSV through ``csvrows.py``) read into rows, not validated;
- ``importing.py``: every row validated by the input models (``node.services.inputs``) and
  cross-checked, then created (all or nothing, safe to repeat), items in batches
  (``node.services.bulk``);
- ``exporting.py``: everything this node owns, as served and signed, verifiable offline;
- ``hsds.py``: the care initiatives as Open Referral HSDS records (``export --format hsds``);
- ``directory.py``: initiatives row by row from an inventory CSV with a mapping file, or from
  Murmurations (a profile or an index query), or an HSDS export; refused rows are reported,
  valid rows import.
"""

from __future__ import annotations

from node.services.transfer.csvrows import load_csv
from node.services.transfer.directory import (
    DirectoryReport,
    DirectoryRow,
    Mapping,
    MurmurationsSource,
    Refusal,
    import_rows,
    load_hsds,
    load_inventory,
    load_mapping,
    murmurations_rows,
    read_murmurations,
    slugify,
)
from node.services.transfer.exporting import EXPORT_FORMAT, EXPORT_VERSION, export_node
from node.services.transfer.hsds import export_hsds
from node.services.transfer.importing import (
    ImportPlan,
    ImportReport,
    ImportRowsError,
    RowError,
    apply_plan,
    check_batch,
    import_batch,
    import_file,
    load_file,
)
from node.services.transfer.rows import FileFormatError, ImportBatch, Row, load_json_document

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "DirectoryReport",
    "DirectoryRow",
    "FileFormatError",
    "ImportBatch",
    "ImportPlan",
    "ImportReport",
    "ImportRowsError",
    "Mapping",
    "MurmurationsSource",
    "Refusal",
    "Row",
    "RowError",
    "apply_plan",
    "check_batch",
    "export_hsds",
    "export_node",
    "import_batch",
    "import_file",
    "import_rows",
    "load_csv",
    "load_file",
    "load_hsds",
    "load_inventory",
    "load_json_document",
    "load_mapping",
    "murmurations_rows",
    "read_murmurations",
    "slugify",
]
