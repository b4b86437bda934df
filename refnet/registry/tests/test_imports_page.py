"""The import page: upload (run inline here), refusals, the progress row, resume; NUCC."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from refnet.registry.models import ImportStatus, RegistryImport, RegistryProvider, Taxonomy
from refnet.registry.services.nucc import nucc_import
from refnet.twofactor.testing import force_login_verified

from .conftest import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client, users, settings, tmp_path):
    settings.REFNET_REGISTRY_IMPORT_INLINE = True
    settings.DATA_DIR = tmp_path
    force_login_verified(client, users["manager"])
    return client


def test_upload_runs_the_import_and_lists_it(manager, nppes_file, tmp_path):
    path = nppes_file([person("100000201"), person("100000202", state="WY"),
                       person("100000203", last="")])
    upload = SimpleUploadedFile("npidata_pfile_2026.csv", path.read_bytes())
    response = manager.post(reverse("registry:import_upload"),
                            {"kind": "nppes", "file": upload, "states": "co"}, follow=True)
    page = response.content.decode()
    record = RegistryImport.objects.get()
    assert record.status == ImportStatus.DONE and record.states == "CO"
    assert RegistryProvider.objects.count() == 1
    assert "npidata_pfile_2026.csv" in page and "1 malformed" in page
    assert "line 4, Provider Last Name (Legal Name): is empty" in page
    assert (tmp_path / "registry").is_dir()


def test_upload_of_another_file_is_refused_clearly(manager):
    upload = SimpleUploadedFile("patients.csv", b"name,zip\nAda,80206\n")
    page = manager.post(reverse("registry:import_upload"), {"kind": "nppes", "file": upload},
                        follow=True).content.decode()
    assert "This is not an NPPES file" in page
    assert not RegistryImport.objects.exists()


def test_bad_states_are_refused_next_to_the_field(manager, nppes_file):
    upload = SimpleUploadedFile("x.csv", nppes_file([person("100000204")]).read_bytes())
    page = manager.post(reverse("registry:import_upload"),
                        {"kind": "nppes", "file": upload, "states": "Colorado"}).content.decode()
    assert "a state is two letters" in page and not RegistryImport.objects.exists()


def test_progress_row_polls_while_running_and_resume_continues(manager, nppes_file):
    path = nppes_file([person(f"1000003{n:02d}") for n in range(5)])
    record = RegistryImport.objects.create(file_name="big.csv", path=str(path), size=100,
                                           status=ImportStatus.RUNNING, bytes_done=40)
    row = manager.get(reverse("registry:import_progress", args=[record.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in row and "40%" in row
    RegistryImport.objects.filter(pk=record.pk).update(status=ImportStatus.PAUSED,
                                                       bytes_done=0)
    manager.post(reverse("registry:import_resume", args=[record.pk]))
    record.refresh_from_db()
    assert record.status == ImportStatus.DONE and RegistryProvider.objects.count() == 5
    row = manager.get(reverse("registry:import_progress", args=[record.pk])).content.decode()
    assert "every 1s" not in row and "100%" in row


def test_nucc_upload_and_file(manager):
    data = (b"Code,Grouping,Classification,Specialization,Definition,Notes,Display Name,Section\n"
            b"225100000X,Rehab,Physical Therapist,,,,Physical Therapist,Individual\n"
            b"BAD,Rehab,Nothing,,,,,\n")
    page = manager.post(reverse("registry:import_upload"), {
        "kind": "nucc", "file": SimpleUploadedFile("nucc.csv", data)}, follow=True
    ).content.decode()
    assert "1 taxonomy codes imported" in page and "line 3, Code" in page
    assert Taxonomy.objects.get().display_name == "Physical Therapist"


def test_nucc_without_display_name_builds_one_and_upserts():
    nucc_import(data=b"Code,Grouping,Classification,Specialization\n"
                     b"207XS0114X,Physicians,Orthopaedic Surgery,Adult Reconstructive\n")
    nucc_import(data=b"\xef\xbb\xbfCode,Grouping,Classification,Specialization\n"
                     b"207XS0114X,Physicians,Orthopaedic Surgery,Adult Reconstruction\n")
    assert Taxonomy.objects.get().display_name == "Orthopaedic Surgery, Adult Reconstruction"
