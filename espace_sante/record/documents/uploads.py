"""What a file really is, decided from its bytes, and whether we accept it.

Every refusal is a French sentence that says what to do. Files are read in
chunks from their (temporary) file: a large upload is never held whole in
memory, except a CDA XML document, which has to be parsed as a tree.
"""

import base64
import binascii
import hashlib
import os
import re
import tempfile
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import IO, TYPE_CHECKING, TypedDict

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError
from pypdf import Configuration, PdfReader, apply_configuration
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from .reference import FORMAT_CDA_N3, FORMAT_CODES

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element  # defusedxml parses into these

CHUNK = 64 * 1024
HL7 = "{urn:hl7-org:v3}"

TYPE_LABELS = {
    "application/pdf": "PDF",
    "text/plain": "texte",
    "text/rtf": "RTF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/tiff": "TIFF",
    "application/xml": "CDA (XML)",
}


# What a file name's extension announces. Ours first, then the types people
# might try (markup and scripts run in a browser): an extension outside this
# table (.md, "du 12.03") announces nothing and the bytes decide.
EXTENSION_TYPES = {
    "pdf": "application/pdf",
    "txt": "text/plain",
    "rtf": "text/rtf",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "jfif": "image/jpeg",
    "png": "image/png",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "xml": "application/xml",
    "html": "text/html",
    "htm": "text/html",
    "xhtml": "application/xhtml+xml",
    "xht": "application/xhtml+xml",
    "svg": "image/svg+xml",
    "svgz": "image/svg+xml",
    "js": "text/javascript",
    "mjs": "text/javascript",
    "gif": "image/gif",
    "bmp": "image/bmp",
    "webp": "image/webp",
    "heic": "image/heic",
    "heif": "image/heif",
    "avif": "image/avif",
    "zip": "application/zip",
    "jar": "application/java-archive",
    "exe": "application/vnd.microsoft.portable-executable",
}

# Other names senders use for the types we accept (a declared type is compared
# with what the bytes are, not spelled-out exactly).
TYPE_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
    "application/rtf": "text/rtf",
    "text/xml": "application/xml",
    "application/hl7-cda+xml": "application/xml",
    "application/hl7-v3+xml": "application/xml",
}

OTHER_TYPE_LABELS = {
    "text/html": "page web HTML",
    "application/xhtml+xml": "page web XHTML",
    "image/svg+xml": "image SVG",
    "text/javascript": "script JavaScript",
    "image/gif": "image GIF",
    "image/bmp": "image BMP",
    "image/webp": "image WebP",
    "image/heic": "image HEIC",
    "image/heif": "image HEIF",
    "image/avif": "image AVIF",
    "application/zip": "archive ZIP",
    "application/java-archive": "archive Java",
    "application/vnd.microsoft.portable-executable": "programme",
}


class UploadRefused(ValidationError):
    """A file we do not store; the message tells the person what to do."""


def _label(mime_type: str) -> str:
    return TYPE_LABELS.get(mime_type) or OTHER_TYPE_LABELS.get(mime_type) or mime_type


def declared_by_name(name: str) -> tuple[str, str] | None:
    """(extension, media type) a file name announces, or None when it announces nothing."""
    base = os.path.basename(name or "")
    stem, dot, extension = base.rpartition(".")
    if not dot or not stem:
        return None
    media = EXTENSION_TYPES.get(extension.lower())
    return (extension.lower(), media) if media else None


def _check_declared(found: str, name: str, declared_type: str) -> None:
    """What the sender said the file is must be what its bytes are: refused, never corrected."""
    by_name = declared_by_name(name)
    if by_name is not None and by_name[1] != found:
        extension = by_name[0]
        raise UploadRefused(
            f"Ce fichier porte l'extension .{extension} ({_label(by_name[1])}) mais son contenu "
            f"est un fichier {_label(found)} : il n'a pas été enregistré. Vérifiez que vous avez "
            "choisi le bon fichier.",
            code="declared_mismatch",
        )
    media = declared_type.split(";", 1)[0].strip().lower()
    if media in ("", "application/octet-stream"):
        return  # no claim: the bytes decide
    if TYPE_ALIASES.get(media, media) != found:
        raise UploadRefused(
            f"Le type annoncé ({media}) ne correspond pas au contenu du fichier, qui est un "
            f"fichier {_label(found)} ({found}) : il n'a pas été enregistré. Annoncez le bon "
            "type ou envoyez le bon fichier.",
            code="declared_mismatch",
        )


