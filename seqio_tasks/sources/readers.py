"""File readers that yield (path, line number, raw record); a bad row becomes a BadRecord, not a crash.

Readers never drop a row: a row they cannot split becomes `BadRecord(reason)`, which
`Source.load` turns into a MalformedRowError (or a counted skip). A file whose whole
shape is wrong (header, parallel files of different lengths) raises MalformedFileError.
"""
from __future__ import annotations

import bz2
import csv
import dataclasses
import io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

from seqio_tasks.sources.errors import MalformedFileError

RawRecord = tuple[Path, int, Any]


@dataclasses.dataclass(frozen=True)
class BadRecord:
    """A raw row the reader could not split; `reason` says why."""

    reason: str


def text_lines(path: Path, encoding: str = "utf-8-sig") -> Iterator[tuple[int, str]]:
    """Yields (1-based line number, line without its \\n or \\r\\n); splits only on \\n.

    Only \\n ends a line: a latin-1 file's byte 0x85 (NEL) or a stray \\r stays inside its line.
    """
    opener = bz2.open if path.suffix == ".bz2" else open
    with opener(path, "rt", encoding=encoding, newline="\n") as handle:
        for number, line in enumerate(handle, start=1):
            yield number, line.rstrip("\n").removesuffix("\r")


def tsv(columns: Sequence[str] | None = None, header: bool = True, num_columns: int | None = None,
        skip_blank: bool = True) -> Callable[[Sequence[Path]], Iterable[RawRecord]]:
    """A reader of tab-separated files (no quoting): rows as dicts by `columns` (or the header), or lists.

    With `header=True` the first line must equal `columns` (when given); rows must have
    exactly as many fields as the header (or `num_columns`).
    """

    def read(paths: Sequence[Path]) -> Iterator[RawRecord]:
        for path in paths:
            names: list[str] | None = list(columns) if columns is not None and not header else None
            width = num_columns
            for number, line in text_lines(path):
                if number == 1 and header:
                    found = line.split("\t")
                    if columns is not None and [c.strip() for c in found] != list(columns):
                        raise MalformedFileError(path, f"expected header {list(columns)}, found {found}")
                    names = [c.strip() for c in found]
                    width = len(names)
                    continue
                if skip_blank and not line.strip():
                    continue
                fields = line.split("\t")
                expected = width if width is not None else (len(names) if names else None)
                if expected is not None and len(fields) != expected:
                    yield path, number, BadRecord(f"expected {expected} columns, got {len(fields)}")
                    continue
                yield path, number, dict(zip(names, fields)) if names else fields
    return read


def csv_rows(columns: Sequence[str] | None = None, delimiter: str = ",",
             strict_width: bool = True, header: bool = True) -> Callable[[Sequence[Path]], Iterable[RawRecord]]:
    """A reader of quoted CSV files with a header that holds `columns` (any order): rows as dicts.

    A row's line is the line where it starts (quoted fields may span lines). With
    `strict_width` a row must have exactly as many fields as the header. With
    `header=False` the file has no header row and `columns` names its fields in order.
    """
    if not header and not columns:
        raise ValueError("csv_rows(header=False) needs the column names")

    def read(paths: Sequence[Path]) -> Iterator[RawRecord]:
        for path in paths:
            with open(path, encoding="utf-8-sig", newline="") as handle:
                reader = csv.reader(handle, delimiter=delimiter)
                if header:
                    names = _csv_header(path, reader, columns)
                else:
                    names = list(columns or ())
                start = reader.line_num + 1
                while True:
                    try:
                        fields = next(reader)
                    except StopIteration:
                        break
                    except csv.Error as err:
                        yield path, start, BadRecord(f"CSV error: {err}")
                        start = reader.line_num + 1
                        continue
                    line, start = start, reader.line_num + 1
                    if not fields or fields == [""] * len(fields):
                        continue
                    if len(fields) != len(names) and (strict_width or len(fields) < len(names)):
                        yield path, line, BadRecord(f"expected {len(names)} columns, got {len(fields)}")
                        continue
                    yield path, line, dict(zip(names, fields))
    return read


