"""Reading and validating an NPPES file (npidata_pfile_*.csv), with no Django in sight, so
that the importer can run it in a second process (a reader/validator feeding the writer;
services/importer.py) as well as in its own.

`read_batches` streams the file from a byte offset and yields one `Batch` per `batch_rows`
records read: the kept providers as tuples in COLUMNS order (upsert-ready), the NPIs to
flag deactivated, the malformed rows as [line, column, message], the counters, and the
byte offset and physical line just after its last record (the checkpoint).

Speed (~7.7 CPU µs a row, measured under load): the NPPES file quotes every value, so a
record without embedded quotes or newlines (nearly all) is split with str.split('","', n)
up to the last column needed, and its quotes and separators are counted to prove that is
exact (the quotes over the whole line; the separators only in the piece left after the
split, which completes the count). A record whose taxonomy slots 2-15 are empty (most)
is split only up to slot 2 and the rest checked with one startswith. Anything else goes
through csv.reader (embedded quotes, commas, newlines). Site keys are reused per address.
The loop is one function with locals only: no per-row function call, dict or object
besides the kept tuple. read_blocks lets several reader processes share one file.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path

from .nppes_layout import FIELDS, OPTIONAL, TAXONOMY_SLOTS

TAXONOMY_RE = re.compile(r"[0-9]{3}[0-9A-Z]{6}X")
# One match for all of a row's codes joined by spaces (the per-code check names the bad one).
TAXONOMIES_RE = re.compile(r"[0-9]{3}[0-9A-Z]{6}X(?: [0-9]{3}[0-9A-Z]{6}X)*")
# Luhn over digit pairs: the first of each pair (even position) is doubled.
_PAIRS = {f"{a}{b}": (2 * a if a < 5 else 2 * a - 9) + b for a in range(10) for b in range(10)}
_NO_CENTRE = (None, None)
COLUMNS = ("npi", "entity_type", "name", "credential", "address_line", "city", "state",
           "zip5", "phone", "primary_taxonomy", "other_taxonomies", "latitude", "longitude",
           "site_key", "org_size", "deactivated")


class ImportRefused(Exception):
    """The file cannot be imported as asked (message says why); nothing was written."""


def npi_ok(npi: str) -> bool:
    """10 digits with a Luhn check digit over the prefix 80840 (worth 24)."""
    if len(npi) != 10:
        return False
    p = _PAIRS
    try:
        total = 24 + p[npi[:2]] + p[npi[2:4]] + p[npi[4:6]] + p[npi[6:8]] + p[npi[8:]]
    except KeyError:  # not ASCII digits
        return False
    return total % 10 == 0


def site_key(zip5: str, address: str) -> str:
    """Who shares a practice site: the ZIP and the address, upper case, punctuation out."""
    if not address:
        return ""
    return (zip5 + " " + " ".join(address.upper().replace(".", "").replace(",", "")
                                  .replace("#", "").split()))[:140]


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:  # the real file has Latin-1 bytes here and there
        return raw.decode("latin-1")


@dataclass
class Layout:
    columns: int
    index: dict[str, int]
    last_needed: int
    getter: Callable
    taxonomy_getter: Callable
    switch_getter: Callable
    reactivation: int | None

    def short_split(self) -> tuple[int, str]:
        """(n, tail) for records whose taxonomy slots 2-15 are empty: split n times, the
        last piece starts with `tail` when those slots are empty. (0, "") when the columns
        are not in that order (slot 1 first, then slots 2-15 after every other column)."""
        slot_1 = [self.index["taxonomy_1"], self.index["primary_1"]]
        later = [i for key, i in self.index.items()
                 if key.startswith(("taxonomy_", "primary_")) and i not in slot_1]
        first_later = min(later)
        others = [i for i in self.index.values() if i not in later]
        if max(others) >= first_later:
            return 0, ""
        return first_later, '","' * (self.last_needed + 1 - first_later)

    @classmethod
    def from_header(cls, header: list[str]) -> Layout:
        names = [h.strip().lstrip("\ufeff") for h in header]
        position: dict[str, int] = {}
        for i, name in enumerate(names):
            position.setdefault(name.lower(), i)
        index, missing = {}, []
        for key, name in FIELDS.items():
            if name.lower() in position:
                index[key] = position[name.lower()]
            elif key not in OPTIONAL:
                missing.append(name)
        if missing:
            shown = ", ".join(f'"{m}"' for m in missing[:6])
            more = f" and {len(missing) - 6} more" if len(missing) > 6 else ""
            raise ImportRefused(
                f"This is not an NPPES file in the npidata_pfile layout: the header has no "
                f"{shown}{more} column{'s' if len(missing) > 1 else ''}. Nothing was imported.")
        base = ["npi", "entity_type", "organization_name", "last_name", "first_name",
                "credential", "address_line", "city", "state", "postal_code", "phone",
                "deactivation_date"]
        slots = range(1, TAXONOMY_SLOTS + 1)
        return cls(
            columns=len(names), index=index, last_needed=max(index.values()),
            getter=itemgetter(*[index[k] for k in base]),
            taxonomy_getter=itemgetter(*[index[f"taxonomy_{n}"] for n in slots]),
            switch_getter=itemgetter(*[index[f"primary_{n}"] for n in slots]),
            reactivation=index.get("reactivation_date"),
        )


def read_header(path: Path) -> tuple[Layout, int]:
    """The layout from the header, and the header's size in bytes."""
    with path.open("rb") as fh:
        raw = fh.readline()
    if not raw.strip():
        raise ImportRefused(f"{path.name} is empty.")
    header = next(csv.reader([decode(raw)]))
    return Layout.from_header(header), len(raw)


