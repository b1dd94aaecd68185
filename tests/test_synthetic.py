"""The synthetic world: deterministic, valid identifiers, every scenario, aligned labels."""

from __future__ import annotations

import base64
import io
import itertools
import json
import mailbox
import random
import re
import time
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest
from stdnum import iban as std_iban
from stdnum.fr import nir as std_nir

from model.mail import normalize_address
from model.schemas import CheckRequest
from model.synthetic import annotated_mails, generate_world
from model.synthetic.attachments import docx_bytes, pdf_bytes
from model.synthetic.ids import make_iban, make_nir, nir_key, rib_key
from model.synthetic.templates import pool_items

FILES = ("history.mbox", "cases.jsonl", "labels.jsonl", "world.json")
SCENARIOS = [f"S{i}" for i in range(1, 9)]
# NIR as written in the world: compact, grouped "2 55 08 14 168 025 38", or "…13 digits key".
NIR_RE = re.compile(r"(?<![0-9A-Za-z])([12]) ?(\d{2}) ?(\d{2}) ?(\d{2}|2A|2B|9[78]\d) ?(\d{3}|\d{2}) ?"
                    r"(\d{3}) ?(\d{2})(?![0-9])")
IBAN_RE = re.compile(r"\bFR\d{2}(?: ?[0-9A-Z]{4}){5} ?[0-9A-Z]{3}\b")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("world")
    t0 = time.perf_counter()
    summary = generate_world(out, seed=7, size="small")
    summary["_wall"] = time.perf_counter() - t0
    return out, summary


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _history_texts(path: Path) -> list[str]:
    texts = []
    for msg in mailbox.mbox(path, factory=lambda f: BytesParser(policy=policy.default).parse(f)):
        for part in msg.walk():
            if part.is_multipart():
                continue
            data = part.get_payload(decode=True) or b""
            texts.append(data.decode("utf-8", errors="replace"))
    return texts


def _case_texts(cases: list[dict]) -> list[str]:
    texts = []
    for c in cases:
        texts.append(c["body"])
        for a in c["attachments"]:
            texts.append(base64.b64decode(a["content_base64"]).decode("utf-8", errors="replace"))
    return texts


def test_small_is_fast_and_writes_all_files(world: tuple[Path, dict]) -> None:
    out, summary = world
    assert summary["_wall"] < 10.0
    for name in FILES:
        assert (out / name).stat().st_size > 0
    assert 300 <= summary["history_messages"] <= 1500
    assert 200 <= summary["cases"] <= 600
    json.dumps({k: v for k, v in summary.items() if k != "_wall"})


def test_same_seed_same_bytes_other_seed_differs(world: tuple[Path, dict], tmp_path: Path) -> None:
    out, _ = world
    generate_world(tmp_path / "again", seed=7, size="small")
    generate_world(tmp_path / "other", seed=8, size="small")
    for name in FILES:
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name
    for name in ("history.mbox", "cases.jsonl"):
        assert (out / name).read_bytes() != (tmp_path / "other" / name).read_bytes(), name


def test_mbox_parses_with_the_stdlib(world: tuple[Path, dict]) -> None:
    out, summary = world
    box = mailbox.mbox(out / "history.mbox", factory=lambda f: BytesParser(policy=policy.default).parse(f))
    messages = list(box)
    assert len(messages) == summary["history_messages"]
    ids = set()
    multipart = non_ascii_subject = 0
    for msg in messages:
        assert msg["Message-ID"] and msg["Message-ID"] not in ids
        ids.add(msg["Message-ID"])
        assert msg["Date"].datetime.tzinfo is not None
        assert normalize_address(msg["From"].addresses[0].addr_spec)
        assert msg["To"].addresses
        multipart += msg.is_multipart()
        subject = msg["Subject"]
        non_ascii_subject += not subject.isascii()
        if msg.is_multipart():
            assert msg.get_body(("plain",)) is not None
    assert multipart > 20 and non_ascii_subject > 20
    raw = (out / "history.mbox").read_bytes()
    assert b"=?utf-8?" in raw  # RFC 2047 for non-ASCII subjects and names


def test_every_nir_and_iban_validates(world: tuple[Path, dict]) -> None:
    out, _ = world
    texts = _history_texts(out / "history.mbox") + _case_texts(_read_jsonl(out / "cases.jsonl"))
    nirs = ibans = 0
    for text in texts:
        for m in NIR_RE.finditer(text):
            value = "".join(m.groups())
            if len(value) != 15:
                continue
            if not (0 < int(value[3:5]) <= 12 or 20 <= int(value[3:5]) <= 42):
                continue  # not shaped like a NIR (e.g. a phone or an amount)
            assert std_nir.is_valid(value), value
            nirs += 1
        for m in IBAN_RE.finditer(text):
            assert std_iban.is_valid(m.group(0)), m.group(0)
            ibans += 1
    assert nirs > 200 and ibans > 20


