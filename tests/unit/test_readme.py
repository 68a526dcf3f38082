"""README.md is the front door: short, its two commands first, and every link into docs/ leads to a page."""
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = (REPO / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    assert lines[3].startswith("python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 && "
                               ".venv/bin/pip install -e \".[test,torch]\" && .venv/bin/doit")
    assert lines[4].startswith("apt-get update") and "pytest --slow" in lines[4]


def test_every_link_of_the_readme_leads_to_a_page_and_every_page_is_linked():
    text = (REPO / "README.md").read_text()
    links = set(re.findall(r"\]\((docs/[^)#]+)", text))
    assert links and all((REPO / link).is_file() for link in links), sorted(links)
    pages = {f"docs/{p.name}" for p in (REPO / "docs").glob("*.md")}
    assert pages <= links, sorted(pages - links)
