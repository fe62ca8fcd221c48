"""Kill -9 during document ingestion: the scenario shared by the test and bench/reliability.py.

The service runs as `make run` runs it, in processes of its own: `espace-sante serve`
(gunicorn, a master and several workers) and `espace-sante worker`. Client threads
push distinct documents over FHIR as professional software does, each request with its
`Idempotency-Key`; a client that loses its connection sends the same request again with
the same key, as draft-ietf-httpapi-idempotency-key-header asks. Meanwhile a "chaos"
thread kills gunicorn workers, the gunicorn master and the task worker with SIGKILL and,
like a supervisor (systemd, Kubernetes), starts again what must be started again.

Nothing here asserts: `check` counts what was lost, half-visible or duplicated, and the
caller asserts (the test) or prints (the bench).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jwt
import requests
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives.asymmetric import ec

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KID = "fiabilite"
# What a client waits before sending again after a lost connection (a restart takes seconds).
RETRY_PAUSE = 0.2
# Answers a client sends again with the same key: the server was down or restarting.
RETRYABLE_STATUSES = {502, 503, 504}
READ_BACK_EVERY = 7
# Every so often a client gives up waiting almost at once (a mobile link, a proxy's
# timeout): the server goes on and stores the document, the client sends it again, and
# its key must bring back the same document, even while the first request still runs.
IMPATIENT_EVERY = 25
IMPATIENT_SECONDS = 0.01  # no push is stored that fast: the answer is always lost


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- Data: patients, one professional, his practice's software ----------------


@dataclass
class Setup:
    client_id: str
    key: ec.EllipticCurvePrivateKey
    rpps: str
    profession: str
    finess: str
    patients: list[str]  # Person ids
    emails: dict[str, str]  # Person id -> address


def prepare(patient_count: int) -> Setup:
    """The demo directory, ``patient_count`` patients followed by Dr Martin, one software."""
    from stdnum.fr import nir

    from espace_sante.crypto import services as crypto
    from espace_sante.demo.people import load_demo
    from espace_sante.fhir.services import register_software
    from espace_sante.identity import services as identity
    from espace_sante.identity.models import Organization, Professional
    from espace_sante.identity.reference import INS_DEMO_NIR

    load_demo(with_documents=False, with_profile=False)
    gp = Professional.objects.get(rpps="10001234565")
    practice = Organization.objects.get(finess="310001235")
    patients, emails = [], {}
    for n in range(patient_count):
        number = f"2880331777{n:03d}"
        person = identity.create_person(
            ins_matricule=number + nir.calc_check_digits(number),
            ins_system=INS_DEMO_NIR,
            birth_name=f"FIABLE{n}",
            first_names="Essai",
            birth_date=date(1988, 3, 14),
            sex="F",
            birth_place_code="31555",
            department="31",
            medecin_traitant=gp,
            email=f"patient{n}@fiabilite.test",
        )
        crypto.ensure_keys(person)
        patients.append(str(person.id))
        emails[str(person.id)] = person.email
    key = ec.generate_private_key(ec.SECP256R1())
    public = jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    client = register_software(
        practice, "Logiciel de cabinet (essai de fiabilité)", {"keys": [{**public, "kid": KID}]}
    )
    return Setup(
        client.application.client_id,
        key,
        gp.rpps,
        gp.profession,
        practice.finess,
        patients,
        emails,
    )


# --- The service's processes, kept alive as a supervisor would -------------------


class Mailbox:
    """A real SMTP server that counts the messages received per recipient."""

    def __init__(self):
        self.received: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        with self.lock:
            self.received.update(envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    def stop(self) -> None:
        self.controller.stop()


@dataclass
class Kills:
    web_workers: int = 0
    masters: int = 0
    task_workers: int = 0
    server_restarts: int = 0


class Service:
    """`espace-sante serve` and `espace-sante worker`, started, killed and started again."""

    def __init__(self, var_dir: Path, database_url: str, email_port: int, web_workers: int):
        self.var_dir = var_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.web_workers = web_workers
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "ESPACE_SANTE_VAR_DIR": str(var_dir),
            "KEK_KEYSET_FILE": str(var_dir / "keys" / "kek.json"),
            "EMAIL_URL": f"smtp://127.0.0.1:{email_port}",
            "SITE_URL": self.base,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            # The API serves no static file, and whitenoise's compression of the 5,000 DSFR
            # files takes 20 s of `serve`'s collectstatic at every start: copied as they are.
            "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
        }
        self.logs = var_dir / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.started: list[subprocess.Popen] = []
        self.kills = Kills()
        self.lock = threading.Lock()

    def _spawn(self, name: str, *arguments: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - kept by the process
        process = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
            [sys.executable, "-m", "espace_sante.cli", *arguments],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a supervisor's kill reaches all of it
        )
        log.close()
        self.started.append(process)
        return process

    def start_web(self) -> None:
        self.web = self._spawn(
            "web", "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--workers", str(self.web_workers),
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.web.poll() is not None:
                raise RuntimeError(f"the server exited: see {self.logs / 'web.log'}")
            try:
                ready = requests.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                ready = False
            if ready and len(self.web_worker_pids()) == self.web_workers:
                return
            time.sleep(0.2)
        raise RuntimeError("the server did not start in time")

    def start_worker(self) -> None:
        self.worker = self._spawn(
            "worker", "worker", "--no-startup-delay", "--interval", "0.2", "--max-backoff", "1",
            "--no-reload", "-v", "1",
        )  # fmt: skip

    def web_worker_pids(self) -> list[int]:
        """The gunicorn workers: the master's children."""
        if self.web is None:
            return []
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def kill_web_worker(self) -> bool:
        """SIGKILL one gunicorn worker (its master starts another)."""
        with self.lock:
            pids = self.web_worker_pids()
            if not pids:
                return False
            _kill(random.choice(pids))  # noqa: S311 - not cryptographic
            self.kills.web_workers += 1
            return True

    def kill_master(self) -> None:
        """SIGKILL the gunicorn master; then, as a supervisor would, its group, and restart."""
        with self.lock:
            assert self.web is not None
            orphans = self.web_worker_pids()
            _kill(self.web.pid)
            self.web.wait()
            self.kills.masters += 1
            # systemd (KillMode=control-group) or a container runtime ends what is left.
            for pid in orphans:
                _kill(pid)
            _wait_gone(orphans)
            self.start_web()
            self.kills.server_restarts += 1

    def kill_task_worker(self) -> None:
        with self.lock:
            assert self.worker is not None
            _kill(self.worker.pid)
            self.worker.wait()
            self.kills.task_workers += 1
            self.start_worker()

    def stop(self) -> None:
        """Stop everything this object started (gracefully, then by force)."""
        for process in self.started:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _wait_gone(pids: list[int], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.05)


