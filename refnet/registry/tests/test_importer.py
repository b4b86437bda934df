"""The NPPES importer on generated files with the real 330-column header."""

import csv
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from refnet.practice.models import ZipCentroid
from refnet.registry.models import ImportStatus, RegistryImport, RegistryProvider
from refnet.registry.nppes_layout import HEADER
from refnet.registry.services.importer import ImportRefused, npi_ok, nppes_import
from refnet.registry.synthetic import COL, deactivated_row, npi, write_nppes

from .conftest import org, person

pytestmark = pytest.mark.django_db


def _line(row) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerow(row)
    return out.getvalue()


def test_the_layout_is_the_real_330_columns():
    assert len(HEADER) == 330 == len(set(HEADER))
    assert HEADER[:3] == ["NPI", "Entity Type Code", "Replacement NPI"]
    assert HEADER[47] == "Healthcare Provider Taxonomy Code_1"
    assert HEADER[50] == "Healthcare Provider Primary Taxonomy Switch_1"
    assert "Parent Organization LBN" in HEADER and HEADER[-1] == "Certification Date"


def test_npi_check_digit():
    assert npi_ok("1234567893")  # CMS's published example
    assert not npi_ok("1234567890")
    assert not npi_ok("123456789") and not npi_ok("12345678ab")


def test_good_rows_are_kept_with_their_zip_centre_and_taxonomies(nppes_file):
    ZipCentroid.objects.create(zip_code="80206", latitude="39.726600", longitude="-104.952600")
    path = nppes_file([
        person("100000001", taxonomies=("225100000X", "2251S0007X")),
        org("100000002"),
        person("100000003", first="BO", last="CHEN", credential="MD",
               taxonomies=("207X00000X",), zip_code="802091234", address="9 ELM ST"),
    ])
    record = nppes_import(path=path)
    assert record.status == ImportStatus.DONE
    assert (record.rows_read, record.rows_kept, record.error_count) == (3, 3, 0)
    ana = RegistryProvider.objects.get(pk=int(npi("100000001")))
    assert ana.name == "ANA RIVERA, PT" and ana.entity_type == 1
    assert ana.primary_taxonomy == "225100000X" and ana.other_taxonomies == "2251S0007X"
    assert (ana.latitude, ana.longitude) == (39.7266, -104.9526)
    assert ana.org_size == 1  # alone at 100 Main St (the organization is not a clinician)
    bo = RegistryProvider.objects.get(pk=int(npi("100000003")))
    assert bo.zip5 == "80209" and bo.latitude is None  # no centroid for that ZIP
    assert RegistryProvider.objects.get(pk=int(npi("100000002"))).name == "MAIN STREET PT LLC"


def test_malformed_rows_are_listed_by_line_and_field_and_never_half_written(nppes_file):
    bad_npi = person("100000011")
    bad_npi[COL["NPI"]] = "1000000110" if not npi_ok("1000000110") else "1000000111"
    no_name = person("100000012", last="")
    bad_zip = person("100000013", zip_code="8O2O6")
    bad_taxonomy = person("100000014", taxonomies=("PT",))
    quoted = person("100000015", last='O"NEIL', first="MARY\nKATE")  # quotes and a newline
    path = nppes_file(
        [person("100000010"), bad_npi, no_name, bad_zip, bad_taxonomy, quoted],
        raw_lines=['"1000000160","1","too","few","columns"\r\n',
                   _line(person("100000017"))])
    record = nppes_import(path=path)
    assert record.status == ImportStatus.DONE
    # Line 1 is the header; the quoted row spans lines 7-8, so the short row is line 9.
    assert record.errors == [
        [3, "NPI", f"'{bad_npi[0]}' is not a valid NPI (check digit)"],
        [4, "Provider Last Name (Legal Name)", "is empty"],
        [5, "Provider Business Practice Location Address Postal Code",
         "'8O2O6' is not a ZIP code"],
        [6, "Healthcare Provider Taxonomy Code_1", "'PT' is not a NUCC code like 207X00000X"],
        [9, "row", "has 5 columns; the header has 330"],
    ]
    assert (record.rows_read, record.rows_kept, record.rows_skipped) == (8, 3, 5)
    kept = set(RegistryProvider.objects.values_list("pk", flat=True))
    assert kept == {int(npi(b)) for b in ("100000010", "100000015", "100000017")}
    assert RegistryProvider.objects.get(pk=int(npi("100000015"))).name == \
        'MARY\nKATE O"NEIL, PT'