def _csv_header(path: Path, reader: Any, columns: Sequence[str] | None) -> list[str]:
    try:
        found = next(reader)
    except StopIteration:
        raise MalformedFileError(path, "empty file, expected a header row") from None
    except csv.Error as err:
        raise MalformedFileError(path, f"unreadable header: {err}") from None
    names = [h.strip() for h in found]
    missing = [c for c in columns or () if c not in names]
    if missing:
        raise MalformedFileError(path, f"header lacks columns {missing} (found {found})")
    return names


def json_object(line: str, where: str = "") -> dict | BadRecord:
    """One line's JSON object, or a BadRecord saying why it is not one (prefixed by `where`)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return BadRecord(f"{where}invalid JSON: {err.msg} (column {err.colno})")
    if not isinstance(record, dict):
        return BadRecord(f"{where}expected a JSON object, got {type(record).__name__}")
    return record


def jsonl(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads JSON Lines: one JSON object per non-blank line."""
    for path in paths:
        for number, line in text_lines(path):
            if not line.strip():
                continue
            yield path, number, json_object(line)


def json_document(path: Path) -> Any:
    """Loads one whole JSON file; a parse error names the file and line."""
    with open(path, encoding="utf-8-sig") as handle:
        try:
            return json.load(handle)
        except json.JSONDecodeError as err:
            raise MalformedFileError(path, f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None


def parallel_lines(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Zips line-aligned files (one sentence per line); files of different lengths are an error."""
    contents = [list(text_lines(path)) for path in paths]
    for path, lines in zip(paths, contents):
        if lines and lines[-1][1] == "":
            lines.pop()  # a trailing newline at the end of the file
        if len(lines) != len(contents[0]):
            raise MalformedFileError(path, f"has {len(lines)} lines but {paths[0]} has {len(contents[0])}; "
                                           "parallel files must be line-aligned")
    for rows in zip(*contents):
        yield paths[0], rows[0][0], [text for _, text in rows]


def json_array(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads files holding one JSON array of objects; each record's line is where it starts."""
    for path, line, record in json_array_values(paths):
        yield path, line, record if isinstance(record, dict) else BadRecord(
            f"expected a JSON object, got {type(record).__name__}")


def json_array_values(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads files holding one JSON array: each item (of any JSON type) with the line where it starts."""
    decoder = json.JSONDecoder()
    for path in paths:
        with open(path, encoding="utf-8-sig") as handle:
            content = handle.read()
        position = _skip_space(content, 0)
        if position >= len(content) or content[position] != "[":
            raise MalformedFileError(path, "expected a JSON array of records")
        position, line, counted = position + 1, 1, 0
        while True:
            position = _skip_space(content, position)
            if position < len(content) and content[position] == "]":
                break
            line += content.count("\n", counted, position)
            counted = position
            try:
                record, position = decoder.raw_decode(content, position)
            except json.JSONDecodeError as err:
                raise MalformedFileError(path, f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
            yield path, line, record
            position = _skip_space(content, position)
            if position < len(content) and content[position] == ",":
                position += 1
            elif position >= len(content) or content[position] != "]":
                raise MalformedFileError(path, f"expected ',' or ']' at line {content.count(chr(10), 0, position) + 1}")


def _skip_space(content: str, position: int) -> int:
    while position < len(content) and content[position] in " \t\r\n":
        position += 1
    return position


def squad_questions(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads SQuAD-format JSON ({data: [{paragraphs: [{context, qas}]}]}): one record per question.

    A record is {context, title, qa}; its line is where the question's id appears in the file.
    """
    for path in paths:
        with open(path, encoding="utf-8-sig") as handle:
            content = handle.read()
        try:
            document = json.loads(content)
        except json.JSONDecodeError as err:
            raise MalformedFileError(path, f"invalid JSON at line {err.lineno} column {err.colno}: {err.msg}") from None
        if not isinstance(document, dict) or not isinstance(document.get("data"), list):
            raise MalformedFileError(path, "expected a SQuAD-format object with a 'data' list")
        offset, line = 0, 1
        for article in document["data"]:
            for paragraph in article.get("paragraphs", []):
                for qa in paragraph.get("qas", []):
                    found = content.find(json.dumps(str(qa.get("id", "")), ensure_ascii=False), offset)
                    if found >= 0:  # ids written with escapes are not found: keep the last known line
                        line += content.count("\n", offset, found)
                        offset = found
                    yield path, line, {"context": paragraph.get("context"), "title": article.get("title", ""), "qa": qa}


def numbered_json_files(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads one JSON object per file (line 1 of each file)."""
    for path in paths:
        record = json_document(path)
        yield path, 1, record if isinstance(record, dict) else BadRecord("expected a JSON object")


def hellaswag_text(paths: Sequence[Path]) -> Iterator[RawRecord]:
    """Reads the 6-lines-per-item HellaSwag text layout: 'activity: ctx', label, then 4 endings."""
    for path in paths:
        lines = list(text_lines(path))
        if lines and lines[-1][1] == "":
            lines.pop()
        if len(lines) % 6:
            raise MalformedFileError(path, f"has {len(lines)} lines, not a multiple of 6 (6 lines per item)")
        for start in range(0, len(lines), 6):
            block = [text for _, text in lines[start:start + 6]]
            yield path, lines[start][0], block


def labelled_lines(label_suffix: str = "-labels.lst") -> Callable[[Sequence[Path]], Iterable[RawRecord]]:
    """Reads (data.jsonl, labels.lst) file pairs: each JSON line gets its label line as '_label'."""

    def read(paths: Sequence[Path]) -> Iterator[RawRecord]:
        if len(paths) % 2:
            raise ValueError("labelled_lines needs (data, labels) file pairs")
        for data_path, label_path in zip(paths[0::2], paths[1::2]):
            records = list(jsonl([data_path]))
            labels = [(n, t) for n, t in text_lines(label_path) if t.strip()]
            if len(labels) != len(records):
                raise MalformedFileError(label_path, f"has {len(labels)} labels but {data_path} has "
                                                     f"{len(records)} records; they must be line-aligned")
            for (path, number, record), (_, label) in zip(records, labels):
                if isinstance(record, dict):
                    record = {**record, "_label": label.strip()}
                yield path, number, record
    return read


def zip_member_lines(path: Path, member: str, encoding: str = "utf-8-sig") -> list[tuple[int, str]]:
    """The (line number, line) pairs of one member of a zip archive; a missing member names both."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read(member)
    except KeyError:
        raise MalformedFileError(path, f"the archive has no member {member!r}") from None
    except zipfile.BadZipFile as err:
        raise MalformedFileError(path, f"not a zip archive: {err}") from None
    text = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="\n")
    return [(number, line.rstrip("\n").removesuffix("\r")) for number, line in enumerate(text, start=1)]


def zip_labelled_jsonl(data_member: str, labels_member: str) -> Callable[[Sequence[Path]], Iterable[RawRecord]]:
    """Reads a (jsonl, labels.lst) member pair of each zip archive: each JSON line gets its label as '_label'.

    Records are reported at the archive path and the JSON line's number.
    """

    def read(paths: Sequence[Path]) -> Iterator[RawRecord]:
        for path in paths:
            lines = [(n, t) for n, t in zip_member_lines(path, data_member) if t.strip()]
            labels = [t.strip() for _, t in zip_member_lines(path, labels_member) if t.strip()]
            if len(labels) != len(lines):
                raise MalformedFileError(path, f"{labels_member} has {len(labels)} labels but {data_member} has "
                                               f"{len(lines)} records; they must be line-aligned")
            for (number, line), label in zip(lines, labels):
                record = json_object(line, f"{data_member}: ")
                yield path, number, record if isinstance(record, BadRecord) else {**record, "_label": label}
    return read