# --- Professional software pushing documents ----------------------------------


@dataclass
class Push:
    """One document to push, with everything a client keeps to send it again."""

    number: int
    patient_id: str
    key: str  # Idempotency-Key
    body: str
    sha256: str
    status: int = 0  # the answer that acknowledged it (201, or 200 for a replay)
    document_id: str = ""
    attempts: int = 0
    failure: str = ""


def make_pushes(setup: Setup, count: int, size: int) -> list[Push]:
    pushes = []
    for n in range(count):
        patient = setup.patients[n % len(setup.patients)]
        # Distinct bytes for every document: a line of its own, then random text.
        lines = [f"Compte rendu de consultation n° {n} ({uuid.uuid4()})"]
        while sum(len(line) + 1 for line in lines) < size:
            lines.append(os.urandom(32).hex())
        data = ("\n".join(lines) + "\n").encode()
        resource = {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"coding": [{"system": "http://loinc.org", "code": "11488-4"}]},
            "subject": {"reference": f"Patient/{patient}"},
            "description": f"Compte rendu {n}",
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(data).decode(),
                        "size": len(data),
                        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode(),  # noqa: S324 - MHD's hash is SHA-1
                    }
                }
            ],
        }
        if n % 2 == 0:
            # Half the software sets a producer id (a second line against duplicates); the
            # other half relies on the Idempotency-Key alone.
            resource["masterIdentifier"] = {"value": f"urn:uuid:{uuid.uuid4()}"}
        digest = hashlib.sha256(data).hexdigest()
        pushes.append(Push(n, patient, str(uuid.uuid4()), json.dumps(resource), digest))
    return pushes


