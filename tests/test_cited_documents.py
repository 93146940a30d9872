"""The documents the code, tests and data cite are in the repository: tests named after
"DOMAIN.md example 4" cited a file that lived outside it, so a fresh clone could not check
the published figures a test claims to reproduce."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITING = ("clt", "parcels", "leases", "maps", "tests", "fixtures", "docs", "bench")
CITATION = re.compile(r"\b(docs/[\w./-]+\.md)\b")


def citations() -> dict[str, set[str]]:
    cited: dict[str, set[str]] = {}
    for folder in CITING:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in {".py", ".md", ".csv", ".html"} or not path.is_file():
                continue
            for name in CITATION.findall(path.read_text(encoding="utf-8", errors="ignore")):
                cited.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return cited


def test_every_cited_document_is_in_the_repository():
    cited = citations()
    assert "docs/domain.md" in cited  # the resale tests cite its worked examples
    missing = {name: sorted(where) for name, where in cited.items() if not (ROOT / name).exists()}
    assert not missing


def test_no_file_cites_the_domain_notes_outside_the_repository():
    outside = re.compile(r"(?<![\w/])DOMAIN\.md")
    citing = [
        str(path.relative_to(ROOT))
        for folder in CITING
        for path in (ROOT / folder).rglob("*")
        if path.suffix in {".py", ".md", ".csv"} and path.is_file()
        and path.name != "test_cited_documents.py"
        and outside.search(path.read_text(encoding="utf-8", errors="ignore"))
    ]
    assert not citing


def test_the_domain_notes_hold_the_worked_examples_the_tests_cite():
    notes = (ROOT / "docs" / "domain.md").read_text(encoding="utf-8")
    assert "Published worked examples" in notes
    assert "$250,000 over 10 years → $300,000" in notes  # example 4, tests.factories