def test_strict_mode_imports_nothing_when_a_row_is_malformed(nppes_file):
    path = nppes_file([person("100000020"), person("100000021", zip_code="ABCDE"),
                       person("100000022")])
    record = nppes_import(path=path, strict=True)
    assert record.status == ImportStatus.FAILED
    assert record.errors == [[3, "Provider Business Practice Location Address Postal Code",
                              "'ABCDE' is not a ZIP code"]]
    assert "nothing was imported" in record.message
    assert not RegistryProvider.objects.exists()


def test_strict_mode_imports_a_clean_file(nppes_file):
    record = nppes_import(path=nppes_file([person("100000023")]), strict=True)
    assert record.status == ImportStatus.DONE and RegistryProvider.objects.count() == 1


def test_a_file_without_the_needed_columns_is_refused_with_their_names(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("NPI,Name,Zip\n1234567893,Someone,80206\n")
    with pytest.raises(ImportRefused, match='no "Entity Type Code", "Provider Organization'):
        nppes_import(path=path)
    assert not RegistryProvider.objects.exists()
    assert RegistryImport.objects.get().status == ImportStatus.FAILED


def test_states_filter_keeps_only_those_states(nppes_file):
    path = nppes_file([person("100000030"), person("100000031", state="WY"),
                       person("100000032", state="NE", zip_code="6810X")])  # bad, not kept
    record = nppes_import(path=path, states=["CO", "WY"])
    assert record.rows_kept == 2 and record.error_count == 0
    assert set(RegistryProvider.objects.values_list("state", flat=True)) == {"CO", "WY"}


class Interrupted(Exception):
    pass


def test_resume_after_an_interruption_finishes_without_duplicates(nppes_file):
    rows = [person(f"1000001{n:02d}") for n in range(25)]
    path = nppes_file(rows)
    batches = []

    def die_after_two(record):
        batches.append(record.rows_read)
        if len(batches) == 2:
            raise Interrupted("power cut")

    with pytest.raises(Interrupted):
        nppes_import(path=path, batch_rows=10, progress=die_after_two)
    record = RegistryImport.objects.get()
    assert record.status == ImportStatus.FAILED and record.lines_done == 21
    assert RegistryProvider.objects.count() == 20  # two committed batches, nothing more
    with pytest.raises(ImportRefused, match="stopped at line 21.*--resume"):
        nppes_import(path=path)
    resumed = nppes_import(path=path, resume=True, batch_rows=10)
    assert resumed.pk == record.pk and resumed.status == ImportStatus.DONE
    assert resumed.rows_read == 25 and resumed.rows_kept == 25
    assert RegistryProvider.objects.count() == 25


def test_a_killed_import_left_running_is_resumed_once_it_is_stale(nppes_file):
    from datetime import timedelta

    from django.utils import timezone

    path = nppes_file([person(f"1000002{n:02d}") for n in range(15)])

    def kill(record):
        raise Interrupted("kill -9")

    with pytest.raises(Interrupted):
        nppes_import(path=path, batch_rows=10, progress=kill)
    # kill -9 runs no handler: the row still says running.
    RegistryImport.objects.update(status=ImportStatus.RUNNING)
    with pytest.raises(ImportRefused, match="running now"):
        nppes_import(path=path, resume=True)
    RegistryImport.objects.update(updated_at=timezone.now() - timedelta(minutes=5))
    record = nppes_import(path=path, resume=True, batch_rows=10)
    assert record.status == ImportStatus.DONE and RegistryProvider.objects.count() == 15


def test_reimport_updates_in_place_and_deactivation_flags(nppes_file):
    nppes_import(path=nppes_file([person("100000040"), person("100000041")], name="a.csv"))
    moved = person("100000040", address="5 NEW RD")
    nppes_import(path=nppes_file([moved, deactivated_row(npi("100000041")),
                                  deactivated_row(npi("100000042"))], name="b.csv"))
    assert RegistryProvider.objects.count() == 2  # a deactivation never creates anyone
    assert RegistryProvider.objects.get(pk=int(npi("100000040"))).address_line == "5 NEW RD"
    assert RegistryProvider.objects.get(pk=int(npi("100000041"))).deactivated


def test_organization_size_counts_individuals_at_the_same_site(nppes_file):
    rows = [org("100000050", address="1 Oak St."),
            person("100000051", address="1 OAK ST"), person("100000052", address="1 oak st"),
            person("100000053", address="2 OAK ST")]
    nppes_import(path=nppes_file(rows))
    sizes = dict(RegistryProvider.objects.values_list("pk", "org_size"))
    assert [sizes[int(npi(b))] for b in ("100000050", "100000051", "100000052",
                                         "100000053")] == [2, 2, 2, 1]


def test_latin1_bytes_are_read(tmp_path):
    path = tmp_path / "latin.csv"
    out = io.StringIO()
    write_nppes(out, [person("100000060", last="NUÑEZ")])
    path.write_bytes(out.getvalue().encode("latin-1"))
    nppes_import(path=path)
    assert RegistryProvider.objects.get().name == "ANA NUÑEZ, PT"


def test_command_reports_rows_and_bad_lines(nppes_file, capsys):
    path = nppes_file([person("100000070"), person("100000071", last="")])
    call_command("nppes_import", str(path), "--states", "co", "--no-progress")
    out = capsys.readouterr()
    assert "1 provider imported; 1 malformed row skipped" in out.out
    assert "line 3: Provider Last Name (Legal Name): is empty" in out.err
    with pytest.raises(CommandError, match="a state is two letters"):
        call_command("nppes_import", str(path), "--states", "Colorado")


def test_multi_row_inserts_and_the_remainder_are_all_written(nppes_file, monkeypatch):
    from refnet.registry.services import importer

    monkeypatch.setattr(importer, "SQLITE_ROWS_PER_INSERT", 3)
    rows = [person(f"1000004{n:02d}") for n in range(10)] + [person("100000400")]  # a repeat
    record = nppes_import(path=nppes_file(rows))
    assert record.rows_read == 11 and RegistryProvider.objects.count() == 10


@pytest.fixture
def reader_process(monkeypatch):
    """Big files are read and validated by a second process; make every file big."""
    from refnet.registry.services import importer

    monkeypatch.setattr(importer, "PIPELINE_MIN_BYTES", 0)


def test_the_reader_process_reports_malformed_rows_by_line_like_the_writer(
        nppes_file, reader_process):
    quoted = person("100000501", last='O"NEIL', first="MARY\nKATE")
    path = nppes_file([person("100000500"), quoted, person("100000502", zip_code="8O2O6"),
                       person("100000503", last="NUÑEZ")],
                      raw_lines=['"1000000160","1","too","few"\r\n'])
    record = nppes_import(path=path, batch_rows=2)
    assert record.status == ImportStatus.DONE
    assert record.errors == [
        [5, "Provider Business Practice Location Address Postal Code",
         "'8O2O6' is not a ZIP code"],
        [7, "row", "has 4 columns; the header has 330"],
    ]
    assert (record.rows_read, record.rows_kept, record.rows_skipped) == (5, 3, 2)
    assert (record.lines_done, record.bytes_done) == (7, path.stat().st_size)
    assert RegistryProvider.objects.get(pk=int(npi("100000501"))).name == \
        'MARY\nKATE O"NEIL, PT'
    assert RegistryProvider.objects.get(pk=int(npi("100000503"))).name == "ANA NUÑEZ, PT"


def test_resume_through_the_reader_process_commits_each_batch_once(nppes_file,
                                                                   reader_process):
    path = nppes_file([person(f"1000006{n:02d}") for n in range(25)])
    seen = []

    def die_after_two(record):
        seen.append(record.rows_read)
        if len(seen) == 2:
            raise Interrupted("power cut")

    with pytest.raises(Interrupted):
        nppes_import(path=path, batch_rows=10, progress=die_after_two)
    record = RegistryImport.objects.get()
    assert (record.lines_done, RegistryProvider.objects.count()) == (21, 20)
    resumed = nppes_import(path=path, resume=True, batch_rows=10)
    assert (resumed.rows_read, resumed.rows_kept, resumed.status) == (25, 25,
                                                                      ImportStatus.DONE)
    assert RegistryProvider.objects.count() == 25


def test_a_repeated_npi_in_one_batch_is_written_once_with_its_last_values(nppes_file):
    path = nppes_file([person("100000700"), person("100000700", address="7 LAST ST")])
    record = nppes_import(path=path)
    assert (record.rows_read, record.rows_kept) == (2, 2)
    assert RegistryProvider.objects.get().address_line == "7 LAST ST"


def test_taxonomy_slots_after_the_first_are_read_whatever_else_the_row_holds(nppes_file):
    """Rows with one taxonomy are split short (slots 2-15 empty): a row with only a later
    slot, a license in slot 2, a bad code in slot 3 or a separator inside a later value
    must read exactly as a full split (and csv) would."""
    only_third = person("100000701", taxonomies=("", "", "207X00000X"))
    for n in (1, 2):  # nothing at all in slots 1 and 2
        for name in ("Provider License Number", "Provider License Number State Code",
                     "Healthcare Provider Primary Taxonomy Switch"):
            only_third[COL[f"{name}_{n}"]] = ""
    license_2 = person("100000702")
    license_2[COL["Provider License Number_2"]] = "PT-123"
    bad_third = person("100000703", taxonomies=("225100000X", "", "PT"))
    separator_later = person("100000704")
    separator_later[COL["Authorized Official Title or Position"]] = 'A","B'
    no_taxonomy = person("100000705", taxonomies=())
    last_slot = person("100000706")
    last_slot[COL["Healthcare Provider Taxonomy Code_15"]] = "207X00000X"
    path = nppes_file([only_third, license_2, bad_third, separator_later, no_taxonomy,
                       last_slot])
    record = nppes_import(path=path)
    assert record.errors == [
        [4, "Healthcare Provider Taxonomy Code_3", "'PT' is not a NUCC code like 207X00000X"],
        [6, "Healthcare Provider Taxonomy Code_1", "no taxonomy code"],
    ]
    rows = {p.pk: (p.primary_taxonomy, p.other_taxonomies)
            for p in RegistryProvider.objects.all()}
    assert rows == {int(npi("100000701")): ("207X00000X", ""),
                    int(npi("100000702")): ("225100000X", ""),
                    int(npi("100000704")): ("225100000X", ""),
                    int(npi("100000706")): ("225100000X", "207X00000X")}


@pytest.fixture
def two_readers(monkeypatch):
    """Two reader processes taking turns over blocks of ~3 records (big files do this)."""
    from refnet.registry.services import importer

    monkeypatch.setattr(importer, "PIPELINE_MIN_BYTES", 0)
    monkeypatch.setattr(importer, "BLOCK_BYTES", 3_000)
    return importer


def _mixed_file(nppes_file):
    rows = [person(f"1000008{n:02d}", address=f"{n % 4} MAIN ST") for n in range(30)]
    rows[4] = person("100000804", last='O"NEIL', first="MARY\nKATE")  # two lines, quotes
    rows[9] = person("100000809", zip_code="8O2O6")
    rows[17] = person("100000817", last="NUÑEZ")
    rows[18] = deactivated_row(npi("100000803"))
    rows[25] = person("100000801", address="9 MOVED ST")  # repeated NPI: the last one wins
    return nppes_file(rows, raw_lines=['"1000000160","1","too","few"\r\n',
                                       _line(person("100000899")),
                                       '"1000000171","1","NO END\r\n', '"AFTER\r\n'])


def _outcome():
    record = RegistryImport.objects.get()
    providers = list(RegistryProvider.objects.order_by("pk").values_list())
    return (record.status, record.errors, record.rows_read, record.rows_kept,
            record.rows_skipped, record.rows_deactivated, record.lines_done,
            record.bytes_done, providers)


def test_two_readers_import_exactly_what_one_process_does(nppes_file, two_readers):
    path = _mixed_file(nppes_file)
    assert path.stat().st_size > 8 * two_readers.BLOCK_BYTES  # many blocks, both readers
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(two_readers, "PIPELINE_MIN_BYTES", 1 << 40)  # in this process
        nppes_import(path=path, batch_rows=2)
    alone = _outcome()
    RegistryImport.objects.all().delete()
    RegistryProvider.objects.all().delete()
    nppes_import(path=path, batch_rows=2)
    assert _outcome() == alone
    status, errors, read = alone[:3]
    assert status == ImportStatus.DONE and read == 33
    assert [e[0] for e in errors] == [12, 33, 35]  # the quoted row spans lines 6-7
    assert RegistryProvider.objects.get(pk=int(npi("100000801"))).address_line == \
        "9 MOVED ST"


def test_resume_with_two_readers_commits_each_row_once(nppes_file, two_readers):
    path = nppes_file([person(f"1000006{n:02d}") for n in range(40)])
    seen = []

    def die_after_five(record):
        seen.append(record.rows_read)
        if len(seen) == 5:
            raise Interrupted("power cut")

    with pytest.raises(Interrupted):
        nppes_import(path=path, batch_rows=2, progress=die_after_five)
    record = RegistryImport.objects.get()
    assert RegistryProvider.objects.count() == record.rows_kept == record.lines_done - 1
    assert 0 < record.rows_kept < 40
    resumed = nppes_import(path=path, resume=True, batch_rows=2)
    assert (resumed.rows_read, resumed.rows_kept, resumed.status) == (40, 40,
                                                                      ImportStatus.DONE)
    assert (resumed.lines_done, resumed.bytes_done) == (41, path.stat().st_size)
    assert RegistryProvider.objects.count() == 40
