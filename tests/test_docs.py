"""The README a newcomer reads in ten minutes (issue #14): short, every link into docs/ resolves, the command table
is the command line's, and every number in it is tested."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
import yaml

from brickwall import cli, exits
from tests.docs import DOCS, ROOT, anchors, doc, files, links, readme


def test_the_readme_is_short() -> None:
    assert len(readme().splitlines()) <= 260


@pytest.mark.parametrize("path", files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_at_an_existing_file(path) -> None:  # type: ignore[no-untyped-def]
    broken = []
    for target in links(path.read_text()):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / unquote(file)).resolve() if file else path
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            broken.append(f"{target}: no heading with that anchor in {dest.relative_to(ROOT)}")
    assert not broken, broken


def test_the_link_check_sees_a_broken_link() -> None:
    """The walker finds links outside code only, and GitHub's anchors."""
    text = "See [a](docs/a.md#x-y) and `[b](nope.md)`.\n```sh\n[c](nope.md)\n```\n## X: y (`z`) 1.2\n"
    assert links(text) == ["docs/a.md#x-y"]
    assert anchors(text) == {"x-y-z-12"}


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
    parser = cli._parser()
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
