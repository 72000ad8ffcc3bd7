"""Shared by the benchmarks: each owns one ``## title`` section of ``benchmarks/RESULTS.md``.

A benchmark rewrites its own section on every run and leaves the others as they are, so the file
always holds the latest number of every benchmark next to the command that produced it.
"""

from __future__ import annotations

import os
import platform
import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
_HEADER = (
    "# Benchmark results\n\n"
    "Each section is rewritten by the benchmark named in its title; numbers come from the last\n"
    "run on the machine it describes.\n"
)


def write_section(title: str, markdown: str, *, path: Path = RESULTS) -> None:
    """Replace the ``## title`` section of ``path`` with ``markdown`` (append it if missing).

    Args:
        title: the heading text without ``## ``, e.g. ``"Bus (make bench-bus)"``.
        markdown: the section body (without its heading).
        path: the results file; created with a short header when missing.
    """
    text = path.read_text() if path.exists() else _HEADER
    section = f"## {title}\n\n{markdown.strip()}\n"
    # A section runs from its heading to the next level-2 heading (or the end of the file).
    pattern = re.compile(rf"^## {re.escape(title)}[ \t]*\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1).rstrip("\n") + "\n"
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def machine_facts() -> str:
    """One line about the machine: cores, CPU model, memory, Python."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f", {int(line.split()[1]) / 2**20:.0f} GiB RAM"
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({model}){memory}, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )
