"""Golden files for the suggested mapping: headers of a few source systems -> the mapping
(files/mappings.json holds both). Saved mappings come back for the next file."""

import json
from pathlib import Path

import pytest

from refnet.imports.mapping import mapping_for, mapping_save, suggest_mapping
from refnet.imports.models import ImportMapping

GOLDEN = json.loads((Path(__file__).parent / "files" / "mappings.json").read_text())


@pytest.mark.parametrize("case", GOLDEN, ids=[c["system"] for c in GOLDEN])
def test_suggested_mapping_matches_the_golden_file(case):
    assert suggest_mapping(case["kind"], case["header"]) == case["mapping"]


@pytest.mark.parametrize("case", GOLDEN, ids=[c["system"] for c in GOLDEN])
def test_a_saved_mapping_comes_back_for_the_same_source(db, case):
    edited = dict(case["mapping"])
    first_target = next(iter(edited))
    edited.pop(first_target)  # the user unmapped one field
    mapping_save(kind=case["kind"], source=case["system"], mapping=edited)
    again, saved = mapping_for(case["kind"], case["system"], case["header"])
    assert saved and again == edited
    # Stored as JSON and read back unchanged.
    row = ImportMapping.objects.get(source=case["system"], kind=case["kind"])
    assert json.loads(json.dumps(row.mapping)) == edited
    # A column the new file no longer has is dropped from the saved mapping.
    shorter = [c for c in case["header"] if c != next(iter(edited.values()))]
    assert next(iter(edited.values())) not in mapping_for(case["kind"], case["system"],
                                                          shorter)[0].values()
