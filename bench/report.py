"""What a benchmark prints, kept so that `--markdown PAGE` writes the same text into a docs page,
between `<!-- bench/NAME.py -->` and `<!-- /bench/NAME.py -->`, instead of numbers copied by hand."""

from __future__ import annotations

import re
from pathlib import Path

from signclip.runtime.atomic import atomic_write_bytes


class Report:
    """Lines printed as they come and kept for the page."""

    def __init__(self):
        self.lines = []

    def print(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def markdown(self) -> str:
        return "\n".join(self.lines).strip() + "\n"


def write_section(page: Path, name: str, text: str) -> None:
    """Put `text` between the page's markers for `name` (added at the page's end the first time)."""
    page = Path(page)
    begin, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    old = page.read_text() if page.exists() else ""
    section = f"{begin}\n{text.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: section, old)
    else:
        new = old.rstrip() + "\n\n" + section + "\n"
    atomic_write_bytes(page, new.encode())