@dataclass
class CdaHeader:
    document_id: str = ""
    type_code: str = ""
    title: str = ""
    effective_time: datetime | None = None
    confidentiality: str = ""
    patient_ids: list[tuple[str, str]] = field(default_factory=list)  # (OID root, extension)


@dataclass
class InspectedFile:
    """A checked file, ready to encrypt: ``path`` holds the bytes to store."""

    path: str
    mime_type: str
    format_code: str
    size: int
    sha256: str
    is_structured: bool = False
    cda: CdaHeader | None = None
    owns_path: bool = False  # True when `path` is a temporary file we made

    def cleanup(self) -> None:
        if self.owns_path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass


def _human_size(size: int) -> str:
    return f"{size / 1_000_000:.0f} Mo" if size >= 1_000_000 else f"{size / 1000:.0f} ko"


def sniff(head: bytes) -> str | None:
    """The media type announced by the first bytes, whatever the name says."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"{\\rtf"):
        return "text/rtf"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<?xml") or text.startswith(b"<ClinicalDocument"):
        return "application/xml"
    if b"\x00" in head or text[:1] == b"<":
        # NUL bytes are binary; markup (HTML, SVG) could run scripts when opened.
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is fine.
        if exc.start < len(head) - 3:
            return None
    return "text/plain"


def _copy_to_temp(source: IO[bytes], max_bytes: int) -> tuple[str, int, str]:
    """Stream `source` to a private temporary file; return (path, size, sha256)."""
    digest = hashlib.sha256()
    size = 0
    tmp_dir = settings.VAR_DIR / "tmp"
    tmp_dir.mkdir(exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=tmp_dir, delete=False, prefix="upload-")  # noqa: SIM115
    try:
        with handle:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(
                        f"Ce fichier dépasse la taille maximale de {_human_size(max_bytes)}. "
                        "Réduisez-le (par exemple en le numérisant en noir et blanc) puis "
                        "réessayez.",
                        code="too_large",
                    )
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        os.unlink(handle.name)
        raise
    return handle.name, size, digest.hexdigest()


# What checking a PDF may inflate from one stream: its cross-references and the
# object streams holding its page tree are a few MB at most in real files
# (pypdf's own default, 75 MB, let a 200 KB upload take 140 MB to refuse).
PDF_MAX_INFLATED_BYTES = 16_000_000
_PDF_LIMITS = Configuration().with_overwrites(
    **{
        f"{kind}_maximum_output_length": PDF_MAX_INFLATED_BYTES
        for kind in ("zlib", "lzw", "run_length", "brotli", "jbig2", "array_based_stream")
    }
)


# Actions a PDF viewer runs by itself. Chromium's viewer runs a PDF's
# JavaScript whatever our sandbox policy says (its alerts opened over our page
# in tests/e2e/test_hostile_documents.py), so such a PDF is refused.
_ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/SubmitForm", "/ImportData"}
# Where no action can live: page contents and resources, the tagged structure,
# metadata, back links. Not walking them keeps the walk to pages, annotations,
# forms, outlines and names (a 100,000-object PDF took 6 s when walked whole).
_NO_ACTIONS_UNDER = {
    "/Contents",
    "/Resources",
    "/Parent",
    "/P",
    "/StructTreeRoot",
    "/ParentTree",
    "/K",
    "/Metadata",
    "/Thumb",
    "/PieceInfo",
    "/Info",
    "/Encrypt",
    "/ID",
    "/Font",
    "/XObject",
    "/ColorSpace",
    "/ExtGState",
    "/Pattern",
    "/Shading",
}
# Objects the walk may resolve; far above what a real PDF has outside those subtrees.
PDF_MAX_WALKED_OBJECTS = 50_000


def _active_content(reader: PdfReader) -> bool:
    """Whether an object where actions live is a script or a launching action.

    Walked with a stack and a set of the objects seen (links go back up);
    streams' dictionaries are read, never their data. Refused as too complex
    past PDF_MAX_WALKED_OBJECTS.
    """
    stack: list[PdfObject] = [reader.trailer]
    seen: set[tuple[int, int]] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if (item.idnum, item.generation) in seen:
                continue
            seen.add((item.idnum, item.generation))
            if len(seen) > PDF_MAX_WALKED_OBJECTS:
                raise UploadRefused(
                    "Ce PDF est trop complexe pour être vérifié (plus de "
                    f"{PDF_MAX_WALKED_OBJECTS} objets à examiner). Enregistrez-en une copie "
                    "avec « Imprimer » puis « Enregistrer au format PDF », et déposez-la.",
                    code="pdf_too_complex",
                )
            resolved = item.get_object()
            if resolved is None:
                continue
            item = resolved
        if isinstance(item, DictionaryObject):
            if "/JS" in item or dict.get(item, "/S") in _ACTIVE_ACTIONS:
                return True
            stack.extend(value for key, value in dict.items(item) if key not in _NO_ACTIONS_UNDER)
        elif isinstance(item, ArrayObject):
            stack.extend(list.__iter__(item))
    return False


def _check_pdf(path: str) -> None:
    try:
        with apply_configuration(_PDF_LIMITS), open(path, "rb") as handle:
            reader = PdfReader(handle)
            if reader.is_encrypted:
                raise UploadRefused(
                    "Ce PDF est protégé par un mot de passe : nous ne pourrions pas l'afficher. "
                    "Enregistrez-en une copie sans mot de passe puis déposez-la.",
                    code="pdf_encrypted",
                )
            if len(reader.pages) == 0:
                raise UploadRefused("Ce PDF ne contient aucune page.", code="pdf_empty")
            if _active_content(reader):
                raise UploadRefused(
                    "Ce PDF contient du code (JavaScript) ou des actions qui se lanceraient à "
                    "son ouverture : nous ne l'acceptons pas. Enregistrez-en une copie avec "
                    "« Imprimer » puis « Enregistrer au format PDF », et déposez cette copie.",
                    code="pdf_active",
                )
    except UploadRefused:
        raise
    except LimitReachedError as exc:
        # pypdf stops inflating a stream at its limit (75 MB): a compression bomb.
        raise UploadRefused(
            "Ce PDF contient des données qui deviennent démesurées une fois décompressées : "
            "nous ne pouvons pas l'accepter. Enregistrez-le de nouveau (« Imprimer en PDF ») "
            "puis déposez la copie.",
            code="pdf_too_complex",
        ) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, RecursionError) as exc:
        raise UploadRefused(
            "Ce PDF est endommagé et ne peut pas être ouvert. Vérifiez qu'il s'ouvre sur "
            "votre appareil, ou demandez-en une nouvelle copie.",
            code="pdf_broken",
        ) from exc


# Pages of a TIFF (frames of an APNG) we accept; counting a TIFF's pages means
# reading each page's header, and Pillow's count grows faster than the file
# (20,000 empty pages, 2.5 MB, took 5.6 s to count).
IMAGE_MAX_FRAMES = 1000


def _frames_and_pixels(image: Image.Image) -> tuple[int, int]:
    """(frames, pixels of all frames), counting a TIFF's pages one by one up to the cap."""
    if image.format != "TIFF":
        frames: int = getattr(image, "n_frames", 1)  # an APNG says it in its acTL chunk
        return frames, image.width * image.height * frames
    frames, pixels = 1, image.width * image.height
    while frames <= IMAGE_MAX_FRAMES:
        try:
            image.seek(frames)
        except EOFError:
            break
        frames += 1
        pixels += image.width * image.height  # each page has its own size
    image.seek(0)
    return frames, pixels


