"""Speed of envelope encryption (espace_sante.crypto) against raw Tink.

    .venv/bin/python bench/crypto.py

Runs on a throwaway instance (temporary ESPACE_SANTE_VAR_DIR, SQLite database
and KEK file) and prints figures only:

- blobs: MB/s through open_encrypting_stream / open_decrypting_stream (20 MB),
  against Tink's StreamingAead used directly and one-shot AES256_GCM on 1 MB chunks;
- fields: cost per call of encrypt/decrypt of 200 bytes, with and without the
  per-process cache of unwrapped keys, and what the time is spent on;
- memory: peak RSS growth while streaming a 64 MB file to a file.
"""

import io
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

MB = 1024 * 1024
BLOB_MB = 20
FIELD_CALLS = 5000
REPEAT = 3


class _KeepOpen(io.BytesIO):
    """Tink closes its destination when the stream closes; keep the bytes readable."""

    def close(self):
        pass


def best_of(function, repeat=REPEAT) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def per_call_us(function, calls=FIELD_CALLS) -> float:
    return best_of(lambda: [function() for _ in range(calls)]) / calls * 1e6


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench(tmp: Path) -> None:
    import tink
    from django.core.management import call_command
    from stdnum.fr import nir
    from tink import aead, streaming_aead

    from espace_sante.crypto import kek as kek_file
    from espace_sante.crypto import services, streams
    from espace_sante.crypto.models import PatientKeys
    from espace_sante.identity.services import create_person

    call_command("migrate", "crypto", verbosity=0)
    number = "2880331555123"
    patient = create_person(
        ins_matricule=number + nir.calc_check_digits(number),
        birth_name="Banc",
        first_names="Essai",
        birth_date=date(1988, 3, 14),
        sex="F",
        birth_place_code="31555",
        department="31",
    )
    services.ensure_keys(patient)
    pid, oid = patient.id, uuid.uuid4()

    # Memory first, before this script holds big buffers of its own.
    plain_file, blob_file = tmp / "plain.bin", tmp / "blob.bin"
    with open(plain_file, "wb") as handle:
        for _ in range(64):
            handle.write(os.urandom(MB))
    before = peak_rss_mb()
    with open(plain_file, "rb") as source, open(blob_file, "wb") as destination:
        with streams.open_encrypting_stream(pid, oid, destination) as stream:
            while chunk := source.read(MB):
                stream.write(chunk)
    with streams.open_decrypting_stream(pid, oid, open(blob_file, "rb")) as stream:
        while stream.read(MB):
            pass
    rss_growth = peak_rss_mb() - before
    plain_file.unlink()
    blob_file.unlink()

    data = os.urandom(BLOB_MB * MB)
    view = memoryview(data)
    chunks = [view[i : i + MB] for i in range(0, len(data), MB)]
    associated = b"espace-sante|bench"

    def ours_encrypt():
        destination = io.BytesIO()
        with streams.open_encrypting_stream(pid, oid, destination) as stream:
            for chunk in chunks:
                stream.write(chunk)
        return destination.getvalue()

    ours_ciphertext = ours_encrypt()

    def ours_decrypt():
        with streams.open_decrypting_stream(pid, oid, io.BytesIO(ours_ciphertext)) as stream:
            while stream.read(MB):
                pass

    stream_primitive = tink.new_keyset_handle(
        streaming_aead.streaming_aead_key_templates.AES256_GCM_HKDF_1MB
    ).primitive(streaming_aead.StreamingAead)

    def raw_stream_encrypt():
        destination = _KeepOpen()
        with stream_primitive.new_encrypting_stream(destination, associated) as stream:
            for chunk in chunks:
                stream.write(chunk)
        return destination.getvalue()

    raw_stream_ciphertext = raw_stream_encrypt()

    def raw_stream_decrypt():
        stream = stream_primitive.new_decrypting_stream(
            io.BytesIO(raw_stream_ciphertext), associated
        )
        while stream.read(MB):
            pass
        stream.close()

    aead_primitive = tink.new_keyset_handle(aead.aead_key_templates.AES256_GCM).primitive(aead.Aead)
    chunk_bytes = [bytes(chunk) for chunk in chunks]
    aead_ciphertexts = [aead_primitive.encrypt(chunk, associated) for chunk in chunk_bytes]

    def raw_aead_encrypt():
        for chunk in chunk_bytes:
            aead_primitive.encrypt(chunk, associated)

    def raw_aead_decrypt():
        for ciphertext in aead_ciphertexts:
            aead_primitive.decrypt(ciphertext, associated)

    print(f"Blobs, {BLOB_MB} MB in 1 MB writes/reads, best of {REPEAT} (MB/s)")
    print(f"  {'':44}{'encrypt':>10}{'decrypt':>10}")
    for label, encrypt, decrypt in (
        ("open_encrypting/decrypting_stream (ours)", ours_encrypt, ours_decrypt),
        ("Tink StreamingAead AES256_GCM_HKDF_1MB", raw_stream_encrypt, raw_stream_decrypt),
        ("Tink Aead AES256_GCM, one-shot 1 MB chunks", raw_aead_encrypt, raw_aead_decrypt),
    ):
        print(f"  {label:44}{BLOB_MB / best_of(encrypt):>10.0f}{BLOB_MB / best_of(decrypt):>10.0f}")
    overhead = len(ours_ciphertext) - len(data)
    print(f"  ciphertext overhead of a {BLOB_MB} MB blob: {overhead} bytes")
    print(f"  peak RSS growth while streaming 64 MB file -> file and back: {rss_growth:.1f} MB")

    field = os.urandom(200)
    ciphertext = services.encrypt(pid, oid, field, purpose="note")
    wrapped = bytes(PatientKeys.objects.get(pk=pid).wrapped_aead)
    kek = kek_file.current()

    rows = {
        "encrypt, key cache on": per_call_us(
            lambda: services.encrypt(pid, oid, field, purpose="note")
        ),
        "decrypt, key cache on": per_call_us(
            lambda: services.decrypt(pid, oid, ciphertext, purpose="note")
        ),
    }
    cache_size = services._cache.max_size
    services._cache.max_size = 0
    services._cache.clear()
    rows["encrypt, key cache off"] = per_call_us(
        lambda: services.encrypt(pid, oid, field, purpose="note")
    )
    rows["decrypt, key cache off"] = per_call_us(
        lambda: services.decrypt(pid, oid, ciphertext, purpose="note")
    )
    services._cache.max_size = cache_size
    rows["  of which: read the key row (SQLite)"] = per_call_us(
        lambda: list(
            PatientKeys.objects.filter(pk=pid).values_list(
                "wrapped_aead", "kek_key_id", "destroyed_at"
            )
        )
    )
    rows["  of which: unwrap keyset + primitive"] = per_call_us(
        lambda: services._unwrap(wrapped, kek, pid, "aead").primitive(aead.Aead)
    )
    rows["  of which: KEK file stat"] = per_call_us(kek_file.current)
    raw_ciphertext = aead_primitive.encrypt(field, associated)
    rows["raw Tink Aead encrypt"] = per_call_us(lambda: aead_primitive.encrypt(field, associated))
    rows["raw Tink Aead decrypt"] = per_call_us(
        lambda: aead_primitive.decrypt(raw_ciphertext, associated)
    )
    print(f"\nFields, 200 bytes, {FIELD_CALLS} calls, best of {REPEAT} (µs per call)")
    for label, value in rows.items():
        print(f"  {label:44}{value:>10.1f}")
    print(f"  ciphertext size of a 200-byte field: {len(ciphertext)} bytes")


def main() -> None:
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root))
    with tempfile.TemporaryDirectory(prefix="espace-sante-bench-") as tmp:
        # A throwaway instance: nothing under var/, whatever the environment says.
        os.environ["ESPACE_SANTE_VAR_DIR"] = tmp
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
        os.environ["KEK_KEYSET_FILE"] = f"{tmp}/keys/kek.json"
        os.environ["DJANGO_SETTINGS_MODULE"] = "espace_sante.settings"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        bench(Path(tmp))


if __name__ == "__main__":
    main()
