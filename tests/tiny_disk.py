"""A real full disk for tests: a tiny tmpfs the kernel fills (``ENOSPC``), no mocking.

Mounting needs privileges, so a helper process enters its own user and mount
namespaces (``unshare --user --map-root-user --mount``, allowed to an
unprivileged user where user namespaces are on), mounts a tmpfs of a few
kilobytes there and sleeps. The test process reaches that tmpfs through
``/proc/<helper pid>/root/…``: every write past its size fails in the kernel
with ``ENOSPC``, exactly as on a full production disk. Nothing else of the
machine sees the mount; it disappears with the helper.
"""

import contextlib
import gc
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


class TinyDisk:
    def __init__(self, mount_point: Path, size_bytes: int):
        self.mount_point = mount_point
        mount_point.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "unshare",
                "--user",
                "--map-root-user",
                "--mount",
                "sh",
                "-c",
                f"mount -t tmpfs -o size={size_bytes} tmpfs '{mount_point}' && echo ready "
                "&& exec sleep 600",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        line = self.process.stdout.readline() if self.process.stdout else b""
        if line.strip() != b"ready":
            self.close()
            pytest.skip("no tmpfs in a user namespace on this machine (unshare refused)")
        self.path = Path(f"/proc/{self.process.pid}/root") / mount_point.relative_to("/")

    def files(self) -> list[Path]:
        return [p for p in self.path.rglob("*") if p.is_file()]

    def close(self) -> None:
        # A temporary file still open on the disk (an upload Django was spooling when
        # the disk filled, kept alive by the logged traceback) is closed while it exists.
        where = str(getattr(self, "path", "//"))
        for found in gc.get_objects():
            # type(), not isinstance(): it must not evaluate lazy objects (the CSP nonce).
            if type(found) is tempfile._TemporaryFileWrapper and where in str(found.name):
                with contextlib.suppress(OSError):  # its buffer cannot be flushed: disk full
                    found.close()
        self.process.kill()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream:
                stream.close()


@pytest.fixture
def full_disk(settings, private_keys_and_blobs, tmp_path):
    """The blob store on a 64 KiB disk of its own: any blob larger than that fills it."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    disk = TinyDisk(tmp_path / "tiny-disk", 64 * 1024)
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(disk.path / "blobs")},
        },
    }
    deadline = time.monotonic() + 5
    while not disk.path.exists() and time.monotonic() < deadline:  # the mount is visible
        time.sleep(0.01)
    yield disk
    disk.close()
