"""``audiofetch inspect``: the documented ``--json`` shape and the table, against a real local site."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import ALLOW, run_cli
from tests.cli.site_server import Site

FIXTURES = Path(__file__).parent.parent / "fixtures" / "pages"


def lanterns(site: Site) -> str:
    return site.page("/lanterns/album.html", (FIXTURES / "html5_audio" / "album.html").read_text())


def test_inspect_json_has_the_documented_keys_and_values(site: Site, tmp_path: Path) -> None:
    page = lanterns(site)
    result = run_cli("inspect", page, "--json", *ALLOW, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert data["url"] == page
    assert data["title"] == "Harbour Songs — The Lanterns"
    assert data["player"] == "html5_audio"
    audio = site.url("/lanterns/audio/")
    assert [{key: t[key] for key in ("index", "url", "title")} for t in data["tracks"]] == [
        {"index": 1, "url": audio + "01%20Morning%20Light.mp3", "title": "Morning Light"},
        {"index": 2, "url": audio + "02-harbour.mp3", "title": "Harbour"},
        {"index": 3, "url": audio + "03-tide.ogg", "title": "Tide Tables"},
        {"index": 4, "url": audio + "04-lantern.m4a", "title": "Lantern"},
        {"index": 5, "url": audio + "05-coda.mp3", "title": "Coda"},
    ]
    # Nothing is downloaded: only the page (and its same-site script) were requested.
    assert {path for path, _ in site.seen} <= {"/lanterns/album.html", "/lanterns/js/site.js"}


def test_inspect_json_title_is_null_when_the_page_has_none(site: Site, tmp_path: Path) -> None:
    page = site.page("/bare", '<!DOCTYPE html><html><body><audio src="/a.mp3"></audio></body></html>')
    data = json.loads(run_cli("inspect", page, "--json", *ALLOW, cwd=tmp_path).stdout)

    assert data["title"] is None
    assert [(t["index"], t["url"], t["title"]) for t in data["tracks"]] == [(1, site.url("/a.mp3"), None)]


def test_inspect_json_follows_prefer_and_plugin(site: Site, tmp_path: Path) -> None:
    page = lanterns(site)
    preferred = json.loads(run_cli("inspect", page, "--json", "--prefer", "ogg", *ALLOW, cwd=tmp_path).stdout)
    assert preferred["tracks"][1]["url"] == site.url("/lanterns/audio/02-harbour.ogg")

    forced = json.loads(run_cli("inspect", page, "--json", "--plugin", "links", *ALLOW, cwd=tmp_path).stdout)
    assert forced["player"] == "links"
    assert [(t["index"], t["url"]) for t in forced["tracks"]] == [
        (1, site.url("/lanterns/audio/02-harbour.mp3"))
    ]


def test_inspect_prints_a_table_without_json(site: Site, tmp_path: Path) -> None:
    page = lanterns(site)
    result = run_cli("inspect", page, *ALLOW, cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Harbour Songs — The Lanterns  [html5_audio]  5 tracks"
    assert lines[1:3] == [
        "  1. Morning Light",
        f"     {site.url('/lanterns/audio/01%20Morning%20Light.mp3')}",
    ]
    assert lines[-2] == "  5. Coda"
