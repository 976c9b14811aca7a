#!/usr/bin/env python3
"""Lists the repository paths that comments and documents name but that do not exist; exits 1 when any.

    tools/check_references.py [ROOT]

Scans the project's own sources and documents (src, include, tests, bench, examples, docs, tools, config and
the top-level *.md) for words shaped like a path into the repository ("docs/configuration.md",
"src/net/http1.cpp") and checks each against ROOT (default: the parent of this script's directory). Include
lines resolve from src/ as the compiler does; a path inside a URL or after a shell variable ("$src/...") is
not a repository path and is skipped.
"""

import re
import sys
from pathlib import Path

TOP_DIRS = ("docs", "src", "include", "tests", "bench", "examples", "config", "tools", ".ci")
SUFFIXES = ("md", "hpp", "cpp", "h", "sh", "py", "mjs", "toml", "txt", "json")
PATH = re.compile(r"(?<![\w/$.:-])((?:%s)/[A-Za-z0-9_./-]+\.(?:%s))\b" % ("|".join(re.escape(d) for d in TOP_DIRS),
                                                                          "|".join(SUFFIXES)))
SCANNED = ("*.cpp", "*.hpp", "*.h", "*.md", "*.sh", "*.py", "*.toml", "*.txt", "*.mjs", "run", "install-deps")


def scanned_files(root: Path):
    for top in TOP_DIRS:
        base = root / top
        if not base.is_dir():
            continue
        for pattern in SCANNED:
            for path in base.rglob(pattern):
                if "node_modules" not in path.parts:
                    yield path
    yield from root.glob("*.md")


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent
    missing = []
    for path in sorted(set(scanned_files(root))):
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            include = line.lstrip().startswith("#include")
            for match in PATH.finditer(line):
                name = match.group(1).rstrip(".")
                if (root / name).exists() or (include and (root / "src" / name).exists()):
                    continue
                missing.append(f"{path.relative_to(root)}:{number}: {name} does not exist")
    for m in missing:
        print(m)
    if missing:
        print(f"{len(missing)} reference(s) to files that are not in the repository")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
