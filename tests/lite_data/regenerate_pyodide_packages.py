"""Regenerate ``pyodide-<version>-packages.json``: the package names and versions of the
``pyodide-lock.json`` that the npm package ``pyodide@<version>`` ships (the Pyodide of the
xlwings Lite add-in; see xlsales/lite/layout.py). Needs ``npm`` and the npm registry:

    python tests/lite_data/regenerate_pyodide_packages.py [VERSION]
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(version: str) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", f"pyodide@{version}", "--silent"], cwd=tmp, check=True,
                       capture_output=True)
        [tgz] = Path(tmp).glob("pyodide-*.tgz")
        with tarfile.open(tgz) as tar:
            member = tar.extractfile("package/pyodide-lock.json")
            assert member is not None
            lock = json.load(member)
    out = HERE / f"pyodide-{version}-packages.json"
    data = {"source": f"npm pyodide@{version}, package/pyodide-lock.json",
            "pyodide": lock["info"]["version"], "python": lock["info"]["python"],
            "packages": {p["name"]: p["version"]
                         for p in sorted(lock["packages"].values(), key=lambda p: p["name"])}}
    out.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "0.27.5"))
