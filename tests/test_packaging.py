"""An installed copy of the helpdesk (``pip install .``, a wheel) holds every folder of its code and data.

The packages used to be listed by hand, and ``kb/privacy`` was forgotten: the editable install of ``make`` did
not show it, but a wheel installed on a server lacked the folder and the helpdesk failed at import. Now
setuptools finds them (``[tool.setuptools.packages.find]``); this checks that what it finds covers every
folder that holds a file of the six packages."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "ingest", "classifier", "kb", "config", "web")


def test_every_folder_of_the_code_and_its_data_goes_into_an_installed_copy():
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    find = setuptools["packages"]["find"]
    assert find.get("namespaces") is True  # the data folders (no __init__.py) are packages too
    found = set(find_namespace_packages(where=str(ROOT), include=find["include"], exclude=find["exclude"]))
    folders = {".".join(path.parent.relative_to(ROOT).parts)
               for top in PACKAGES for path in (ROOT / top).rglob("*")
               if path.is_file() and "__pycache__" not in path.parts}
    assert {"kb.privacy", "kb.service", "kb.migrations.versions", "web.templates", "classifier.data"} <= folders
    assert folders - found == set()
    assert not {name for name in found if "__pycache__" in name or name.split(".")[0] not in PACKAGES}
