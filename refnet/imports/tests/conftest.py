"""Fixtures for import tests: files written on the fly into tmp_path, inline commits."""

from pathlib import Path

import pytest

FILES = Path(__file__).parent / "files"


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path / "data"
    settings.DATA_DIR.mkdir()
    settings.REFNET_IMPORTS_INLINE = True


@pytest.fixture
def write(tmp_path):
    def make(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return make
