import re

from framing import config


def quick_start() -> list[str]:
    readme = (config.PROJ_ROOT / "README.md").read_text()
    block = re.search(r"## Quick start\s*```\w*\n(.*?)```", readme, re.S)
    assert block, "README needs a '## Quick start' heading followed by a code block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands():
    assert len(quick_start()) == 2


def test_ci_runs_the_readme_test_command():
    ci = (config.PROJ_ROOT / ".ci" / "run").read_text()
    assert quick_start()[1] in ci.splitlines()


def test_first_command_builds_the_venv_and_writes_the_seed_report():
    first = quick_start()[0]
    assert first.startswith("python3 -m venv .venv") and "framing report data/seeds" in first
