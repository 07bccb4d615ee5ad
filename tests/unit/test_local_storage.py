"""The local file storage's own promises beyond the contract suite."""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

from registry.storage.local import FileStorage


def test_stored_files_get_the_usual_mode_not_0600(tmp_path: Path) -> None:
    storage = FileStorage(tmp_path / "packages")
    storage.put("demo/demo-1.0.tar.gz", io.BytesIO(b"data"), {"record": "{}"})
    umask = os.umask(0o022)
    os.umask(umask)
    expected = 0o666 & ~umask  # 0644 under the usual umask 022
    for path in (
        tmp_path / "packages" / "demo" / "demo-1.0.tar.gz",
        tmp_path / "packages" / ".meta" / "demo" / "demo-1.0.tar.gz.json",
    ):
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
