"""The README a newcomer reads in ten minutes (issue #14): short, every link into docs/ resolves, the command table
is the command line's, and every number in it is tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from brickwall import cli, exits
from tests.docs import DOCS, ROOT, broken_links, doc, files, links, readme


def test_the_readme_is_short() -> None:
    assert len(readme().splitlines()) <= 260


@pytest.mark.parametrize("path", files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_an_existing_file(path: Path) -> None:
    assert not broken_links(path)


def test_a_broken_link_or_anchor_is_found(tmp_path: Path) -> None:
    """Links in code are not links; anchors are GitHub's (lower case, punctuation dropped, spaces as hyphens)."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## X: y (`z`) 1.2\n")
    readme = tmp_path / "README.md"
    readme.write_text("[ok](docs/a.md#x-y-z-12) [gone](docs/b.md) [no heading](docs/a.md#x) [up](#top)\n"
                      "`[code](nope.md)`\n```sh\n[fenced](nope.md)\n```\n# Top\n[web](https://example.com/x.md)\n")
    assert broken_links(readme) == ["docs/b.md: no such file", "docs/a.md#x: a.md has no heading with that anchor"]


def test_every_doc_is_linked_from_the_readme() -> None:
    linked = {t.partition("#")[0] for t in links(readme())}
    assert {f"docs/{p.name}" for p in DOCS.glob("*.md")} <= linked


def _commands_table() -> list[tuple[str, str]]:
    section = readme().split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \|", section, re.M)
    assert rows, "the README's command table"
    return rows


def test_the_command_table_is_the_command_lines() -> None:
    """One row per command of the parser, in the README's table, and each row's example parses as it is written."""
    parser = cli.parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    rows = _commands_table()
    assert sorted(example.split()[0] for example, _ in rows) == sorted(sub.choices)
    for example, _ in rows:
        parser.parse_args(example.split())  # raises UsageError on a flag or value the command does not take


def test_the_quickstart_python_is_ci_s() -> None:
    """The Python release the quickstart names is the one the pull-request workflow sets up."""
    [version] = re.findall(r"^## Quickstart \(a fresh machine with Python ([\d.]+)\)$", readme(), re.M)
    pr = yaml.safe_load((ROOT / ".github" / "workflows" / "pr.yml").read_text())
    setups = [s["with"]["python-version"] for job in pr["jobs"].values() for s in job["steps"]
              if str(s.get("uses", "")).startswith("actions/setup-python")]
    assert setups and set(setups) == {version}


def test_the_readme_holds_no_untested_number() -> None:
    """Numbers in the README are generated or tested: outside code, the exit-code table (tests/test_new_user_paths.py)
    and the quickstart's Python (above), the prose holds none but versions of named things (TLS 1.2+, Gen2)."""
    text = readme()
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    prose = prose.replace(exits.markdown_table(), "")
    prose = re.sub(r"`[^`]*`", "", prose)  # code: commands the table test parses, names
    prose = re.sub(r"\]\([^)]*\)", "]", prose)  # link targets
    prose = re.sub(r"^\d+\. ", "", prose, flags=re.M)  # an ordered list's markers
    prose = re.sub(r"^## Quickstart \(a fresh machine with Python [\d.]+\)$", "", prose, flags=re.M)
    numbers = re.findall(r"(?<![\w.])\d[\d.,]*", prose)
    assert numbers == ["1.2"], numbers  # "Traefik with TLS 1.2+", a protocol version


def test_the_rule_count_lives_in_the_guardrails_doc() -> None:
    assert re.search(r"^\d+ rules in all", doc("guardrails"), re.M)
    assert "rules in all" not in readme()
