"""Check that the lock files still match pyproject.toml, offline, before an install.

Every requirement that pyproject.toml pins for a lock's extras must be in that lock at that version, and
every lock must hold its packages at the versions test.txt (which holds them all) has, since `make run` and
`make test` install into the same .venv, and the image is to run what the tests ran. Run by requirements/install.sh; on a mismatch it
says which line and to run `make lock`.

    python3 requirements/check.py [requirements/dev.txt ...]    (no argument: all three)
"""
import re
import sys
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
# lock file -> the pyproject extras it holds; test.txt has them all
LOCKS = {"runtime.txt": (), "s3.txt": ("s3",), "dev.txt": ("dev",), "test.txt": ("dev", "test", "s3")}
ALL = "test.txt"
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*?)\s*(;.*)?$")
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(;[^\\]*)?")


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path):
    """{name: {versions}} of a lock file (a name may have one version per Python-version marker)."""
    out = {}
    for line in path.read_text().splitlines():
        m = LOCKED.match(line)
        if m:
            out.setdefault(normalize(m[1]), set()).add(m[2])
    return out


def problems(lock_names):
    project = tomllib.loads((HERE.parent / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    found = []
    for name in lock_names:
        lock = locked(HERE / name)
        for req in project["dependencies"] + [r for e in LOCKS[name] for r in extras.get(e, [])]:
            m = REQUIREMENT.match(req)
            dist, spec = normalize(m[1]), m[3].replace(" ", "")
            if dist not in lock:
                found.append(f"requirements/{name} lacks {req!r} (pyproject.toml)")
            elif spec.startswith("==") and "," not in spec:
                want = spec[2:]
                ok = any(v.startswith(want[:-1]) if want.endswith("*") else v == want for v in lock[dist])
                if not ok:
                    found.append(f"requirements/{name} has {dist} {sorted(lock[dist])}, pyproject.toml {req!r}")
    every = locked(HERE / ALL)
    for name in LOCKS:
        for dist, versions in locked(HERE / name).items():
            if every.get(dist) != versions:
                found.append(f"requirements/{name} has {dist} {sorted(versions)}, {ALL} {sorted(every.get(dist, []))}")
    return found


def main(argv):
    names = [Path(a).name for a in argv] or list(LOCKS)
    unknown = [n for n in names if n not in LOCKS]
    if unknown:
        raise SystemExit(f"not a lock file: {', '.join(unknown)} (one of {', '.join(LOCKS)})")
    found = problems(names)
    for line in found:
        print(f"stale lock: {line}", file=sys.stderr)
    if found:
        print("pyproject.toml and requirements/ disagree: run `make lock` (and commit requirements/)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
