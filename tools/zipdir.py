#!/usr/bin/env python3
"""zipdir.py DIR OUT.zip -- zips DIR's contents (paths relative to DIR), in sorted
order, executables 0755 and everything else 0644: the same bytes for the same
files (make lambda, make dist)."""
import os
import sys
import zipfile


def main(stage, out):
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for root, dirs, files in os.walk(stage):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                info = zipfile.ZipInfo.from_file(path, os.path.relpath(path, stage))
                info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(path, "rb") as f:
                    z.writestr(info, f.read())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
