import pytest

from refnet.registry.synthetic import npi, provider_row, write_nppes


def person(body: str, *, first="ANA", last="RIVERA", credential="PT", zip_code="80206",
           taxonomies=("225100000X",), address="100 MAIN ST", state="CO", city="DENVER",
           phone="3035550100"):
    return provider_row(npi_=npi(body), entity=1, first=first, last=last,
                        credential=credential, address=address, city=city, state=state,
                        zip_code=zip_code, phone=phone, taxonomies=list(taxonomies))


def org(body: str, *, name="MAIN STREET PT LLC", zip_code="80206", taxonomies=("261QP2000X",),
        address="100 MAIN ST", state="CO"):
    return provider_row(npi_=npi(body), entity=2, org=name, address=address, city="DENVER",
                        state=state, zip_code=zip_code, phone="3035550100",
                        taxonomies=list(taxonomies))


@pytest.fixture
def nppes_file(tmp_path):
    """Write rows (lists of 330 values, or raw text lines) under the real header."""
    def make(rows, name="npidata_pfile_test.csv", raw_lines=()):
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8") as out:
            write_nppes(out, rows)
            for line in raw_lines:
                out.write(line)
        return path

    return make