@dataclass
class Batch:
    providers: dict[int, tuple] = field(default_factory=dict)  # npi -> row (last one wins)
    rows: list[tuple] = field(default_factory=list)  # providers' rows, once it is complete
    deactivated: list[int] = field(default_factory=list)
    errors: list[list] = field(default_factory=list)
    read: int = 0
    kept: int = 0  # rows kept (a repeated NPI counts each time; the last one is written)
    offset: int = 0  # byte offset and physical line just after the batch's last record
    line: int = 0

    @property
    def error_count(self) -> int:
        return len(self.errors)


def _date(text: str) -> datetime | None:
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    return None


def _deactivated(deactivated_on: str, reactivated_on: str) -> bool:
    """Deactivated and not reactivated since."""
    return not reactivated_on or (_date(reactivated_on) or datetime.min) < (
        _date(deactivated_on) or datetime.min)


def read_batches(path: Path | str, *, offset: int, line: int, layout: Layout,
                 states: frozenset[str], centroids: dict[str, tuple[float, float]],
                 batch_rows: int, end: int | None = None) -> Iterator[Batch]:
    """Batches of `batch_rows` records read from byte `offset` (physical `line` before it;
    the header is line 1), the last one possibly shorter (or empty). With `end` (a record
    start, see block_cut), reading stops there: a record left open by an unclosed quote
    ends at `end` as an unreadable record instead of running on."""
    stop = end if end is not None else 1 << 62
    columns = layout.columns
    quotes, separators = 2 * columns, columns - 1
    split_at = layout.last_needed + 1
    last_is_needed = split_at >= separators
    getter, taxonomy_getter = layout.getter, layout.taxonomy_getter
    switch_getter, reactivation = layout.switch_getter, layout.reactivation
    taxonomies_match, taxonomy_match = TAXONOMIES_RE.fullmatch, TAXONOMY_RE.fullmatch
    pairs, no_centre, centre_of = _PAIRS, _NO_CENTRE, centroids.get
    f_npi, f_last, f_org = FIELDS["npi"], FIELDS["last_name"], FIELDS["organization_name"]
    f_entity, f_postal = FIELDS["entity_type"], FIELDS["postal_code"]
    f_taxonomy_1 = FIELDS["taxonomy_1"]
    # Most records have one taxonomy: their slots 2-15 (56 columns) are empty. Those are
    # split only up to the first slot's last column, and the rest is checked to begin with
    # the separators of the empty slots (one comparison instead of 56 more fields).
    short_at, empty_slots = layout.short_split()
    if last_is_needed:
        short_at = 0
    taxonomy_1 = layout.index["taxonomy_1"]
    first_split = short_at or split_at
    site_keys: dict[str, str] = {}  # zip5 + address -> site key (sites repeat)

    with open(path, "rb", buffering=1 << 20) as fh:
        fh.seek(offset)
        source = iter(fh)
        batch = Batch()
        providers, deactivated, errors = batch.providers, batch.deactivated, batch.errors
        read = kept = 0
        for raw in source:
            if offset >= stop:
                break
            offset += len(raw)
            line += 1
            at = line
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
            row = None
            if text.count('"') == quotes and text[0] == '"':
                # Split up to the last column needed (or, first, up to taxonomy slot 2);
                # the separators left in the last piece complete the count that proves
                # the split exact (no separator inside a value, one record per line).
                row = text.split('","', first_split)
                if len(row) - 1 + row[-1].count('","') != separators:
                    row = None
                else:
                    single = short_at and row[-1].startswith(empty_slots)
                    if not single:
                        if short_at:
                            row[-1:] = row[-1].split('","', split_at - short_at)
                        if last_is_needed:
                            row[-1] = row[-1].rstrip("\r\n")[:-1]
                    row[0] = row[0][1:]
                    found = columns
            if row is None and not text.strip():
                continue
            if row is None:  # embedded quotes, commas or line breaks: the csv module
                single = False
                sizes: list[int] = []

                def more(sizes=sizes, room=stop - offset) -> Iterator[str]:
                    for extra in source:
                        if room <= 0:  # the block's end: the main loop stops there too
                            return
                        room -= len(extra)
                        sizes.append(len(extra))
                        yield decode(extra)

                try:
                    row = next(csv.reader(itertools.chain([text], more())))
                    found = len(row)
                    if found != columns:
                        row = None
                except (csv.Error, StopIteration):
                    row, found = None, 0
                offset += sum(sizes)
                line += len(sizes)
            read += 1
            if row is None:
                what = f"{found} columns" if found else "an unreadable record (unclosed quote?)"
                errors.append([at, "row", f"has {what}; the header has {columns}"])
            else:
                (npi, entity, org, last, first, credential, address, city, state, postal,
                 phone, deactivated_on) = getter(row)
                npi = npi.strip()
                state = state.strip().upper()
                valid_npi = len(npi) == 10
                if valid_npi:
                    try:
                        valid_npi = (24 + pairs[npi[:2]] + pairs[npi[2:4]] + pairs[npi[4:6]]
                                     + pairs[npi[6:8]] + pairs[npi[8:]]) % 10 == 0
                    except KeyError:
                        valid_npi = False
                if deactivated_on and _deactivated(
                        deactivated_on, row[reactivation] if reactivation is not None else ""):
                    if valid_npi:
                        deactivated.append(int(npi))
                elif states and state not in states:
                    pass
                elif not valid_npi:
                    errors.append([at, f_npi, f"{npi[:20]!r} is not a valid NPI (check digit)"])
                elif entity != "1" and entity != "2":
                    errors.append([at, f_entity, f"{entity[:10]!r} is not 1 or 2"])
                elif entity == "1" and not (last := last.strip()):
                    errors.append([at, f_last, "is empty"])
                elif entity == "2" and not (org := org.strip()):
                    errors.append([at, f_org, "is empty"])
                else:
                    zip5 = postal.strip()[:5]
                    if single:
                        joined = row[taxonomy_1]
                        codes = (joined,)
                        taxonomies = [joined] if joined else []
                    else:
                        codes = taxonomy_getter(row)
                        taxonomies = [c for c in codes if c]
                        joined = " ".join(taxonomies)
                    if len(zip5) != 5 or not zip5.isdigit() or not zip5.isascii():
                        errors.append([at, f_postal, f"{postal[:20]!r} is not a ZIP code"])
                    elif not taxonomies:
                        errors.append([at, f_taxonomy_1, "no taxonomy code"])
                    elif not taxonomies_match(joined):
                        code = next(c for c in taxonomies if not taxonomy_match(c))
                        errors.append([at, FIELDS[f"taxonomy_{codes.index(code) + 1}"],
                                       f"{code[:20]!r} is not a NUCC code like 207X00000X"])
                    else:
                        if entity == "1":
                            first, credential = first.strip(), credential.strip()
                            name = f"{first} {last}".strip() + (
                                f", {credential}" if credential else "")
                        else:
                            name = org
                        if len(taxonomies) == 1:
                            primary, others = joined, ""
                        else:
                            switches = switch_getter(row)
                            primary = (codes[switches.index("Y")] if "Y" in switches
                                       else "") or taxonomies[0]
                            others = " ".join(c for c in taxonomies if c != primary)
                        address = address.strip()
                        lat, lng = centre_of(zip5, no_centre)
                        if not address:
                            key = ""
                        elif (key := site_keys.get(where := zip5 + address)) is None:
                            key = site_keys[where] = (zip5 + " " + " ".join(
                                address.upper().replace(".", "").replace(",", "")
                                .replace("#", "").split()))[:140]
                        number = int(npi)
                        kept += 1
                        providers[number] = (
                            number, int(entity), name[:200], credential[:40], address[:120],
                            city.strip()[:60], state[:2], zip5, phone.strip()[:20], primary,
                            others[:180], lat, lng, key, 1, False)
            if read >= batch_rows:
                batch.read, batch.kept, batch.offset, batch.line = read, kept, offset, line
                batch.rows = list(providers.values())
                yield batch
                if len(site_keys) > 100_000:
                    site_keys.clear()
                batch = Batch()
                providers, deactivated, errors = batch.providers, batch.deactivated, batch.errors
                read = kept = 0
        batch.read, batch.kept, batch.offset, batch.line = read, kept, offset, line
        batch.rows = list(providers.values())
        yield batch


