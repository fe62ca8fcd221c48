"""Key and seal files: private (0600), durable, never seen half-written.

The key-encryption keyset, the audit HMAC keys and the audit seal key are all
created the same way, so that two processes starting together agree on one key.
"""

import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)


def publish_private(path: Path, content: bytes, what: str) -> None:
    """Create ``path`` with ``content`` (0600, in a 0700 directory) unless it exists.

    A private temporary file is written (O_EXCL, 0600 from the start), then
    published with link(), which fails if the name exists: two processes cannot
    both create the file, and no reader ever sees it half-written.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = write_private(path, content)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process won the race; its file is the one everybody uses
    else:
        fsync_directory(path.parent)
        log.info("%s created: %s", what, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_private(path: Path, content: bytes) -> Path:
    """Write content durably to a new 0600 file next to path; return its name."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
