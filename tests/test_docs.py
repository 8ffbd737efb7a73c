"""The documents link only inside the repository, and every link they make leads somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "BENCHMARKS.md", *(ROOT / "docs").glob("*.md")])
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)|<(https?://[^>]+)>")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def links(document: Path) -> list[str]:
    """The targets of the document's markdown links and autolinks, code blocks left out."""
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)
    return [inline or auto for inline, auto in LINK.findall(text)]


def anchors(document: Path) -> set[str]:
    """The anchors of the document's headings, as GitHub makes them."""
    headings = re.findall(r"^#+ (.+)$", FENCE.sub("", document.read_text(encoding="utf-8")), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_the_documents_are_found() -> None:
    names = {path.relative_to(ROOT).as_posix() for path in DOCUMENTS}
    assert {"README.md", "BENCHMARKS.md", "docs/model.md", "docs/openai.md"} <= names


def problems(document: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with the document's links: outside ``root``, missing, or a missing heading."""
    found = []
    for target in links(document):
        path, _, anchor = target.partition("#")
        goal = (document.parent / path).resolve() if path else document
        if "://" in target or not goal.is_relative_to(root):
            found.append(f"outside the repository: {target}")
        elif not goal.exists():
            found.append(f"missing: {target}")
        elif anchor and goal.suffix == ".md" and anchor not in anchors(goal):
            found.append(f"no heading for: {target}")
    return found


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_link_stays_in_the_repository_and_leads_somewhere(document: Path) -> None:
    assert problems(document) == []


def test_links_outside_or_to_nothing_are_caught(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "here.md").write_text("# Here\n")
    document = tmp_path / "README.md"
    document.write_text(
        "# Top\n[design](../shared/DESIGN.md), <https://example.com>, [web](https://x.org), "
        "[gone](docs/gone.md), [here](docs/here.md#here), [there](docs/here.md#there), "
        "[top](#top), `[code](../not/a/link.md)`\n```\n[fenced](../neither.md)\n```\n"
    )
    assert problems(document, root=tmp_path) == [
        "outside the repository: ../shared/DESIGN.md",
        "outside the repository: https://example.com",
        "outside the repository: https://x.org",
        "missing: docs/gone.md",
        "no heading for: docs/here.md#there",
    ]