def test_generators_build_valid_identifiers() -> None:
    rng = random.Random(0)
    for _ in range(3000):
        sex = rng.choice("MF")
        n = make_nir(rng, sex, date(rng.randint(1920, 2020), rng.randint(1, 12), 1))
        assert std_nir.is_valid(n), n
        assert n[0] == ("1" if sex == "M" else "2")
        i = make_iban(rng)
        assert std_iban.is_valid(i) and len(i) == 27
        assert rib_key(i[4:9], i[9:14], i[14:25]) == i[25:27]
    # Published vectors (REFERENCE.md).
    assert nir_key("2550814168025") == "38"
    assert nir_key("253072B073004") == "70"
    assert nir_key("253072A073004") == "43"
    assert rib_key("20041", "01005", "0500013M026") == "06"


@pytest.mark.parametrize("kind", ["pdf", "docx"])
def test_attachments_are_readable(kind: str) -> None:
    lines = ["Compte-rendu – Mme Hélène Durand (née le 02/03/1956)", "NIR (2 56 03 76 351 012 44)"]
    if kind == "pdf":
        from pypdf import PdfReader

        text = PdfReader(io.BytesIO(pdf_bytes(lines))).pages[0].extract_text()
    else:
        import docx

        text = "\n".join(p.text for p in docx.Document(io.BytesIO(docx_bytes(lines))).paragraphs)
    for line in lines:
        assert line in text


def test_cases_are_check_requests_and_labels_align(world: tuple[Path, dict]) -> None:
    out, _ = world
    cases = _read_jsonl(out / "cases.jsonl")
    labels = _read_jsonl(out / "labels.jsonl")
    assert len(cases) == len(labels)
    assert len({lab["case_id"] for lab in labels}) == len(labels)
    times = []
    for case, lab in zip(cases, labels, strict=True):
        assert "case_id" not in case
        msg = CheckRequest.model_validate(case).to_message()
        times.append(msg.date)
        recipients = msg.recipient_addresses()
        assert lab["scenario"] in [*SCENARIOS, "legit"]
        if lab["scenario"] == "legit":
            assert lab["wrong"] == [] and lab["intended"] is None
            continue
        assert lab["wrong"] and all(w in recipients for w in lab["wrong"])
        if lab["scenario"] == "S8":
            assert lab["intended"] is None
        else:
            assert lab["intended"] and lab["intended"] not in recipients
            assert lab["intended"] not in lab["wrong"]
    assert times == sorted(times)  # the test month in time order


def test_every_scenario_is_present(world: tuple[Path, dict]) -> None:
    out, summary = world
    labels = _read_jsonl(out / "labels.jsonl")
    counts = {s: sum(lab["scenario"] == s for lab in labels) for s in SCENARIOS}
    assert all(c >= 15 for c in counts.values()), counts
    assert summary["scenarios"] == {**counts, "legit": sum(lab["scenario"] == "legit" for lab in labels)}
    kinds = {lab.get("kind") for lab in labels if lab["scenario"] == "legit"}
    assert {"first_contact", "self", "internal_broadcast", "new_topic"} <= kinds
    # The seed case: the colleague's address and the former patient's.
    assert any(lab["intended"] == "s.lemaire@cds-havre.example"
               and lab["wrong"] == ["s.lemaire@gmail.com"] for lab in labels)


def test_scenarios_have_their_shape(world: tuple[Path, dict]) -> None:
    from rapidfuzz.distance import Levenshtein

    out, _ = world
    cases = _read_jsonl(out / "cases.jsonl")
    labels = _read_jsonl(out / "labels.jsonl")
    roles = {a["address"]: a for a in json.loads((out / "world.json").read_text())["addresses"]}
    assert len(cases) == len(labels)
    for lab in labels:
        if lab["kind"] == "typo":
            assert 1 <= Levenshtein.distance(lab["wrong"][0], lab["intended"]) <= 3
        if lab["scenario"] == "S4":
            assert roles[lab["wrong"][0]]["org"] != roles[lab["intended"]]["org"]
        if lab["scenario"] == "S6":
            assert roles[lab["wrong"][0]]["kind"] == "patient"


GROUP_GREETING_RE = re.compile(r"^(?:<[^>]+>)*\s*(?:Bonjour à (?:tous|toutes et à tous|l(?:'|&#x27;)équipe)"
                               r"|Mesdames, Messieurs)", re.IGNORECASE)


def test_one_patient_is_never_greeted_as_a_group(world: tuple[Path, dict]) -> None:
    """A letter to a single patient greets a person ("Madame," "Bonjour,"), never "l'équipe"
    (a misdirected letter keeps the greeting written for its intended recipient)."""
    out, _ = world
    cases = _read_jsonl(out / "cases.jsonl")
    labels = _read_jsonl(out / "labels.jsonl")
    roles = {a["address"]: a for a in json.loads((out / "world.json").read_text())["addresses"]}
    to_one_patient = 0
    for case, lab in zip(cases, labels, strict=True):
        if lab["scenario"] != "legit":
            continue
        to = [r if isinstance(r, str) else r["address"] for r in case["to"]]
        if len(to) == 1 and not case["cc"] and roles.get(to[0], {}).get("kind") == "patient":
            to_one_patient += 1
            assert not GROUP_GREETING_RE.match(case["body"]), case["body"][:80]
    assert to_one_patient > 50


