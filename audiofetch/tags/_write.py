"""``tag_file``: write the page's tags into a saved file, never failing the download that made it.

mutagen rewrites files in place (it moves audio data to grow the tag), so a crash, a full disk or a
mutagen bug halfway through would leave a damaged file. ``tag_file`` therefore tags a copy in the
same folder and renames it over the original with ``os.replace``: readers see the old file or the
new one, never a mix. A crash can leave a hidden ``.*.tagging`` file next to it, never a broken one.
The price is one extra write of the file, small next to downloading it; a file that needs no change
is not copied.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from audiofetch.tags._containers import open_container
from audiofetch.tags._merge import plan_updates
from audiofetch.tags._model import TrackTags

__all__ = ["tag_file"]

logger = logging.getLogger(__name__)


def tag_file(
    path: str | os.PathLike[str],
    tags: TrackTags,
    *,
    overwrite_existing: bool = False,
    display_name: str | None = None,
) -> bool:
    """Merge ``tags`` into the file at ``path``; True when it now carries them, False when it cannot.

    Blocking: run it in a thread. Formats: MP3 (ID3v2.4), M4A/MP4, FLAC, OGG Vorbis, Opus, judged
    by magic bytes. What "better data" means (which existing values are replaced) is spelled out in
    ``audiofetch.tags._merge``: fields the file lacks are filled, placeholder values (blank, ``Track
    07``, ``Unknown``, the file's name) are replaced, real values are kept unless
    ``overwrite_existing``. A file already right is not rewritten.

    Never raises for a bad file: an unsupported format, an unreadable or damaged file, or a failed
    write returns False, logs why, and leaves the file byte for byte as it was. ``display_name`` is the
    name to judge placeholders against and to log (default: the file's name; pass the final name
    when tagging ``NAME.part``).
    """
    file_path = Path(path)
    name = display_name or file_path.name
    try:
        container = open_container(file_path)
        if container is None:
            logger.info("not tagged %s: not a format we tag (MP3, M4A, FLAC, OGG, Opus)", name)
            return False
        updates = plan_updates(container.read(), tags, file_name=name, overwrite=overwrite_existing)
        if updates.empty:
            return True
        _tag_copy(file_path, updates)
    except Exception as exc:  # any failure, mutagen's or the disk's, only skips tagging
        logger.warning("not tagged %s: %s: %s", name, type(exc).__name__, exc)
        return False
    return True


def _tag_copy(path: Path, updates: TrackTags) -> None:
    """Apply ``updates`` to a copy of ``path``, flush it, then rename it over ``path``."""
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tagging")
    os.close(handle)
    temp = Path(temp_name)
    try:
        shutil.copyfile(path, temp)
        shutil.copymode(path, temp)
        container = open_container(temp)
        if container is None:  # the file changed under us since it was read
            raise ValueError("the file changed while it was being tagged")
        container.apply(updates)
        container.save()
        with temp.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
