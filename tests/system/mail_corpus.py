"""A reproducible mailbox corpus for the multi-hop tests and the WAN
benchmark: .eml files as an office mailbox holds them, imported with
`mapiserver import`.

Each message has a text body, most also an HTML alternative (styled markup
around the same text, the way mail clients write it), and attachments of
mixed compressibility, cycling through:

  report.csv      tabular figures (dates, names, amounts): compresses ~5x
  notes.txt       prose in paragraphs: ~3x
  server.log      timestamped log lines: ~8x
  brochure.pdf    a PDF shape: text streams plus compressed (deflate) streams
                  and an embedded image: ~1.3x
  photo.jpg       JPEG-like entropy-coded data: incompressible
  slides.pptx     a zip of deflated XML: incompressible

Sizes grow with the message number between `min_kb` and `max_kb`. The
content is pseudo-random from a seed, so two runs produce the same bytes.

    from mail_corpus import write_corpus
    files = write_corpus(folder, count=12, seed=1)   # -> [Path, ...]
    meta = corpus(...)                            # the messages without writing
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence, Tuple

WORDS = ("the quarterly figures meeting project budget schedule review customer order "
         "invoice delivery team report update please find attached below regarding next "
         "week monday friday office contract proposal draft final version comments thanks "
         "regards discussed agreed numbers sales region north south east west margin "
         "forecast target revenue cost growth plan market product release support ticket "
         "server migration backup network storage license renewal training workshop agenda "
         "minutes action items owner deadline status risk issue change request approval "
         "signed copy client partner supplier shipment warehouse stock inventory payment "
         "terms account balance statement audit compliance policy security access").split()
NAMES = ["Bob Builder", "Carol Danvers", "Dave Lister", "Erin Brockovich", "Frank Poole",
         "Grace Hopper", "Heidi Klum", "Ivan Drago", "Judy Hopps", "Mallory Knox"]
KINDS = ("report.csv", "notes.txt", "brochure.pdf", "photo.jpg", "server.log", "slides.pptx")


@dataclass
class Mail:
    subject: str
    sender: str
    body: str
    html: bool
    attachments: List[Tuple[str, bytes]] = field(default_factory=list)
    eml: bytes = b""

    def sha256(self) -> List[str]:
        return [hashlib.sha256(d).hexdigest() for _, d in self.attachments]


def _sentence(r: random.Random) -> str:
    w = [r.choice(WORDS) for _ in range(r.randint(6, 16))]
    return " ".join(w).capitalize() + "."


def _paragraphs(r: random.Random, n: int) -> str:
    return "\n\n".join(" ".join(_sentence(r) for _ in range(r.randint(2, 6))) for _ in range(n))


def _csv(r: random.Random, size: int) -> bytes:
    out = io.StringIO()
    out.write("date,region,customer,product,units,amount,currency\n")
    for _ in range(10 ** 7):
        if out.tell() >= size:
            break
        out.write(f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d},"
                  f"{r.choice(['north', 'south', 'east', 'west'])},"
                  f"{r.choice(NAMES)},{r.choice(WORDS)}-{r.randint(100, 999)},"
                  f"{r.randint(1, 500)},{r.randint(100, 999999) / 100:.2f},EUR\n")
    return out.getvalue().encode()[:size]


def _log(r: random.Random, size: int) -> bytes:
    out = io.StringIO()
    for i in range(10 ** 7):
        if out.tell() >= size:
            break
        out.write(f"2026-11-24T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.{r.randint(0, 999):03d}Z "
                  f"{r.choice(['INFO', 'INFO', 'INFO', 'WARN', 'DEBUG'])} "
                  f"[{r.choice(['http', 'db', 'auth', 'queue'])}-{r.randint(1, 8)}] "
                  f"{r.choice(['request done', 'connection opened', 'cache miss', 'retrying'])} "
                  f"id={r.randint(10000, 99999)} ms={r.randint(1, 900)}\n")
    return out.getvalue().encode()[:size]


def _text(r: random.Random, size: int) -> bytes:
    out = []
    n = 0
    for _ in range(10 ** 6):
        if n >= size:
            break
        p = _paragraphs(r, 1) + "\n\n"
        out.append(p)
        n += len(p)
    return "".join(out).encode()[:size]


def _noise(r: random.Random, size: int) -> bytes:
    return r.randbytes(size)


def _jpeg(r: random.Random, size: int) -> bytes:
    head = bytes.fromhex("ffd8ffe000104a46494600010101004800480000")
    return (head + _noise(r, max(0, size - len(head) - 2)) + b"\xff\xd9")[:size]


def _pdf(r: random.Random, size: int) -> bytes:
    parts = [b"%PDF-1.7\n"]
    n = 0
    obj = 1
    for _ in range(10 ** 5):
        if n >= size:
            break
        if obj % 3 == 0:  # an image or font: compressed, incompressible again
            data = zlib.compress(_noise(r, 6000), 6)
            kind = b"/Filter /FlateDecode /Subtype /Image"
        else:             # page content: text operators in clear
            lines = [f"BT /F1 11 Tf 72 {700 - 14 * i} Td ({_sentence(r)}) Tj ET"
                     for i in range(40)]
            data = "\n".join(lines).encode()
            kind = b""
        p = (b"%d 0 obj << /Length %d %s >> stream\n" % (obj, len(data), kind) + data
             + b"\nendstream endobj\n")
        parts.append(p)
        n += len(p)
        obj += 1
    parts.append(b"%%EOF\n")
    return b"".join(parts)[:size]


def _pptx(r: random.Random, size: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(1, 10 ** 4):
            if buf.tell() >= size:
                break
            xml = ("<?xml version='1.0'?><p:sld><p:txBody>" + "".join(
                f"<a:p><a:r><a:t>{_sentence(r)}</a:t></a:r></a:p>" for _ in range(30))
                + "</p:txBody></p:sld>")
            z.writestr(f"ppt/slides/slide{i}.xml", xml)
            z.writestr(f"ppt/media/image{i}.png", _noise(r, 8000))
    return buf.getvalue()


MAKERS = {"csv": _csv, "txt": _text, "log": _log, "pdf": _pdf, "jpg": _jpeg, "pptx": _pptx}


def _html(subject: str, body: str) -> str:
    paras = "".join(f'<p style="margin:0 0 12px 0;font-family:Calibri,Arial,sans-serif;'
                    f'font-size:11pt;color:#1f1f1f">{p}</p>\n' for p in body.split("\n\n"))
    return ("<!DOCTYPE html>\n<html><head><meta http-equiv=\"Content-Type\" "
            "content=\"text/html; charset=utf-8\"><title>" + subject + "</title>\n"
            "<style type=\"text/css\">body{font-family:Calibri,Arial,sans-serif;}"
            "p.MsoNormal{margin:0;} table.report td{border:1px solid #ccc;padding:4px;}"
            "</style></head>\n<body lang=\"EN-US\"><div class=\"WordSection1\">\n" + paras
            + "<table class=\"report\"><tr><td>Owner</td><td>Status</td></tr>"
            "<tr><td>Team</td><td>On track</td></tr></table>\n"
            "<p class=\"MsoNormal\">&nbsp;</p></div></body></html>\n")


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def make_mail(i: int, r: random.Random, to: str, min_kb: int, max_kb: int, count: int,
              kinds=KINDS) -> Mail:
    sender = NAMES[i % len(NAMES)]
    addr = sender.split()[0].lower() + "@example.org"
    subject = f"{r.choice(WORDS).capitalize()} {r.choice(WORDS)} {r.choice(WORDS)} #{i + 1}"
    body = f"Hi,\n\n{_paragraphs(r, r.randint(2, 5))}\n\nRegards,\n{sender}\n"
    html = i % 4 != 3
    # Sizes from min_kb to max_kb across the corpus.
    span = max_kb - min_kb
    kb = min_kb + (span * i // max(1, count - 1) if count > 1 else 0)
    atts = []
    for k in range(1 + (i % 3 == 0)):
        name = kinds[(i + k) % len(kinds)]
        ext = name.rsplit(".", 1)[1]
        atts.append((name, MAKERS[ext](r, kb * 1024 // (1 + k))))
    date = f"Tue, {1 + i % 28:02d} Nov 2026 {8 + i % 10:02d}:{i % 60:02d}:00 +0000"
    b = f"MIX{i}"
    head = (f"From: {sender} <{addr}>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: {date}\r\n"
            f"Message-ID: <corpus{i}@example.org>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n")
    crlf = body.replace("\n", "\r\n")
    if html:
        a = f"ALT{i}"
        text = (f"--{b}\r\nContent-Type: multipart/alternative; boundary=\"{a}\"\r\n\r\n"
                f"--{a}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{crlf}\r\n"
                f"--{a}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Transfer-Encoding: base64\r\n\r\n"
                f"{_b64(_html(subject, body).encode())}--{a}--\r\n")
    else:
        text = f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{crlf}\r\n"
    for name, data in atts:
        text += (f"--{b}\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n"
                 f"Content-Disposition: attachment; filename=\"{name}\"\r\n"
                 f"Content-Transfer-Encoding: base64\r\n\r\n{_b64(data)}")
    text += f"--{b}--\r\n"
    return Mail(subject, sender, body, html, atts, (head + text).encode())


def corpus(count: int = 12, seed: int = 1, to: str = "Alice Liddell <alice@example.test>",
           min_kb: int = 16, max_kb: int = 512, kinds: Sequence[str] = ()) -> List[Mail]:
    """`kinds`: attachment types by extension ("csv", "jpg"...), default all."""
    if not 1 <= count <= 1000 or not 1 <= min_kb <= max_kb <= 32768:
        raise ValueError("count 1..1000, 1 <= min_kb <= max_kb <= 32768")
    names = tuple(k for k in KINDS if not kinds or k.rsplit(".", 1)[1] in kinds)
    if not names or any(k not in MAKERS for k in kinds):
        raise ValueError(f"kinds: some of {', '.join(MAKERS)}")
    r = random.Random(seed)
    return [make_mail(i, r, to, min_kb, max_kb, count, names) for i in range(count)]


def write_corpus(folder: Path, **kw) -> List[Mail]:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    mails = corpus(**kw)
    for i, m in enumerate(mails):
        (folder / f"{i:04d}.eml").write_bytes(m.eml)
    return mails


if __name__ == "__main__":
    # Print each message's attachments and how well zlib compresses them.
    for m in corpus():
        for name, data in m.attachments:
            z = len(zlib.compress(data, 6))
            print(f"{m.subject[:36]:36s} {name:14s} {len(data):8d} B  zlib {len(data) / z:5.2f}x")
