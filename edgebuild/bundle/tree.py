"""Writing a bundle: a folder swapped in whole, a manifest of every file, and a zip whose bytes
depend on nothing but the files."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from ..layout import write_bytes

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_tree(files: dict[str, bytes], folder: Path, archive: Path) -> None:
    """Put `files` (relative path -> bytes) and a manifest in `folder`, swapping in the whole folder,
    and the same as a zip whose bytes depend on nothing but the files."""
    manifest = {"files": [{"path": path, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                          for path, data in sorted(files.items())]}
    files = {**files, "manifest.json": (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode()}
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        for path, data in files.items():
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            os.chmod(target, 0o644)
        for directory in [staging, *(p for p in staging.rglob("*") if p.is_dir())]:
            os.chmod(directory, 0o755)
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
            os.replace(staging, folder)
            shutil.rmtree(old)
        else:
            os.replace(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    buffer = io.BytesIO()
    prefix = archive.stem
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(files):
            entry = zipfile.ZipInfo(f"{prefix}/{path}", date_time=ZIP_TIME)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            zipped.writestr(entry, files[path])
    write_bytes(archive, buffer.getvalue())


def remove_bundle(folder: Path, archive: Path) -> None:
    """No target ships: no bundle, not even a stale one from an earlier build."""
    shutil.rmtree(folder, ignore_errors=True)
    archive.unlink(missing_ok=True)
    if folder.parent.is_dir() and not any(folder.parent.iterdir()):
        folder.parent.rmdir()