@dataclass
class Counts:
    retries: int = 0  # requests sent again after a lost connection or a 502/503/504
    connection_errors: int = 0
    timeouts: int = 0  # answers the client stopped waiting for
    retry_statuses: Counter[int] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **increments: int) -> None:
        with self.lock:
            for name, value in increments.items():
                setattr(self, name, getattr(self, name) + value)


class Software:
    """One installation of the practice's software, shared by the client threads."""

    def __init__(self, base: str, setup: Setup):
        self.base = base
        self.fhir = f"{base}/fhir/R4"
        self.setup = setup
        self._token = ""
        self._token_lock = threading.Lock()

    def _sign(self, claims: dict) -> str:
        return jwt.encode(claims, self.setup.key, algorithm="ES256", headers={"kid": KID})

    def token(self, renew: bool = False) -> str:
        with self._token_lock:
            if renew or not self._token:
                now = int(time.time())
                assertion = self._sign(
                    {
                        "iss": self.setup.client_id,
                        "sub": self.setup.client_id,
                        "aud": f"{self.base}/o/token/",
                        "iat": now,
                        "exp": now + 60,
                        "jti": str(uuid.uuid4()),
                    }
                )
                answer = _retrying(
                    lambda: requests.post(
                        f"{self.base}/o/token/",
                        data={
                            "grant_type": "client_credentials",
                            "client_assertion_type": JWT_BEARER,
                            "client_assertion": assertion,
                        },
                        timeout=30,
                    )
                )
                answer.raise_for_status()
                self._token = answer.json()["access_token"]
            return self._token

    def headers(self, **extra: str) -> dict[str, str]:
        now = int(time.time())
        # A new single-use assertion for every attempt, a retry included.
        acting = self._sign(
            {
                "iss": self.setup.client_id,
                "aud": self.fhir,
                "sub": self.setup.rpps,
                "profession": self.setup.profession,
                "organization": self.setup.finess,
                "iat": now,
                "exp": now + 60,
                "jti": str(uuid.uuid4()),
            }
        )
        return {
            "Authorization": f"Bearer {self.token()}",
            "X-Acting-Professional": acting,
            "Accept": "application/fhir+json",
            **extra,
        }

    def push(self, item: Push, counts: Counts) -> None:
        """Send until acknowledged; the same key and body every time."""
        while True:
            item.attempts += 1
            impatient = item.attempts == 1 and item.number % IMPATIENT_EVERY == IMPATIENT_EVERY // 2
            try:
                answer = requests.post(
                    f"{self.fhir}/DocumentReference",
                    data=item.body,
                    headers=self.headers(
                        **{
                            "Content-Type": "application/fhir+json",
                            "Idempotency-Key": f'"{item.key}"',
                            "Prefer": "return=minimal",
                        }
                    ),
                    timeout=(10, IMPATIENT_SECONDS) if impatient else 120,
                )
            except requests.ConnectionError:
                counts.add(retries=1, connection_errors=1)
                time.sleep(RETRY_PAUSE)
                continue
            except requests.Timeout:
                counts.add(retries=1, timeouts=1)
                time.sleep(RETRY_PAUSE)
                continue
            if answer.status_code in RETRYABLE_STATUSES:
                with counts.lock:
                    counts.retries += 1
                    counts.retry_statuses[answer.status_code] += 1
                time.sleep(RETRY_PAUSE)
                continue
            if answer.status_code == 401 and "expir" in answer.text:
                self.token(renew=True)
                continue
            if answer.status_code in (200, 201):
                item.status = answer.status_code
                item.document_id = answer.headers["Location"].split("/DocumentReference/")[1]
                item.document_id = item.document_id.split("/")[0]
                return
            item.failure = f"{answer.status_code} {answer.text[:300]}"
            return

    def read(self, document_id: str) -> bytes | None:
        """The bytes the API gives back for a document (None when it answers otherwise)."""
        answer = _retrying(
            lambda: requests.get(
                f"{self.fhir}/Binary/{document_id}", headers=self.headers(Accept="*/*"), timeout=60
            )
        )
        return answer.content if answer.status_code == 200 else None


