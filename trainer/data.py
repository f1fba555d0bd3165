"""The training manifest (CSV or JSONL: one clip per row) and the text prompt built from a row.

Columns: `pose` (a .pose path, or a handshape landmark `.npz` with `item` its row; relative paths
are relative to the manifest's folder), `text`, `spoken_language`, `sign_language`, and optional
`signer`, `split`, `item`, `weight` (how many times an epoch draws the clip; default 1), and the
clip's provenance: `source` (which set, which recording) and `license`.
Example (CSV):

    pose,text,spoken_language,sign_language,signer,split,item,weight
    ase/a.pose,A,en,ase,,train,,3
    /abs/asl_hg_subset.npz,A,en,ase,P1,train,0,1
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from signclip.runtime.atomic import atomic_write_bytes
from signclip.runtime.errors import SignclipError

REQUIRED = ("pose", "text", "spoken_language", "sign_language")
OPTIONAL = ("signer", "split", "item", "weight", "source", "license")
COLUMNS = REQUIRED + OPTIONAL
DEFAULT_TEMPLATE = "<{spoken}> <{signed}> {text}"  # the reference's prompt; ModelCfg.prompt_template
TEMPLATE_FIELDS = ("spoken", "signed", "text", "signer")


@dataclass(frozen=True)
class ManifestRow:
    """One training clip: an absolute pose path, its text and languages."""

    pose: Path
    text: str
    spoken_language: str
    sign_language: str
    signer: str | None = None
    split: str | None = None
    item: int | None = None      # the row of a handshape photo file; None for a .pose file
    weight: int = 1              # draws per epoch
    source: str | None = None    # provenance: the set and the recording, e.g. "islr 2044/185948800"
    license: str | None = None   # SPDX id of the clip's license, e.g. CC-BY-4.0

    def to_record(self) -> dict:
        record = asdict(self)
        record["pose"] = str(self.pose)
        return record


def prompt(row: ManifestRow, template: str = DEFAULT_TEMPLATE) -> str:
    """The text the text tower sees, e.g. `<en> <ase> house`."""
    try:
        return template.format(spoken=row.spoken_language, signed=row.sign_language, text=row.text,
                               signer=row.signer or "")
    except (KeyError, IndexError, ValueError) as e:
        raise SignclipError(f"prompt template {template!r} is invalid ({type(e).__name__}: {e}); "
                            f"valid fields: {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}") from None


def _records(path: Path) -> tuple:
    """(column names, list of (line number, dict)) from a CSV or JSONL file."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        columns = [c.strip() for c in reader.fieldnames or []]
        records = []
        for record in reader:
            if None in record:
                raise SignclipError(f"{path}:{reader.line_num}: more values than the "
                                    f"{len(columns)} columns of the header")
            records.append((reader.line_num, {k.strip(): (v or "").strip() for k, v in record.items()}))
        return columns, records
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        records, columns = [], {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise SignclipError(f"{path}:{number}: not valid JSON ({e.msg})") from None
            if not isinstance(record, dict):
                raise SignclipError(f"{path}:{number}: expected a JSON object per line")
            columns.update(dict.fromkeys(record))
            records.append((number, {k: "" if v is None else str(v).strip() for k, v in record.items()}))
        return list(columns), records
    raise SignclipError(f"{path}: unknown manifest format {path.suffix!r}; use .csv or .jsonl")


def read_manifest(path, *, check_files: bool = True) -> list:
    """The rows of a manifest; raises SignclipError naming the line for a missing column or file."""
    path = Path(path)
    if not path.is_file():
        raise SignclipError(f"{path}: no such manifest file")
    columns, records = _records(path)
    if not records:
        raise SignclipError(f"{path}: the manifest has no rows")
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise SignclipError(f"{path}: missing column(s) {', '.join(missing)}; found "
                            f"{', '.join(columns) or 'none'}; required: {', '.join(REQUIRED)}")
    rows = []
    for number, record in records:
        empty = [c for c in REQUIRED if not record.get(c)]
        if empty:
            raise SignclipError(f"{path}:{number}: empty value for {', '.join(empty)}")
        pose = Path(record["pose"]).expanduser()
        pose = pose if pose.is_absolute() else (path.parent / pose)
        if check_files and not pose.is_file():
            raise SignclipError(f"{path}:{number}: pose file {pose} does not exist")
        item = _integer(record.get("item"), None, f"{path}:{number}: item", least=0)
        weight = _integer(record.get("weight"), 1, f"{path}:{number}: weight", least=1)
        rows.append(ManifestRow(pose.resolve() if check_files else pose, record["text"],
                                record["spoken_language"], record["sign_language"],
                                record.get("signer") or None, record.get("split") or None, item, weight,
                                record.get("source") or None, record.get("license") or None))
    return rows


def _integer(value, default, where: str, least: int):
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise SignclipError(f"{where} {value!r} is not a whole number") from None
    if number < least:
        raise SignclipError(f"{where} {number} must be at least {least}")
    return number


def write_manifest(rows, path) -> None:
    """Write rows as CSV or JSONL (by suffix), atomically; pose paths are written as given."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.to_record().items()})
        data = buffer.getvalue()
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        data = "".join(json.dumps(row.to_record(), ensure_ascii=False) + "\n" for row in rows)
    else:
        raise SignclipError(f"{path}: unknown manifest format {path.suffix!r}; use .csv or .jsonl")
    atomic_write_bytes(path, data.encode("utf-8"))


def select_split(rows, split: str | None) -> list:
    """Rows of one split (None: all rows); rows without a split belong to 'train'."""
    if split is None:
        return list(rows)
    chosen = [r for r in rows if (r.split or "train") == split]
    if not chosen:
        found = sorted({r.split or "train" for r in rows})
        raise SignclipError(f"no rows in split {split!r}; the manifest has {', '.join(found)}")
    return chosen
