"""refnet import FILE: exit codes, output, progress, XLSX with date cells."""

from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from refnet.referrals.models import Referral

FILES = Path(__file__).parent / "files"


@pytest.fixture
def practice(db, location, make_partner):
    make_partner(name="Dana Whitfield, MD", npi="1234567893")


def test_an_xlsx_with_date_cells_imports(practice, capsys):
    call_command("import", str(FILES / "ehr-referrals.xlsx"), "--source", "EHR", "--map",
                 "location=Site")
    out = capsys.readouterr()
    assert "2 referrals imported from 2 rows" in out.out
    assert "priority <- 'Urgency'" in out.out
    zoe = Referral.objects.get(patient__first_name="Zoë")
    assert zoe.received_at.date() == date(2024, 2, 1) and zoe.priority == "stat"
    assert zoe.patient.birth_date == date(1975, 6, 30)
    assert zoe.source_partner.name == "Dana Whitfield, MD"
    luis = Referral.objects.get(patient__last_name="Peña")
    assert luis.received_at.date() == date(2024, 1, 1)  # serial 45292 as a number cell
    assert luis.patient.birth_date == date(1990, 7, 4)


def test_problems_exit_1_and_are_listed_by_line(practice, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("Received,First name,Last name\n2024-01-05,Ada,Okafor\n"
                    "2024-13-01,Bea,Lind\n")
    with pytest.raises(SystemExit) as exit_:
        call_command("import", str(path), "--no-progress")
    assert exit_.value.code == 1
    out = capsys.readouterr().out
    assert "line 3, Received date: '2024-13-01' is not a real date" in out
    assert "Nothing imported: 1 of 2 rows have problems" in out
    assert Referral.objects.count() == 0
    with pytest.raises(SystemExit):
        call_command("import", str(path), "--mode", "good", "--no-progress")
    assert Referral.objects.count() == 1


def test_dry_run_writes_nothing_and_exits_0(practice, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("Received,First name,Last name\n2024-01-05,Ada,Okafor\n")
    call_command("import", str(path), "--dry-run")
    assert "1 rows checked: 1 ready to import" in capsys.readouterr().out
    assert Referral.objects.count() == 0


def test_unusable_input_exits_2(practice, tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("import", str(tmp_path / "missing.csv"))
    assert error.value.returncode == 2
    path = tmp_path / "r.csv"
    path.write_text("Whatever,Else\n1,2\n")
    with pytest.raises(CommandError, match="Choose a column for: Received date"):
        call_command("import", str(path))


def test_the_progress_bar_shows_rows_and_rate(practice, tmp_path, capsys):
    path = tmp_path / "r.csv"
    path.write_text("Received,First name,Last name\n" + "".join(
        f"2024-01-05,Ada,Okafor{i}\n" for i in range(50)))
    call_command("import", str(path))
    err = capsys.readouterr().err
    assert "[####################] 100%  50 rows" in err and "rows/s" in err
