"""`refnet zip_import`: ZIP centroids from a CSV, good rows upserted, bad rows named."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from refnet.practice.models import ZipCentroid


def run(tmp_path, text: str, name: str = "zips.csv") -> tuple[str, str]:
    from io import StringIO

    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    out, err = StringIO(), StringIO()
    call_command("zip_import", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_plain_csv_with_bom_imports_and_reports_bad_rows(tmp_path, db):
    out, err = run(tmp_path, "\ufeffzip,lat,lng,city,state\n"
                             "80206,39.7266,-104.9526,Denver,co\n"
                             "2134,42.35,-71.13,Boston,MA\n"         # leading zero lost
                             "80226-1234,39.712,-105.087,,\n"        # ZIP+4
                             "8A206,39.7,-104.9,,\n"                 # row 5: bad zip
                             "80012,abc,-104.8,,\n"                  # row 6: bad lat
                             "80013,39.6,-190,,\n"                   # row 7: lng out of range
                             "\n")
    assert "Imported 3 ZIP centroids (3 new, 0 updated); 3 bad rows skipped." in out
    assert "row 5: zip: '8A206' is not a 5-digit ZIP code" in err
    assert "row 6: lat: 'abc' is not a number" in err
    assert "row 7: lng: -190 is outside -180..180" in err
    denver = ZipCentroid.objects.get(pk="80206")
    assert (denver.latitude, denver.longitude, denver.city, denver.state) == (
        Decimal("39.726600"), Decimal("-104.952600"), "Denver", "CO")
    assert set(ZipCentroid.objects.values_list("pk", flat=True)) == {"80206", "02134", "80226"}


def test_gazetteer_tab_file_upserts(tmp_path, db):
    ZipCentroid.objects.create(zip_code="80206", latitude=1, longitude=1)
    # The Census gazetteer: tab separated, the last header padded with spaces.
    text = ("GEOID\tALAND\tAWATER\tALAND_SQMI\tAWATER_SQMI\tINTPTLAT\t"
            "INTPTLONG                                                       \n"
            "80206\t1\t0\t1\t0\t39.726600\t-104.952600              \n"
            "80209\t1\t0\t1\t0\t39.706800\t-104.965200\n")
    out, _err = run(tmp_path, text, "2023_Gaz_zcta_national.txt")
    assert "Imported 2 ZIP centroids (1 new, 1 updated); 0 bad rows skipped." in out
    assert ZipCentroid.objects.get(pk="80206").latitude == Decimal("39.726600")


def test_missing_column_and_no_valid_rows_are_clear_errors(tmp_path, db):
    with pytest.raises(CommandError, match="no latitude column"):
        run(tmp_path, "zip,lng\n80206,-104.9\n")
    with pytest.raises(CommandError, match="No valid rows"):
        run(tmp_path, "zip,lat,lng\nnope,1,1\n")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("zip_import", str(tmp_path / "absent.csv"))