def _retrying(call):
    while True:
        try:
            answer = call()
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(RETRY_PAUSE)
            continue
        if answer.status_code in RETRYABLE_STATUSES:
            time.sleep(RETRY_PAUSE)
            continue
        return answer


# --- The run ------------------------------------------------------------------

# When the chaos thread strikes, as a share of the documents pushed, and what it kills.
SCHEDULE = (
    (0.08, "task worker"),
    (0.15, "web worker"),
    (0.25, "web worker"),
    (0.33, "two web workers"),
    (0.45, "master"),
    (0.55, "task worker"),
    (0.62, "web worker"),
    (0.72, "web worker"),
    (0.80, "two web workers"),
    (0.90, "web worker"),
)


@dataclass
class Run:
    pushes: list[Push]
    counts: Counts
    kills: Kills
    seconds: float
    read_back_failures: int


def run(
    service: Service, setup: Setup, count: int, clients: int, size: int, rounds: int = 1
) -> Run:
    """Push ``count`` documents with ``clients`` threads while the chaos thread kills.

    The ``SCHEDULE`` is played ``rounds`` times over the run.
    """
    pushes = make_pushes(setup, count, size)
    software = Software(service.base, setup)
    software.token()
    counts = Counts()
    queue = list(reversed(pushes))
    queue_lock = threading.Lock()
    done = [0]
    read_back_failures = [0]

    def client() -> None:
        while True:
            with queue_lock:
                if not queue:
                    return
                item = queue.pop()
            software.push(item, counts)
            # Now and then the software reads back what it stored: the patient's first
            # access notification of the hour is a task for the worker, during the kills.
            if item.number % READ_BACK_EVERY or not item.document_id:
                pass
            elif software.read(item.document_id) is None:
                with queue_lock:
                    read_back_failures[0] += 1
            with queue_lock:
                done[0] += 1

    finished = threading.Event()

    def chaos() -> None:
        plan = [
            ((turn + share) / rounds, what) for turn in range(rounds) for share, what in SCHEDULE
        ]
        for share, what in plan:
            while done[0] < share * count:
                if finished.wait(0.02):
                    return
            if what == "task worker":
                service.kill_task_worker()
            elif what == "web worker":
                service.kill_web_worker()
            elif what == "two web workers":
                service.kill_web_worker()
                service.kill_web_worker()
            elif what == "master":
                service.kill_master()

    began = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    saboteur = threading.Thread(target=chaos)
    saboteur.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - began
    finished.set()
    saboteur.join()
    return Run(pushes, counts, service.kills, seconds, read_back_failures[0])


# --- After the run: what was lost, half-visible, duplicated ----------------------


@dataclass
class Findings:
    acknowledged: int = 0
    refused: list[str] = field(default_factory=list)  # pushes answered neither 201 nor 200
    lost: list[str] = field(default_factory=list)  # acknowledged, not given back intact
    rows_without_blob: list[str] = field(default_factory=list)
    orphan_blobs_swept: int = 0
    blobs_without_row: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    unexpected_rows: int = 0
    temporary_files_swept: int = 0
    plaintext_left: list[str] = field(default_factory=list)
    audit: str = ""
    # Requests sent again that the server recognised (its audit trail says so).
    recognised_by_key: int = 0
    recognised_by_master_id: int = 0
    tasks: Counter[str] = field(default_factory=Counter)
    notifications: int = 0
    notifications_unsent: int = 0
    emails: Counter[str] = field(default_factory=Counter)  # received, per address
    emails_missing: list[str] = field(default_factory=list)
    emails_twice: list[str] = field(default_factory=list)
    # Addresses whose email task a killed worker was running (claimed, maybe not sent).
    emails_interrupted: list[str] = field(default_factory=list)

    @property
    def half_visible(self) -> int:
        return len(self.rows_without_blob) + len(self.blobs_without_row)


