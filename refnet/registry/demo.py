"""Demo: a synthetic registry around the demo locations (about 200 providers in the demo's
ZIP codes, no real people), a few of them already partners so the finder leaves them out,
and the NUCC rows for the taxonomies used. Loaded through the real importers."""

from __future__ import annotations

import random
import tempfile
from pathlib import Path
from typing import Any

from refnet.practice.demo import DEMO_ZIP_CENTROIDS, ensure_zip_centroids

from .services.importer import nppes_import
from .services.nucc import nucc_import
from .synthetic import nppes_rows, provider_row, write_nppes

DEMO_PROVIDERS = 200
NUCC_SAMPLE = Path(__file__).resolve().parent / "sample" / "nucc_sample.csv"


def demo_rows(rng: random.Random, partners: list) -> list[list[str]]:
    zips = [(code, city.upper(), "CO") for code, city, _, _ in DEMO_ZIP_CENTROIDS]
    rows = list(nppes_rows(DEMO_PROVIDERS, seed=rng.randrange(1 << 30), zips=zips,
                           first_body=190_000_000, deactivated_share=0.0))
    # Some partners are in the registry too: the finder must not offer them again.
    known = [p for p in partners if p.npi and p.taxonomy_code][:10]
    for partner in known:
        code, city, _ = zips[rng.randrange(len(zips))]
        rows.append(provider_row(
            npi_=partner.npi, entity=1 if partner.kind == "clinician" else 2,
            first="DEMO", last=partner.name.split(",")[0].split()[-1].upper(),
            org=partner.name.upper(), credential="MD", address="100 DEMO PARTNER WAY",
            city=city, state="CO", zip_code=code, phone="3035550100",
            taxonomies=[partner.taxonomy_code]))
    return rows


def build_demo(*, practice: Any, partners: list, now: Any, rng: random.Random, say: Any) -> None:
    ensure_zip_centroids()
    nucc_import(path=NUCC_SAMPLE)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "npidata_pfile_demo.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            write_nppes(out, demo_rows(rng, partners))
        record = nppes_import(path=path, restart=True, by=practice.users.get("manager"))
    say(f"Registry: {record.rows_kept} synthetic providers near the demo locations.")
