"""Ingestion: every input format, every kind of damage, dedup, names, bodies, attachments."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import ingest
from model.ingest import (
    IngestStats,
    SkipMessage,
    detect_format,
    parse_email_bytes,
    print_summary,
    read_messages,
)


def eml(
    *,
    frm: str = "Claire Martin <c.martin@cds-havre.example>",
    to: str | None = "s.lemaire@cds-havre.example",
    date: str | None = "Sat, 03 Jun 2023 09:12:00 +0200",
    subject: str = "Télétransmission",
    extra: str = "",
    body: str = "Bonjour,\nvoici le bordereau.\n",
    msgid: str | None = "<m1@cds-havre.example>",
) -> bytes:
    lines = [f"From: {frm}"]
    if to is not None:
        lines.append(f"To: {to}")
    if date is not None:
        lines.append(f"Date: {date}")
    if msgid is not None:
        lines.append(f"Message-ID: {msgid}")
    lines.append(f"Subject: {subject}")
    if extra:
        lines.extend(extra.strip("\n").split("\n"))
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def mbox_of(*messages: bytes) -> bytes:
    out = b""
    for m in messages:
        escaped = b"\n".join(
            b">" + line if line.startswith((b"From ", b">From ")) else line
            for line in m.split(b"\n")
        )
        out += b"From MAILER-DAEMON Sat Jun  3 09:12:00 2023\n" + escaped + b"\n\n"
    return out


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------------------------


def test_mbox_streams_messages_and_unescapes_from(tmp_path: Path) -> None:
    body = "Bonjour\nFrom the start, this line was escaped.\n\nFrom here too.\n"
    data = mbox_of(
        eml(body=body, msgid="<a@x.example>"),
        eml(subject="Second", msgid="<b@x.example>", date="Sun, 04 Jun 2023 10:00:00 +0200"),
    )
    path = write(tmp_path / "history.mbox", data)
    stats = IngestStats()
    msgs = list(read_messages([path], stats=stats))
    assert [m.message_id for m in msgs] == ["a@x.example", "b@x.example"]
    assert "From the start, this line was escaped." in msgs[0].body
    assert "From here too." in msgs[0].body
    assert msgs[1].subject == "Second"
    assert stats.read == 2 and stats.by_format == {"mbox": 2}
    assert stats.bytes_read == len(data)


def test_mbox_crlf_and_leading_blank_lines(tmp_path: Path) -> None:
    data = b"\r\n" + mbox_of(eml(), eml(subject="Autre", msgid="<m2@x.example>")).replace(
        b"\n", b"\r\n"
    )
    path = write(tmp_path / "crlf.mbox", data)
    msgs = list(read_messages([path]))
    assert [m.subject for m in msgs] == ["Télétransmission", "Autre"]
    assert "\r" not in msgs[0].body


def test_maildir_cur_new_tmp_and_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    write(root / "cur" / "1700000000.M1P1.host:2,S", eml(msgid="<1@x.example>"))
    write(root / "new" / "1700000001.M2P1.host", eml(msgid="<2@x.example>", subject="Nouveau"))
    write(root / "tmp" / "1700000002.M3P1.host", eml(msgid="<3@x.example>", subject="En cours"))
    write(
        root / ".Sent" / "cur" / "1700000003.M4P1.host:2,S",
        eml(msgid="<4@x.example>", subject="Envoyé"),
    )
    write(root / "dovecot-uidlist", b"3 V1 N5\n")
    assert detect_format(root) == "maildir"
    stats = IngestStats()
    msgs = list(read_messages([root], stats=stats))
    assert sorted(m.subject for m in msgs) == ["Envoyé", "Nouveau", "Télétransmission"]
    assert {m.subject: m.folder for m in msgs}["Envoyé"] == "Sent"
    assert stats.skipped_total == 0


def test_enron_layout_numbered_files(tmp_path: Path) -> None:
    root = tmp_path / "maildir" / "lay-k"
    for i in (1, 2, 10):
        write(
            root / "sent" / f"{i}_",
            eml(
                msgid=f"<s{i}@enron.com>", subject=f"s{i}", date=f"Mon, {i} Jan 2001 10:00:00 -0800"
            ),
        )
    write(
        root / "inbox" / "1.",
        eml(
            msgid="<i1@enron.com>",
            subject="i1",
            extra="X-Folder: \\Kenneth_Lay_Dec2000\\Notes Folders\\Inbox",
        ),
    )
    assert detect_format(tmp_path / "maildir") == "maildir"
    msgs = list(read_messages([tmp_path / "maildir"]))
    assert [m.subject for m in msgs] == ["i1", "s1", "s2", "s10"]  # natural order: 2 before 10
    assert msgs[0].folder == "\\Kenneth_Lay_Dec2000\\Notes Folders\\Inbox"  # X-Folder wins
    assert msgs[1].folder == "lay-k/sent"


def test_eml_dir_recursive_and_single_eml(tmp_path: Path) -> None:
    write(tmp_path / "box" / "a.eml", eml(msgid="<a@x.example>"))
    write(tmp_path / "box" / "sub" / "B.EML", eml(msgid="<b@x.example>", subject="B"))
    write(tmp_path / "box" / "notes.txt", b"not mail")
    assert detect_format(tmp_path / "box") == "eml_dir"
    msgs = list(read_messages([tmp_path / "box"]))
    assert [(m.message_id, m.folder) for m in msgs] == [
        ("a@x.example", None),
        ("b@x.example", "sub"),
    ]
    single = write(tmp_path / "one.eml", eml(msgid="<one@x.example>"))
    assert detect_format(single) == "eml"
    assert [m.message_id for m in read_messages([str(single)])] == ["one@x.example"]
    assert [m.message_id for m in read_messages(str(single))] == ["one@x.example"]


def test_jsonl_check_requests(tmp_path: Path) -> None:
    good = {
        "sender": {"address": "c.martin@cds-havre.example", "name": "Claire Martin"},
        "to": ["s.lemaire@cds-havre.example", {"address": "x@gmail.com", "name": "X"}],
        "subject": "Télétransmission",
        "body": "<p>Bonjour <b>Sophie</b></p>",
        "body_format": "html",
        "attachments": [
            {
                "filename": "b.csv",
                "content_type": "text/csv",
                "content_base64": base64.b64encode(b"a;b\n").decode(),
            }
        ],
        "sent_at": "2023-06-03T09:12:00+02:00",
    }
    bad_addr = {**good, "to": ["not an address", "ok@cds-havre.example"]}
    lines = [
        json.dumps(good),
        "{broken json",
        json.dumps({"to": ["a@b.example"]}),  # no sender: invalid request
        json.dumps({k: v for k, v in good.items() if k != "sent_at"}),
        "",
        json.dumps(bad_addr),
        json.dumps([1, 2]),
    ]
    path = write(tmp_path / "cases.jsonl", ("\n".join(lines) + "\n").encode())
    assert detect_format(path) == "jsonl"
    stats = IngestStats()
    msgs = list(read_messages([path], stats=stats, dedup=False))
    assert [m.message_id for m in msgs] == ["cases.jsonl:1", "cases.jsonl:6"]
    first = msgs[0]
    assert first.body == "Bonjour Sophie"
    assert first.sender is not None and first.sender.name == "Claire Martin"
    assert [a.address for a in first.to] == ["s.lemaire@cds-havre.example", "x@gmail.com"]
    assert first.attachments[0].data == b"a;b\n"
    assert first.date == datetime(2023, 6, 3, 7, 12, tzinfo=UTC)
    assert [a.address for a in msgs[1].to] == ["ok@cds-havre.example"]
    assert stats.skipped == {"bad_json": 1, "invalid_request": 2, "no_date": 1}
    assert stats.notes["dropped_address"] == 1
    no_att = list(read_messages([path], keep_attachments=False))
    assert no_att[0].attachments == []


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("history.mbox", b"", "mbox"),
        ("export", b"From x@y Sat Jun  3 09:12:00 2023\nFrom: a@b.example\n", "mbox"),
        ("raw", b"Received: by x\nFrom: a@b.example\n\nhi", "eml"),
        ("requests.txt", b'{"sender": "a@b.example"}\n', "jsonl"),
    ],
)
def test_detect_format_files(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    assert detect_format(write(tmp_path / name, data)) == expected


@pytest.mark.parametrize("setup", ["missing", "binary", "empty_dir", "dir_of_mbox"])
def test_detect_format_rejects_non_mail(tmp_path: Path, setup: str) -> None:
    target = tmp_path / "x"
    if setup == "binary":
        write(target, bytes(range(256)) * 4)
    elif setup == "empty_dir":
        target.mkdir()
    elif setup == "dir_of_mbox":
        write(target / "a.mbox", mbox_of(eml()))
    with pytest.raises(ValueError, match="x"):
        detect_format(target)
    with pytest.raises(ValueError):
        list(read_messages([target]))


# --------------------------------------------------------------------------------------------
# Damage: each becomes a counted skip or a graceful fallback
# --------------------------------------------------------------------------------------------

HUGE = "X-Junk: " + "a" * (ingest.MAX_HEADER_BYTES + 10)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (eml(date=None), "no_date"),
        (eml(date="pas une date"), "no_date"),
        (eml(date="Mon, 31 Dec 1979 16:00:00 -0800"), "no_date"),  # Enron's epoch-0 placeholder
        (eml(frm="Claire Martin"), "no_sender"),
        (eml(to=None), "no_recipients"),
        (eml(to="undisclosed-recipients:;"), "no_recipients"),
        (eml(to="Kenneth Lay@ENRON, bob"), "no_recipients"),
        (eml(extra=HUGE), "header_too_large"),
        (bytes(range(256)) * 8, "not_email"),
        (b"\x00\x01\x02From: a@b.example\n\n", "not_email"),
        (b"   \n\n", "empty"),
    ],
)
def test_skip_reasons(raw: bytes, reason: str) -> None:
    with pytest.raises(SkipMessage) as info:
        parse_email_bytes(raw)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        # RFC 2047 subjects, UTF-8 (B) and Latin-1 (Q), adjacent words joined.
        (eml(subject="=?utf-8?B?VMOpbMOpdHJhbnNtaXNzaW9u?="), "subject", "Télétransmission"),
        (
            eml(subject="Re: =?iso-8859-1?Q?d=E9c=E8s?= =?iso-8859-1?Q?_du_patient?="),
            "subject",
            "Re: décès du patient",
        ),
        (eml(subject="=?x-bogus?Q?caf=E9?="), "subject", "café"),  # unknown charset
        (eml(subject="=?utf-8?B?broken"), "subject", "=?utf-8?B?broken"),
        # Body charsets: declared, unknown, and wrong.
        (
            eml(extra="Content-Type: text/plain; charset=iso-8859-1", body="").rstrip(b"\n")
            + b"\n\nd\xe9c\xe8s",
            "body",
            "décès",
        ),
        (eml(extra="Content-Type: text/plain; charset=klingon", body="décès"), "body", "décès"),
        (eml(extra="Content-Type: text/plain; charset=us-ascii", body="décès"), "body", "décès"),
        (
            eml(extra="Content-Type: text/plain; charset=utf-8", body="").rstrip(b"\n")
            + b"\n\nd\xe9c\xe8s",
            "body",
            "décès",
        ),  # says UTF-8, is Latin-1
        (
            eml(
                extra="Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable",
                body="d=C3=A9c=C3=A8s =\nfin",
            ),
            "body",
            "décès fin",
        ),
        (
            eml(
                extra="Content-Transfer-Encoding: base64",
                body=base64.b64encode("décès".encode()).decode(),
            ),
            "body",
            "décès",
        ),
        (eml(extra="Content-Transfer-Encoding: base64", body="!!!not base64 at all"), "body", None),
        # HTML-only body.
        (
            eml(
                extra="Content-Type: text/html; charset=utf-8",
                body="<html><style>p{}</style><p>Bonjour&nbsp;<b>Sophie</b></p><p>NIR</p></html>",
            ),
            "body",
            "Bonjour Sophie\n\nNIR",
        ),
        # Raw 8-bit UTF-8 in headers.
        (eml(subject="Décès"), "subject", "Décès"),
        (
            eml(subject="D\udce9c\udce8s".encode("utf-8", "surrogateescape").decode("latin-1")),
            "subject",
            None,
        ),
        # No Message-ID: a stable hash.
        (eml(msgid=None), "message_id", None),
        # Threading.
        (
            eml(extra="In-Reply-To: <p@x.example>\nReferences: <o@x.example>\n <p@x.example>"),
            "references",
            ["o@x.example", "p@x.example"],
        ),
    ],
)
def test_decoding_fallbacks(raw: bytes, field: str, expected: object) -> None:
    msg = parse_email_bytes(raw)
    value = getattr(msg, field)
    if expected is None:
        assert value  # decodes to something, does not crash
    else:
        assert value == expected
    if field == "message_id" and expected is None:
        assert value.startswith("sha1:") and parse_email_bytes(raw).message_id == value


def test_latin1_header_bytes_fall_back() -> None:
    raw = b"From: a@b.example\nTo: c@d.example\nDate: Sat, 03 Jun 2023 09:12:00 +0200\nSubject: D\xe9c\xe8s\n\nx"
    assert parse_email_bytes(raw).subject == "Décès"


def test_dates_are_timezone_aware() -> None:
    msg = parse_email_bytes(eml(date="Wed, 12 Jan 2000 08:24:00 -0800 (PST)"))
    assert msg.date == datetime(2000, 1, 12, 8, 24, tzinfo=timezone(timedelta(hours=-8)))
    naive = parse_email_bytes(eml(date="Wed, 12 Jan 2000 08:24:00 -0000"))
    assert naive.date.tzinfo is not None and naive.date.utcoffset() == timedelta(0)


def test_sender_fallbacks() -> None:
    raw = eml(frm="undisclosed", extra="Sender: Secrétariat <secretariat@cds.example>")
    assert parse_email_bytes(raw).sender.address == "secretariat@cds.example"
    raw = eml(frm="", extra="Return-Path: <bounce@cds.example>")
    assert parse_email_bytes(raw).sender.address == "bounce@cds.example"


def test_malformed_addresses_are_dropped_and_counted() -> None:
    from collections import Counter

    notes: Counter[str] = Counter()
    raw = eml(to="ok@cds.example, Kenneth Lay@ENRON, <@>, jean@", extra="Cc: a..shankman@enron.com")
    msg = parse_email_bytes(raw, notes=notes)
    assert [a.address for a in msg.to] == ["ok@cds.example"]
    assert [a.address for a in msg.cc] == ["a..shankman@enron.com"]  # real Enron address shape
    assert notes["dropped_address"] == 3


def test_broken_mime_keeps_the_message() -> None:
    raw = eml(
        extra='MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="zz"',
        body="--zz\nContent-Type: text/plain; charset=utf-8\n\nBonjour\n--zz\n"
        "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        'Content-Disposition: attachment; filename="a.pdf"\n\n%%%not-base64\n',  # no end
    )
    msg = parse_email_bytes(raw)
    assert msg.body == "Bonjour"
    assert [a.filename for a in msg.attachments] == ["a.pdf"]
    no_boundary = eml(extra="Content-Type: multipart/mixed", body="du texte sans frontière")
    assert parse_email_bytes(no_boundary).body == "du texte sans frontière"


def test_huge_header_in_mbox_is_skipped_in_stream(tmp_path: Path) -> None:
    path = write(tmp_path / "h.mbox", mbox_of(eml(extra=HUGE), eml(msgid="<ok@x.example>")))
    stats = IngestStats()
    msgs = list(read_messages([path], stats=stats))
    assert [m.message_id for m in msgs] == ["ok@x.example"]
    assert stats.skipped == {"header_too_large": 1}


def test_oversized_message_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ingest, "MAX_MESSAGE_BYTES", 2000)
    path = write(tmp_path / "big.mbox", mbox_of(eml(body="x" * 5000), eml(msgid="<ok@x.example>")))
    write(tmp_path / "dir" / "big.eml", eml(body="x" * 5000))
    stats = IngestStats()
    msgs = list(read_messages([path, tmp_path / "dir"], stats=stats))
    assert [m.message_id for m in msgs] == ["ok@x.example"]
    assert stats.skipped == {"message_too_large": 2}


def test_bad_files_in_maildir_are_counted(tmp_path: Path) -> None:
    root = tmp_path / "md"
    write(root / "cur" / "1.a", eml())
    write(root / "cur" / "2.b", bytes(range(256)))
    write(root / "cur" / "3.c", eml(date=None, msgid="<z@x.example>"))
    stats = IngestStats()
    assert len(list(read_messages([root], stats=stats))) == 1
    assert stats.skipped == {"not_email": 1, "no_date": 1}


# --------------------------------------------------------------------------------------------
# Dedup, names, bodies, attachments
# --------------------------------------------------------------------------------------------


def test_dedup_across_folders(tmp_path: Path) -> None:
    root = tmp_path / "maildir" / "skilling-j"
    copy = eml(msgid="<same@enron.com>", to="a@enron.com, b@enron.com")
    write(root / "all_documents" / "1_", copy)
    write(root / "sent" / "1_", copy.replace(b"Subject: T", b"Subject:  t"))  # spacing/case only
    write(
        root / "sent" / "2_",
        eml(
            msgid="<other@enron.com>",
            to="b@enron.com, a@enron.com",
            date="Sat, 03 Jun 2023 07:12:00 +0000",
        ),
    )  # same instant
    mbox = write(tmp_path / "more.mbox", mbox_of(copy))
    stats = IngestStats()
    msgs = list(read_messages([tmp_path / "maildir", mbox], stats=stats, progress=True))
    assert len(msgs) == 1 and msgs[0].folder == "skilling-j/all_documents"
    assert stats.duplicates == 3 and stats.read == 1
    assert len(list(read_messages([tmp_path / "maildir", mbox], dedup=False))) == 4


def test_idna_domain_and_encoded_names() -> None:
    raw = eml(
        to="=?utf-8?Q?J=C3=A9r=C3=B4me_Dupr=C3=A9?= <jerome@clinique-évreux.fr>",
        extra="Cc: \"Lemaire, Sophie\" <S.Lemaire@CDS-Havre.Example>, 'jean@x.example'",
    )
    msg = parse_email_bytes(raw)
    assert msg.to[0].address == "jerome@xn--clinique-vreux-jkb.fr"
    assert msg.to[0].name == "Jérôme Dupré"
    assert [(a.address, a.name) for a in msg.cc] == [
        ("s.lemaire@cds-havre.example", "Lemaire, Sophie"),
        ("jean@x.example", None),
    ]
    assert msg.sender.name == "Claire Martin"


@pytest.mark.parametrize(
    ("to", "x_to", "names"),
    [
        # Lined up: names by position.
        ("a.b@enron.com, c.d@enron.com", "Anne B, Carl D", ["Anne B", "Carl D"]),
        # Notes-only extra entries: matched by last name and initial.
        (
            "joseph.sutton@enron.com, cindy.adams@enron.com",
            "Joseph W Sutton, Steven J Kean@EES, Jeffrey McMahon@ECT, Cindy Adams",
            ["Joseph W Sutton", "Cindy Adams"],
        ),
        (
            "a..shankman@enron.com",
            "Jeffrey A Shankman, Kenneth Lay/Corp/Enron@ENRON",
            ["Jeffrey A Shankman"],
        ),
        # Addresses given in X-To: matched by address.
        ("x@gs.com", '"Beaird, Jason" <x@gs.com>', ["Beaird, Jason"]),
        # X-To entries that are bare addresses give no name.
        ("x@aol.com", "x@aol.com", [None]),
        # SMTP display names win over X-To.
        ("Real Name <a.b@enron.com>", "Other Name", ["Real Name"]),
    ],
)
def test_enron_x_headers_give_display_names(to: str, x_to: str, names: list[str | None]) -> None:
    raw = eml(
        frm="rosalee.fleming@enron.com",
        to=to,
        extra=f"X-From: Rosalee Fleming\nX-To: {x_to}\nX-cc: \nX-bcc: ",
    )
    msg = parse_email_bytes(raw)
    assert [a.name for a in msg.to] == names
    assert msg.sender.name == "Rosalee Fleming"


def test_enron_bcc_copy_of_cc_is_dropped() -> None:
    enron = eml(extra="Cc: a@enron.com\nBcc: a@enron.com\nX-cc: A\nX-bcc: ")
    assert parse_email_bytes(enron).bcc == []
    real_bcc = eml(extra="Cc: a@enron.com\nBcc: a@enron.com")  # no X-bcc: a genuine Bcc
    assert [a.address for a in parse_email_bytes(real_bcc).bcc] == ["a@enron.com"]


def multipart(html_only: bool = False) -> bytes:
    pdf = base64.b64encode(b"%PDF-1.4 fake").decode()
    alt = (
        "--alt\nContent-Type: text/html; charset=utf-8\n\n<p>Bonjour <i>Sophie</i></p>\n"
        if html_only
        else "--alt\nContent-Type: text/plain; charset=utf-8\n\nBonjour Sophie\n"
        "--alt\nContent-Type: text/html; charset=utf-8\n\n<p>HTML</p>\n"
    )
    body = (
        "--mix\nContent-Type: multipart/alternative; boundary=alt\n\n" + alt + "--alt--\n"
        "--mix\nContent-Type: application/pdf; name=x.pdf\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename*=utf-8''bordereau%20d%C3%A9c%C3%A8s.pdf\n\n"
        + pdf
        + "\n"
        "--mix\nContent-Type: message/rfc822\n\nFrom: z@x.example\nSubject: fwd\n\ninner\n"
        "--mix\nContent-Type: text/csv; charset=utf-8\nContent-Disposition: attachment; "
        'filename="=?utf-8?Q?liste_=C3=A9t=C3=A9.csv?="\n\na;b\n'
        "--mix--\n"
    )
    return eml(extra="MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=mix", body=body)


def test_attachments_and_plain_preferred() -> None:
    msg = parse_email_bytes(multipart())
    assert msg.body == "Bonjour Sophie"
    assert [(a.filename, a.content_type) for a in msg.attachments] == [
        ("bordereau décès.pdf", "application/pdf"),
        ("message.eml", "message/rfc822"),
        ("liste été.csv", "text/csv"),
    ]
    assert msg.attachments[0].data == b"%PDF-1.4 fake"
    assert msg.attachments[2].data == b"a;b"  # the last newline belongs to the boundary
    assert parse_email_bytes(multipart(), keep_attachments=False).attachments == []


def test_html_only_multipart_body() -> None:
    assert parse_email_bytes(multipart(html_only=True)).body == "Bonjour Sophie"


def test_single_part_attachment_message() -> None:
    raw = eml(
        extra="Content-Type: application/pdf; name=scan.pdf\nContent-Transfer-Encoding: base64",
        body=base64.b64encode(b"%PDF").decode(),
    )
    msg = parse_email_bytes(raw)
    assert msg.body == "" and msg.attachments[0].filename == "scan.pdf"
    assert msg.attachments[0].data == b"%PDF"


# --------------------------------------------------------------------------------------------
# Stats, summary, progress, command line
# --------------------------------------------------------------------------------------------


def test_stats_counts_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(
        tmp_path / "h.mbox",
        mbox_of(
            eml(msgid="<1@x.example>", body="SECRET-BODY"),
            eml(msgid="<1@x.example>", body="SECRET-BODY"),
            eml(date=None),
            eml(to=None),
            b"\x00\x01binary junk",
        ),
    )
    stats = IngestStats()
    msgs = list(read_messages([path], stats=stats, progress=True))
    assert len(msgs) == 1
    d = stats.to_dict()
    assert d["read"] == 1 and d["duplicates"] == 1
    assert d["skipped"] == {"no_date": 1, "no_recipients": 1, "not_email": 1}
    assert d["skipped_total"] == 3 and d["by_format"] == {"mbox": 1}
    assert d["by_file"] == {str(path): 1}
    json.dumps(d)
    print_summary(stats)
    out = capsys.readouterr()
    assert "no_date" in out.err and "SECRET-BODY" not in out.err + out.out


def test_cli_ingest_prints_counts_only(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from model.cli import app

    path = write(tmp_path / "h.mbox", mbox_of(eml(body="SECRET-BODY")))
    result = CliRunner().invoke(app, ["ingest", "--history", str(path), "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "SECRET-BODY" not in result.output
    counts = json.loads(result.stdout.strip().splitlines()[-1])
    assert counts["read"] == 1
    bad = CliRunner().invoke(app, ["ingest", "--history", str(tmp_path / "nope")])
    assert bad.exit_code != 0


@pytest.mark.enron
def test_enron_mailboxes_account_for_every_message(shared_data: Path) -> None:
    path = shared_data / "enron" / "skilling-j.mbox"
    stats = IngestStats()
    msgs = list(read_messages([path], stats=stats, keep_attachments=False))
    assert stats.read + stats.duplicates + stats.skipped_total == 4139
    assert stats.read > 2000 and stats.skipped.get("unparseable", 0) == 0
    assert all(m.date.tzinfo is not None and m.sender is not None for m in msgs)
    named = sum(1 for m in msgs for _, a in m.recipients() if a.name)
    assert named > 0.25 * sum(len(m.recipient_addresses()) for m in msgs)


# --------------------------------------------------------------------------------------------
# Hostile input: nothing but SkipMessage ever leaves the parser
# --------------------------------------------------------------------------------------------

_PIECES = [
    b"From: a@b.example\n",
    b"To: c@d.example, =?utf-8?B?@@?= <x@y>\n",
    b'Cc: "unterminated <q@r.example>\n',
    b"Date: Sat, 03 Jun 2023 09:12:00 +0200\n",
    b"Date: 99 Foo 99999 99:99:99 +9999\n",
    b"Subject: =?iso-8859-1?Q?caf=E9?= =?bogus?B?====?=\n",
    b"Content-Type: multipart/mixed; boundary=b\n",
    b"Content-Type: text/html; charset=utf-16\n",
    b"Content-Transfer-Encoding: base64\n",
    b"\n",
    b"--b\n",
    b"--b--\n",
    b"\xff\xfe\x00junk",
    b"<html><div><div><p>x",
    b"=?utf-8?Q?=C3?=",
    b"Content-Disposition: attachment; filename*=bogus''%%%\n",
    b" folded continuation\n",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=40)), max_size=30))
def test_parser_never_crashes(pieces: list[bytes]) -> None:
    raw = b"".join(pieces)
    try:
        msg = parse_email_bytes(raw)
    except SkipMessage:
        return
    assert msg.date.tzinfo is not None and msg.sender is not None
    assert msg.to or msg.cc or msg.bcc


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([*_PIECES, b"From x Sat Jun  3 09:12:00 2023\n", b">From y\n"]),
            st.binary(max_size=40),
        ),
        max_size=40,
    )
)
def test_mbox_reader_never_crashes(tmp_path: Path, pieces: list[bytes]) -> None:
    path = tmp_path / "fuzz.mbox"
    path.write_bytes(b"".join(pieces))
    stats = IngestStats()
    list(read_messages([path], stats=stats))
    assert stats.skipped.get("unparseable", 0) == 0  # a parser bug would be counted here
    assert stats.bytes_read == path.stat().st_size


def test_cached_header_results_are_not_shared_between_messages() -> None:
    raw = eml(to="a@x.example, b@x.example")
    first = parse_email_bytes(raw)
    first.to.append(first.to[0])
    assert [a.address for a in parse_email_bytes(raw).to] == ["a@x.example", "b@x.example"]
