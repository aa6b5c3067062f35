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