def check_through_api(service: Service, setup: Setup, result: Run, clients: int) -> Findings:
    """Every acknowledged document, read back through the API, hashes to what was sent."""
    findings = Findings()
    software = Software(service.base, setup)
    acknowledged = [p for p in result.pushes if p.status in (200, 201)]
    findings.acknowledged = len(acknowledged)
    findings.refused = [f"n° {p.number}: {p.failure}" for p in result.pushes if not p.status]
    queue = list(acknowledged)
    lock = threading.Lock()
    intact: set[int] = set()

    def reader() -> None:
        while True:
            with lock:
                if not queue:
                    return
                item = queue.pop()
            content = software.read(item.document_id)
            if content is not None and hashlib.sha256(content).hexdigest() == item.sha256:
                with lock:
                    intact.add(item.number)

    threads = [threading.Thread(target=reader) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whatever was not read back intact is lost (a reader that failed included).
    findings.lost = [
        f"n° {p.number} ({p.document_id})" for p in acknowledged if p.number not in intact
    ]
    return findings


def wait_for_tasks(timeout: float = 120.0) -> bool:
    """Until no task is ready or running any more (the worker drained the queue)."""
    from django_tasks_db.models import DBTaskResult

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not DBTaskResult.objects.filter(status__in=("READY", "RUNNING")).exists():
            return True
        time.sleep(0.5)
    return False


def check_store(findings: Findings, result: Run, var_dir: Path, setup: Setup) -> Findings:
    """Rows, blobs, temporary files, audit trail, tasks: in the database and on disk."""
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django_tasks_db.models import DBTaskResult

    from espace_sante.access.models import AccessNotification, AuditEntry
    from espace_sante.crypto import blobs
    from espace_sante.record.documents import deposit
    from espace_sante.record.documents.models import DepositKey, Document

    sent = {p.sha256: p for p in result.pushes}
    acknowledged_ids = {p.document_id for p in result.pushes if p.status}
    per_content = Counter()
    for document in Document.objects.all().order_by("created_at"):
        per_content[document.sha256] += 1
        if document.sha256 not in sent:
            findings.unexpected_rows += 1
        try:
            digest = hashlib.sha256()
            for chunk in blobs.iter_decrypted(document.patient_id, document.id, document.blob_name):
                digest.update(chunk)
            intact = digest.hexdigest() == document.sha256
        except Exception as error:  # missing, truncated or undecryptable: all half-visible
            intact = False
            reason = type(error).__name__
        else:
            reason = "contenu différent"
        if not intact:
            findings.rows_without_blob.append(f"{document.id} ({reason})")
        if str(document.id) not in acknowledged_ids and document.sha256 in sent:
            # Stored but never acknowledged: fine only if it is the one the client got back.
            findings.duplicates.append(f"{document.id} (jamais confirmé au client)")
    findings.duplicates += [
        f"n° {sent[sha].number} ×{times}" for sha, times in per_content.items() if times > 1
    ]
    keys = Counter(DepositKey.objects.values_list("key", flat=True))
    findings.duplicates += [f"clé {key} ×{times}" for key, times in keys.items() if times > 1]

    # A crash between blob and row leaves an unreferenced blob, a crash while an upload
    # is checked its plaintext copy in var/tmp: the sweep removes both.
    tmp = var_dir / "tmp"
    findings.temporary_files_swept = sum(1 for p in tmp.iterdir() if p.is_file())
    findings.orphan_blobs_swept = (
        deposit.sweep_orphan_blobs(older_than_seconds=0) - findings.temporary_files_swept
    )
    referenced = set(Document.objects.values_list("blob_name", flat=True))
    root = var_dir / "blobs" / blobs.ROOT
    for path in root.rglob("*.bin") if root.exists() else []:
        name = path.relative_to(var_dir / "blobs").as_posix()
        if name not in referenced:
            findings.blobs_without_row.append(name)
    # Plaintext an interrupted request left on disk (the host must not read documents).
    findings.plaintext_left = [p.name for p in tmp.iterdir() if p.is_file()]

    try:
        call_command("audit", "verify", stdout=open(os.devnull, "w"))  # noqa: SIM115
        findings.audit = "ok"
    except CommandError as error:
        findings.audit = str(error)

    recognised = AuditEntry.objects.filter(action="create", reason__startswith="déjà reçu")
    findings.recognised_by_key = recognised.filter(reason__contains="clé d'idempotence").count()
    findings.recognised_by_master_id = recognised.filter(reason__contains="identifiant").count()

    findings.tasks = Counter(DBTaskResult.objects.values_list("status", flat=True))
    findings.notifications = AccessNotification.objects.count()
    findings.notifications_unsent = AccessNotification.objects.filter(sent_at=None).count()
    patient_of = {str(n.id): str(n.patient_id) for n in AccessNotification.objects.all()}
    expected = Counter(setup.emails[patient] for patient in patient_of.values())
    findings.emails_missing = sorted(a for a in expected if findings.emails[a] < expected[a])
    findings.emails_twice = sorted(
        a for a, times in findings.emails.items() if times > expected.get(a, 0)
    )
    runs = DBTaskResult.objects.filter(task_path__endswith=".send_access_notification")
    findings.emails_interrupted = sorted(
        setup.emails[patient_of[arguments["args"][0]]]
        for arguments, workers in runs.values_list("args_kwargs", "worker_ids")
        if len(workers) > 1 and arguments["args"][0] in patient_of
    )
    return findings


def report(result: Run, findings: Findings, clients: int, web_workers: int) -> str:
    kills = result.kills
    counts = result.counts
    pushed = len(result.pushes)
    lines = [
        f"Dépôts de documents sous kill -9 : {pushed} poussés par {clients} clients, "
        f"gunicorn à {web_workers} workers",
        f"  confirmés (201, ou 200 à la relance) : {findings.acknowledged}, refusés : "
        f"{len(findings.refused)} ; relances reconnues par le serveur : "
        f"{findings.recognised_by_key} par la clé d'idempotence, "
        f"{findings.recognised_by_master_id} par le masterIdentifier",
        f"  relances avec la même clé : {counts.retries} "
        f"(connexions coupées : {counts.connection_errors}, réponses plus attendues par le "
        f"client : {counts.timeouts}, "
        f"réponses {dict(sorted(counts.retry_statuses.items())) or '—'})",
        f"  processus tués (SIGKILL) : {kills.web_workers} workers gunicorn, "
        f"{kills.masters} maître gunicorn (serveur redémarré {kills.server_restarts} fois), "
        f"{kills.task_workers} worker de tâches",
        f"  perdus (confirmés mais illisibles ou altérés) : {len(findings.lost)}",
        f"  à moitié visibles : {findings.half_visible} "
        f"(lignes sans blob intact : {len(findings.rows_without_blob)}, blobs sans ligne après "
        f"le balayage : {len(findings.blobs_without_row)} ; blobs orphelins balayés : "
        f"{findings.orphan_blobs_swept})",
        f"  doublons : {len(findings.duplicates)}, lignes inattendues : {findings.unexpected_rows}",
        f"  copies en clair laissées dans var/tmp par les processus tués : "
        f"{findings.temporary_files_swept} balayées, {len(findings.plaintext_left)} restées",
        f"  journal d'audit : {findings.audit}",
        f"  tâches : {dict(findings.tasks)} ; notifications d'accès : {findings.notifications} "
        f"(non envoyées : {findings.notifications_unsent}), courriels reçus : "
        f"{sum(findings.emails.values())}, en double : {len(findings.emails_twice)}, "
        f"manquants : {len(findings.emails_missing)} (tâches d'envoi interrompues par un "
        f"kill -9 : {len(findings.emails_interrupted)})",
        f"  relectures en cours de route sans réponse 200 : {result.read_back_failures}",
        f"  durée : {result.seconds:.1f} s, débit : {pushed / result.seconds:.1f} documents/s",
    ]
    return "\n".join(lines)
