"""Benchmarks write their report into a docs page between markers: replaced in place, added once."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from report import page_section, write_section  # noqa: E402


def test_a_section_is_added_once_then_replaced_in_place(tmp_path, capsys):
    page = tmp_path / "speed.md"
    page.write_text("# Speed\n\nBefore.\n\n<!-- bench/other.py -->\nkept\n<!-- /bench/other.py -->\n"
                    "\nAfter.\n")
    with page_section(page, "bench/x.py"):
        print("| a | b |")
        print("|---|---|")
        print("| 1 | 2 |")
    assert capsys.readouterr().out.count("\n") == 3  # printed as it came
    first = page.read_text()
    assert first.endswith("<!-- bench/x.py -->\n| a | b |\n|---|---|\n| 1 | 2 |\n<!-- /bench/x.py -->\n")
    write_section(page, "bench/x.py", "| a | b |\n|---|---|\n| 3 | 4 |\n")
    second = page.read_text()
    assert second.count("<!-- bench/x.py -->") == 1 and "| 3 | 4 |" in second and "| 1 | 2 |" not in second
    assert "Before.\n" in second and "After.\n" in second and "kept" in second


def test_without_a_page_nothing_is_written_and_a_failed_run_writes_nothing(tmp_path, capsys):
    page = tmp_path / "speed.md"
    with page_section(None, "bench/x.py"):
        print("| 1 |")
    assert capsys.readouterr().out == "| 1 |\n" and not page.exists()
    try:
        with page_section(page, "bench/x.py"):
            print("| half a table |")
            raise RuntimeError("the benchmark failed")
    except RuntimeError:
        pass
    assert not page.exists()  # a failed run leaves the page as it was