def _check_image(path: str, mime_type: str) -> None:
    expected = {"image/jpeg": "JPEG", "image/png": "PNG", "image/tiff": "TIFF"}[mime_type]
    try:
        # Our own limit, below Pillow's, decides (Pillow only warns up to twice its own).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.format != expected:
                    raise UploadRefused("Cette image est endommagée.", code="image_broken")
                # The header gives the size: refuse before decoding a single pixel
                # (a 500 KB PNG of 13,000 × 13,000 pixels took 600 MB to decode).
                frames, pixels = _frames_and_pixels(image)
                if frames > IMAGE_MAX_FRAMES:
                    raise UploadRefused(
                        f"Cette image a plus de {IMAGE_MAX_FRAMES} pages : séparez-la en "
                        "plusieurs fichiers (ou enregistrez-la en PDF) puis réessayez.",
                        code="image_too_many_frames",
                    )
                if pixels > settings.RECORD_IMAGE_MAX_PIXELS:
                    raise UploadRefused(
                        f"Cette image est trop grande ({image.width} × {image.height} pixels"
                        f"{f', {frames} pages' if frames > 1 else ''}) : la limite est de "
                        f"{settings.RECORD_IMAGE_MAX_PIXELS // 1_000_000} millions de pixels. "
                        "Réduisez sa définition puis réessayez.",
                        code="image_too_large",
                    )
                image.verify()
            # verify() leaves the image unusable; decode it once to be sure. A JPEG
            # is decoded at 1/8 scale: every block is still read, in 1/64 of the memory.
            with Image.open(path) as image:
                if image.format == "JPEG":
                    image.draft(image.mode, (image.width // 8 or 1, image.height // 8 or 1))
                image.load()
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UploadRefused(
            "Cette image est trop grande : la limite est de "
            f"{settings.RECORD_IMAGE_MAX_PIXELS // 1_000_000} millions de pixels. "
            "Réduisez sa définition puis réessayez.",
            code="image_too_large",
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise UploadRefused(
            "Cette image est endommagée et ne peut pas être affichée. Reprenez la photo ou "
            "choisissez un autre fichier.",
            code="image_broken",
        ) from exc


_CDA_TIME = re.compile(r"^(\d{8,14})(?:\.\d+)?([+-]\d{4})?$")


def _parse_cda_time(value: str) -> datetime | None:
    """HL7 TS (YYYYMMDD[HHMM[SS]][+ZZZZ]) to an aware datetime; UTC when no zone."""
    match = _CDA_TIME.match(value or "")
    if not match:
        return None
    digits, offset = match.group(1).ljust(14, "0"), match.group(2)
    try:
        naive = datetime.strptime(digits, "%Y%m%d%H%M%S")  # noqa: DTZ007 - zone set below
    except ValueError:
        return None
    zone = UTC
    if offset:
        sign = -1 if offset[0] == "-" else 1
        zone = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
    return naive.replace(tzinfo=zone)


class _Extracted(TypedDict, total=False):
    """What a CDA N1 carries inside: the embedded file and its media type."""

    n1_payload: bytes
    n1_media: str


# Real CDA documents nest a few dozen levels; the narrative is rendered
# recursively (cda.py), so a deeper tree is refused while it is being read.
CDA_MAX_DEPTH = 100


def _parse_cda(path: str) -> "Element":
    root: Element | None = None
    depth = 0
    try:
        for event, element in SafeET.iterparse(path, events=("start", "end"), forbid_dtd=True):
            if event == "end":
                depth -= 1
                continue
            depth += 1
            if root is None:
                root = element
            if depth > CDA_MAX_DEPTH:
                raise UploadRefused(
                    f"Ce document XML est imbriqué sur plus de {CDA_MAX_DEPTH} niveaux : un "
                    "document CDA n'en a jamais autant. Demandez au logiciel émetteur un "
                    "document CDA conforme.",
                    code="xml_too_deep",
                )
    except (DefusedXmlException, SafeET.ParseError) as exc:
        raise UploadRefused(
            "Ce fichier XML est invalide ou contient des éléments interdits (DTD, entités). "
            "Demandez au logiciel émetteur un document CDA conforme.",
            code="xml_invalid",
        ) from exc
    if root is None:
        raise UploadRefused("Ce fichier XML est vide.", code="xml_invalid")
    return root


def _inspect_cda(path: str) -> tuple[CdaHeader, _Extracted]:
    root = _parse_cda(path)
    if root.tag != f"{HL7}ClinicalDocument":
        raise UploadRefused(
            "Seuls les documents médicaux au format CDA R2 sont acceptés en XML.",
            code="xml_not_cda",
        )
    header = CdaHeader()
    doc_id = root.find(f"{HL7}id")
    if doc_id is not None:
        header.document_id = "^".join(
            part for part in (doc_id.get("root", ""), doc_id.get("extension", "")) if part
        )
    code = root.find(f"{HL7}code")
    header.type_code = code.get("code", "") if code is not None else ""
    header.title = (root.findtext(f"{HL7}title") or "").strip()
    effective = root.find(f"{HL7}effectiveTime")
    if effective is not None:
        header.effective_time = _parse_cda_time(effective.get("value", ""))
    conf = root.find(f"{HL7}confidentialityCode")
    header.confidentiality = conf.get("code", "") if conf is not None else ""
    for ident in root.iterfind(f"{HL7}recordTarget/{HL7}patientRole/{HL7}id"):
        header.patient_ids.append((ident.get("root", ""), ident.get("extension", "")))

    body = root.find(f"{HL7}component/{HL7}nonXMLBody/{HL7}text")
    if body is not None:
        media = body.get("mediaType", "")
        if body.get("representation") != "B64" or media not in ("application/pdf", "text/plain"):
            raise UploadRefused(
                "Le contenu de ce document CDA doit être un PDF ou un texte encodé en base 64.",
                code="cda_body",
            )
        try:
            payload = base64.b64decode("".join((body.text or "").split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UploadRefused(
                "Le contenu de ce document CDA est illisible (base 64 invalide).",
                code="cda_body",
            ) from exc
        return header, {"n1_payload": payload, "n1_media": media}
    if root.find(f"{HL7}component/{HL7}structuredBody") is None:
        raise UploadRefused("Ce document CDA n'a pas de contenu.", code="cda_empty")
    return header, {}


def inspect_upload(
    source: IO[bytes],
    *,
    max_bytes: int,
    allowed_types: list[str] | None = None,
    declared_type: str = "",
) -> InspectedFile:
    """Check `source` and return it as a file ready to store, or raise UploadRefused.

    The type comes from the bytes; what the sender declared — the extension of
    the upload's name, ``declared_type`` (a FHIR ``contentType``) — must agree.
    """
    allowed = allowed_types or settings.RECORD_ALLOWED_TYPES
    name = getattr(source, "name", "")
    if hasattr(source, "seek"):
        source.seek(0)
    path, size, sha256 = _copy_to_temp(source, max_bytes)
    try:
        if size == 0:
            raise UploadRefused("Ce fichier est vide. Choisissez un autre fichier.", code="empty")
        with open(path, "rb") as handle:
            head = handle.read(2048)
        mime_type = sniff(head)
        if mime_type is None or mime_type not in allowed:
            names = ", ".join(TYPE_LABELS[t] for t in allowed if t in TYPE_LABELS)
            raise UploadRefused(
                f"Ce type de fichier n'est pas accepté. Formats acceptés : {names}.",
                code="type",
            )
        _check_declared(mime_type, name if isinstance(name, str) else "", declared_type)
        if mime_type == "application/pdf":
            _check_pdf(path)
        elif mime_type.startswith("image/"):
            _check_image(path, mime_type)
        elif mime_type == "application/xml":
            header, extracted = _inspect_cda(path)
            if "n1_payload" in extracted:
                # N1: the document *is* the embedded file; store that, with the header.
                os.unlink(path)
                payload_source = tempfile.SpooledTemporaryFile()  # noqa: SIM115
                payload_source.write(extracted["n1_payload"])
                inner = inspect_upload(
                    payload_source,
                    max_bytes=max_bytes,
                    allowed_types=[extracted["n1_media"]],
                    declared_type=extracted["n1_media"],
                )
                inner.cda = header
                return inner
            return InspectedFile(
                path,
                "application/xml",
                FORMAT_CDA_N3,
                size,
                sha256,
                is_structured=True,
                cda=header,
                owns_path=True,
            )
        return InspectedFile(path, mime_type, FORMAT_CODES[mime_type], size, sha256, owns_path=True)
    except BaseException:
        if os.path.exists(path):
            os.unlink(path)
        raise
