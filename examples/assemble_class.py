"""Build the example class's submissions folder: each student of examples/class/ as the
reference's chapters with the student's own files laid over them (see examples/README.md).

    python examples/assemble_class.py OUT

OUT is rebuilt from scratch every time; grading it again is still instant, because
`grade batch --resume` recognises submissions by their content, not their dates.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "reference"


def assemble(overlay: Path, out: Path) -> Path:
    name = overlay.name.removesuffix(".zip")
    folder = out / name
    folder.mkdir(parents=True)
    for chapter in sorted(REFERENCE.glob("0*.py")):
        shutil.copyfile(chapter, folder / chapter.name)
    for item in sorted(overlay.iterdir()):
        if item.name.endswith(".missing"):
            (folder / item.name.removesuffix(".missing")).unlink()
        elif not item.name.startswith("."):
            shutil.copyfile(item, folder / item.name)
    if not overlay.name.endswith(".zip"):
        return folder
    archive = out / overlay.name
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        for path in sorted(folder.iterdir()):
            zipped.write(path, f"{name}/{path.name}")
    shutil.rmtree(folder)
    return archive


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    out = Path(argv[1])
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for overlay in sorted(p for p in (HERE / "class").iterdir() if p.is_dir()):
        assemble(overlay, out)
    print(f"example class: {len(list(out.iterdir()))} submissions in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
