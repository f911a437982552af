"""What may import what (the house layout: data flows one way), read from the import graph by grimp.

Imports inside functions count too: a lazy import hides a cycle from Python, not from this test.
"""
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = ("portal", "cutouts", "bossdb")  # no cycle among these, no module over MAX_LINES
SERVERS = ("devboss", "bench")
MAX_LINES = 400


def present(*names):
    return [name for name in names if (REPO / name / "__init__.py").exists()]


def build_graph(*packages):
    # No cache: grimp would write one into the working tree.
    return grimp.build_graph(*present(*packages), exclude_type_checking_imports=True, cache_dir=None)


@pytest.fixture(scope="module")
def graph():
    return build_graph(*OURS, *SERVERS, "tests")


def top(module):
    return module.split(".")[0]


def imports(graph, importers):
    """Every (importer, imported) pair of direct imports whose importer is in one of the `importers` packages."""
    for module in sorted(graph.modules):
        if top(module) in importers:
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                yield module, imported


def cycles(graph):
    """A shortest cycle through each import that is part of one, as 'a -> b -> a', each cycle once."""
    found, seen = [], set()
    for importer, imported in imports(graph, present(*OURS)):
        chain = graph.find_shortest_chain(importer=imported, imported=importer)
        if chain:
            cycle = (importer, *chain)
            edges = frozenset(zip(cycle, cycle[1:]))
            if edges not in seen:
                seen.add(edges)
                found.append(" -> ".join(cycle))
    return found


def test_no_import_cycles_among_portal_cutouts_and_bossdb():
    found = cycles(build_graph(*OURS))  # only these: a cycle through tests or devboss is not theirs
    assert found == [], f"{len(found)} import cycle(s):\n" + "\n".join(found)


def test_no_application_code_imports_the_tests(graph):
    offenders = [f"{a} imports {b}" for a, b in imports(graph, present(*OURS, *SERVERS)) if top(b) == "tests"]
    assert offenders == [], "\n".join(offenders)


def test_the_portal_and_devboss_import_nothing_of_each_other(graph):
    offenders = [f"{a} imports {b}" for a, b in imports(graph, present("portal", "cutouts")) if top(b) == "devboss"]
    offenders += [f"{a} imports {b}" for a, b in imports(graph, present("devboss")) if top(b) in ("portal", "cutouts")]
    assert offenders == [], "\n".join(offenders)


def test_no_module_is_over_400_lines():
    too_long = []
    for package in present(*OURS):
        for path in sorted((REPO / package).rglob("*.py")):
            lines = len(path.read_text().splitlines())
            if "migrations" not in path.relative_to(REPO).parts and lines > MAX_LINES:
                too_long.append(f"{path.relative_to(REPO)}: {lines} lines")
    assert too_long == [], "\n".join(too_long)


@pytest.mark.skipif(not present("bossdb"), reason="bossdb/ does not exist yet")
def test_bossdb_imports_without_django():
    code = "import bossdb, sys; assert 'django' not in sys.modules, 'bossdb imported django'"
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
