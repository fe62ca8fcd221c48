"""Shared fixtures: a real SMTP server, the demo population as personas."""

import re
import socket
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

pytest_plugins = [
    "tests.tiny_disk",  # full_disk: a real ENOSPC
    "tests.fuzz.summary",  # the fuzzer's figures
    "tests.reliability.figures",  # the kill -9 suite's figures
]


# The longest tests first: pytest-xdist hands tests out in this order, so the two workers
# end together instead of one waiting while the other runs a minute-long test it took last.
SLOW_FIRST = (
    "tests/reliability/test_kill_during_ingestion.py",
    "tests/fuzz/",
    "tests/e2e/",
    "tests/reliability/",
    "tests/fhir/",
)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    def rank(item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return next(
            (i for i, prefix in enumerate(SLOW_FIRST) if path.startswith(prefix)), len(SLOW_FIRST)
        )

    items.sort(key=rank)  # stable: the order within each group is kept


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mailbox:
    """What the test SMTP server received, newest last."""

    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self):
        self._arrived = threading.Condition(self._lock)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        message = message_from_bytes(envelope.content, policy=default_policy)
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, to: str, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        """Block until the count-th message to `to` arrives, and return it."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.to(to)) >= count, timeout=timeout)
            found = self.to(to)
        if len(found) < count:
            raise AssertionError(f"Aucun courriel n°{count} reçu pour {to}")
        return found[count - 1]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in (m["To"] or "")]

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        return part.get_content() if part else ""

    def code_for(self, address: str, count: int | None = None) -> str:
        """The one-time sign-in code of the count-th code email to `address`.

        Without ``count``, the newest code email. Other emails (an access
        notification, say) never get in the way.
        """
        with self._arrived:
            self._arrived.wait_for(
                lambda: len(self._code_emails(address)) >= (count or 1), timeout=10
            )
            found = self._code_emails(address)
        if len(found) < (count or 1):
            raise AssertionError(f"Aucun courriel de code n°{count or 1} reçu pour {address}")
        text = self.body(found[(count or len(found)) - 1])
        match = re.search(r"\b(\d{6})\b", text)
        if not match:
            raise AssertionError(f"Pas de code dans le courriel : {text!r}")
        return match.group(1)

    def _code_emails(self, address: str) -> list[EmailMessage]:
        return [m for m in self.to(address) if "code de connexion" in (m["Subject"] or "")]


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]


@pytest.fixture(autouse=True)
def private_keys_and_blobs(settings, tmp_path):
    """Each test gets its own var/ (key-encryption key, blobs, letters, temporary
    files), never the checkout's nor another test's: tests run in parallel
    (pytest-xdist) and each worker has its own tmp_path."""
    settings.VAR_DIR = tmp_path
    (tmp_path / "tmp").mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "tmp")
    settings.KEK_KEYSET_FILE = str(tmp_path / "keys" / "kek.json")
    location = tmp_path / "blobs"
    settings.STORAGES = {
        **settings.STORAGES,
        "blobs": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
        "letters": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "letters")},
        },
    }
    return location


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on 127.0.0.1; Django sends through it."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    yield mailbox
    controller.stop()


@dataclass
class Personas:
    """The demo population, named as the tests speak of them."""

    mother: object  # Person, Marie Durand, 38, has an account
    child: object  # Person, Léo, 6, no account, represented by his mother
    elder: object  # Person, Jean Petit, 72
    gp: object  # Professional, Dr Claire Martin, the mother's médecin traitant
    hospital_doctor: object
    pharmacist: object
    biologist: object
    password: str
    totp_secret: str


@pytest.fixture
def personas(db) -> Personas:
    from espace_sante.demo.people import DEMO_PASSWORD, DEMO_TOTP_SECRET, load_demo
    from espace_sante.identity.models import Person, Professional

    load_demo(with_documents=False, with_profile=False)  # slow to make; tests add their own
    return Personas(
        mother=Person.objects.get(birth_name="DURAND", first_names="Marie Claire"),
        child=Person.objects.get(birth_name="DURAND", first_names="Léo"),
        elder=Person.objects.get(birth_name="PETIT"),
        gp=Professional.objects.get(last_name="Martin"),
        hospital_doctor=Professional.objects.get(last_name="Benali"),
        pharmacist=Professional.objects.get(last_name="Lefèvre"),
        biologist=Professional.objects.get(last_name="Nguyen"),
        password=DEMO_PASSWORD,
        totp_secret=DEMO_TOTP_SECRET,
    )


@pytest.fixture(autouse=True, scope="session")
def flush_only_what_a_test_wrote():
    """A transactional test (live server, processes) ends with a flush of every table.

    On PostgreSQL Django truncates some ninety tables, each given new files: most of a
    transactional test's time, and more on a slow disk. Instead the tables holding rows
    are emptied with DELETE in one transaction (Django's foreign keys are deferred, so
    the order does not matter); a table guarded by a trigger (the audit trail refuses
    DELETE) is truncated. Content types and permissions stay: the post-migrate signal
    would only create them again.
    """
    from django.db.backends.postgresql.operations import DatabaseOperations

    original = DatabaseOperations.sql_flush
    kept = {"django_content_type", "auth_permission"}

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or not tables:
            return original(
                self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        quote = self.quote_name
        with self.connection.cursor() as cursor:
            cursor.execute(
                " UNION ALL ".join(
                    # Django's own table names, quoted: nothing from outside.
                    f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})"  # noqa: S608
                    for table in tables
                ),
                list(tables),
            )
            filled = [row[0] for row in cursor.fetchall() if row[0] not in kept]
            cursor.execute(
                "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
            )
            guarded = {row[0] for row in cursor.fetchall()}
        truncated = [table for table in filled if table in guarded]
        statements = original(self, style, truncated, allow_cascade=True) if truncated else []
        return statements + [
            f"DELETE FROM {quote(table)}"  # noqa: S608
            for table in filled
            if table not in guarded
        ]

    DatabaseOperations.sql_flush = sql_flush
    yield
    DatabaseOperations.sql_flush = original


@pytest.fixture(autouse=True)
def no_cache_left_behind(request, django_db_blocker):
    """Rate limits, locks and used one-time codes live in the cache, a table that a
    transactional test's flush does not empty: clear it so no test inherits them."""
    yield
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        from django.core.cache import cache

        with django_db_blocker.unblock():
            cache.clear()