RECORD_START = re.compile(rb'\n"[0-9]')


def block_cut(fh, at: int, *, start: int, size: int) -> int:
    """The first record start at or after byte `at` (`start` and `size` bound it): just
    after a line break that is followed by a quote and a digit. NPPES quotes every value,
    so inside a quoted value a line break can only be followed by a doubled quote or
    other text, never by a lone quote and a digit: such a position begins a record."""
    if at <= start:
        return start
    if at >= size:
        return size
    fh.seek(at - 1)
    position = at - 1
    tail = b""
    while chunk := fh.read(1 << 16):
        data = tail + chunk
        found = RECORD_START.search(data)
        if found:
            return position - len(tail) + found.start() + 1
        tail = data[-2:]
        position += len(chunk)
    return size


def read_blocks(path: Path | str, *, offset: int, index: int, workers: int,
                block_bytes: int, **options) -> Iterator[tuple[int, Batch]]:
    """(block number, batch) for blocks index, index + workers, ... of the file from byte
    `offset` on, each block cut at record starts (block_cut) every `block_bytes`, so that
    `workers` readers share the file without reading a record twice. Each block's batches
    count lines from 0 at the block's start (the writer, which takes the blocks in order,
    adds the line before it); its last batch may be short or empty and ends the block."""
    size = Path(path).stat().st_size
    with open(path, "rb") as fh:
        block = index
        while (first := block_cut(fh, offset + block * block_bytes, start=offset,
                                  size=size)) < size or block == 0:
            end = block_cut(fh, offset + (block + 1) * block_bytes, start=offset, size=size)
            for batch in read_batches(path, offset=first, line=0, end=end, **options):
                yield block, batch
            block += workers


def _to_wire(batch: Batch, block: int = 0) -> tuple:
    return (batch.rows, batch.deactivated, batch.errors, batch.read, batch.kept,
            batch.offset, batch.line, block)


def from_wire(item: tuple) -> tuple[int, Batch]:
    rows, deactivated, errors, read, kept, offset, line, block = item
    return block, Batch(rows=rows, deactivated=deactivated, errors=errors, read=read,
                        kept=kept, offset=offset, line=line)


def reader_main() -> None:
    """A reader/validator process (`python -m refnet.registry.nppes_parse`, see
    refnet.pipe): reads the options (path, offset, index, workers, block_bytes, states,
    centroids, batch_rows) and writes each batch of its blocks (read_blocks) as a plain
    tuple."""
    from refnet.pipe import child_options, child_serve

    options = child_options()
    path = options.pop("path")

    def produce():
        options["layout"] = read_header(Path(path))[0]
        for block, batch in read_blocks(path, **options):
            yield _to_wire(batch, block)

    child_serve(produce)


if __name__ == "__main__":
    reader_main()
