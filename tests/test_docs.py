"""Documentation that must stay true: the settings table and the README's opening commands."""

from __future__ import annotations

from pathlib import Path

from audiofetch.config import settings_markdown

ROOT = Path(__file__).resolve().parent.parent


def test_configuration_doc_lists_every_setting_as_in_the_code() -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert settings_markdown() in doc, (
        "regenerate the table in docs/configuration.md from settings_markdown()"
    )


def test_readme_opens_with_the_two_commands() -> None:
    head = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:12]
    assert any(line.startswith("./run.sh ") and "start" in line for line in head)
    assert any(line.startswith("./run.sh test") for line in head)


def test_ci_runs_the_readme_test_command() -> None:
    assert "./run.sh test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_env_example_names_every_setting() -> None:
    from audiofetch.config import SETTINGS

    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    names = {line.split("=", 1)[0].lstrip("# ").strip() for line in text.splitlines() if "=" in line}
    missing = [s.env for s in SETTINGS if s.env not in names]
    assert not missing, f".env.example lacks {missing}"


def test_security_doc_points_only_at_tests_that_exist() -> None:
    import re

    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    current: Path | None = None
    checked = 0
    for ref in re.findall(r"`(tests/[\w/]+\.py(?:::\w+)?|::\w+)`", text):
        path_part, _, name = ref.partition("::")
        if path_part:
            current = ROOT / path_part
            assert current.exists(), f"docs/security.md names a missing file {path_part}"
        if name:
            assert current is not None, f"{ref} has no file before it"
            source = current.read_text(encoding="utf-8")
            assert re.search(rf"def {name}\(", source), f"docs/security.md names a missing test {ref}"
            checked += 1
    assert checked >= 30