TUTOIEMENT_RE = re.compile(r"\b(?:tu|ton|ta|tes|te|t')\b|\bSalut\b|\bCoucou\b")


def test_new_topics_fit_the_correspondent_organisation(world: tuple[Path, dict]) -> None:
    """A "new topic with a usual correspondent" never sends an internal note to an outsider."""
    out, _ = world
    cases = _read_jsonl(out / "cases.jsonl")
    labels = _read_jsonl(out / "labels.jsonl")
    roles = {a["address"]: a for a in json.loads((out / "world.json").read_text())["addresses"]}
    new_topic = [(c, lab) for c, lab in zip(cases, labels, strict=True) if lab["kind"] == "new_topic"]
    assert new_topic
    for case, _lab in new_topic:
        to = case["to"][0] if isinstance(case["to"][0], str) else case["to"][0]["address"]
        if roles[to]["kind"] != "staff":
            # Internal notes say "tu" to a colleague.
            assert not TUTOIEMENT_RE.search(case["body"]), case["body"][:120]


def test_world_json_has_roles_but_no_identifiers(world: tuple[Path, dict]) -> None:
    out, _ = world
    data = json.loads((out / "world.json").read_text())
    kinds = {o["kind"] for o in data["organisations"]}
    assert {"home", "cpam", "cds", "hospital", "lab", "mutuelle", "supplier"} <= kinds
    text = (out / "world.json").read_text()
    assert not IBAN_RE.search(text)
    addresses = {a["address"] for a in data["addresses"]}
    assert {"s.lemaire@cds-havre.example", "s.lemaire@gmail.com"} <= addresses


@pytest.mark.parametrize("split", ["train", "heldout"])
def test_annotated_spans_match_text(split: str) -> None:
    mails = annotated_mails(seed=3, n=300, split=split)  # type: ignore[arg-type]
    assert len(mails) == 300
    roles = set()
    for m in mails:
        assert m.persons
        for start, end, role in m.persons:
            span = m.text[start:end]
            assert span and span == span.strip() and span[0].isupper(), (span, m.text)
            assert not span.startswith(("Mme", "M.", "Dr", "Madame", "Monsieur", "Docteur"))
            roles.add(role)
        ordered = sorted(m.persons)
        for (_, end, _), (start, _, _) in itertools.pairwise(ordered):
            assert m.text[end:start].strip(), ("one name split in two spans", m.text)
    assert roles == {"addressee", "signer", "third_party"}
    assert annotated_mails(seed=3, n=20, split=split)[5].text == mails[5].text  # type: ignore[arg-type]


def test_annotated_greeting_span_is_the_name_only() -> None:
    mails = annotated_mails(seed=1, n=400, split="train")
    found = False
    for m in mails:
        if m.text.startswith("Bonjour ") and m.text.split("\n")[0].endswith(","):
            for start, end, role in m.persons:
                if role == "addressee" and start < len(m.text.split("\n")[0]):
                    assert not m.text[start:end].startswith(("Madame", "Monsieur", "Mme", "M."))
                    found = True
    assert found


def test_annotated_train_and_heldout_templates_are_disjoint() -> None:
    def parts(split: str) -> set[str]:
        return {p for m in annotated_mails(seed=5, n=600, split=split)  # type: ignore[arg-type]
                for p in m.template_id.split("+")}

    train, heldout = parts("train"), parts("heldout")
    assert train and heldout and not train & heldout
    assert all(pool_items(["a", "b", "c", "d"], s) for s in ("train", "heldout"))  # type: ignore[arg-type]


@pytest.mark.parametrize("size", ["small", "default"])
def test_world_records_are_valid_and_confusable(size: str) -> None:
    from model.synthetic.generate import HISTORY_START, TEST_END, TEST_START
    from model.synthetic.world import World

    world = World(random.Random(11), size, HISTORY_START, TEST_START, TEST_END)
    patients = [p for p in world.people if p.kind == "patient"]
    assert len(patients) >= 100
    for p in patients:
        assert std_nir.is_valid(p.nir) and std_iban.is_valid(p.iban), p.address
        assert p.nir[0] == ("1" if p.sex == "M" else "2")
        assert p.birth and p.nir[1:3] == f"{p.birth.year % 100:02d}"
    for org in world.orgs.values():
        assert org.iban is None or std_iban.is_valid(org.iban)
    for p in world.people:
        assert normalize_address(p.address) == p.address
    by = world.by_address
    assert by["s.lemaire@cds-havre.example"].kind == "staff"
    assert by["s.lemaire@gmail.com"].kind == "patient"
    firsts = [p.first for p in world.people if p.first]
    assert firsts.count("Sophie") >= 2
    assert {o.kind for o in world.orgs.values()} >= {"cpam", "cds", "hospital", "lab", "mutuelle"}
    assert any(p.address.endswith("@patient.mssante.fr") for p in patients)
    assert any(".mssante.fr" in p.address and p.kind == "partner" for p in world.people)
