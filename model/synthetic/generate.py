"""Six months of legitimate mail, then a test month of check requests with labelled slips.

``generate_world`` writes ``history.mbox``, ``cases.jsonl``, ``labels.jsonl`` and
``world.json`` (SPEC §4). Everything derives from one ``random.Random(seed)``: no global
random state, no wall clock (except the reported duration), no hash-order iteration.
"""

from __future__ import annotations

import base64
import json
import quopri
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from rapidfuzz.distance import Levenshtein

from model.synthetic.attachments import csv_bytes, docx_bytes, pdf_bytes
from model.synthetic.ids import format_iban, format_nir
from model.synthetic.templates import (
    MONTHS,
    Composition,
    compose,
    render_line,
)
from model.synthetic.world import Person, World, slug

TZ = ZoneInfo("Europe/Paris")
HISTORY_START = date(2024, 12, 2)
TEST_START = date(2025, 6, 2)
TEST_END = date(2025, 6, 30)
SCENARIOS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")

SIZES = {
    # history messages, legitimate test cases, misdirected cases per scenario
    "small": (700, 260, 15),
    "default": (14000, 2600, 26),
}

SUBJECTS: dict[str, list[str]] = {
    "teletrans": ["Télétransmission du {date}", "Bordereau télétransmission lot {lot}", "Lot {lot} – FSE",
                  "Rejets lot {lot}", "Télétransmission {date}", "FSE en mode dégradé"],
    "teletrans_internal": ["Télétransmission du {date}", "Bordereau à vérifier", "Fichier FSE {date}",
                           "Lot {lot}", "Télétransmission", "Rejets de la semaine"],
    "courrier": ["Courrier {T.civs} {T.last}", "Adressage – {T.inv}", "Compte-rendu consultation {T.full}",
                 "Demande d'avis", "{T.inv} – {T.ddn}", "Votre patient{T.e} {T.civs} {T.last}"],
    "courrier_sec": ["Courrier Dr {D.last} – {T.civs} {T.last}", "Demande de CR – {T.inv}",
                     "Patient{T.e} {T.full}", "Demande de rendez-vous", "Dossier {T.inv}"],
    "rdv": ["Votre rendez-vous du {date_rdv}", "Confirmation de rendez-vous", "Centre de santé – rendez-vous",
            "Rappel rendez-vous", "Report de votre rendez-vous", "Votre demande de rendez-vous"],
    "self": ["Vos résultats", "Votre dossier", "Ordonnance", "Attestation",
             "Centre de santé du Havre – votre dossier", "Compte-rendu de votre examen"],
    "interne": ["{T.civs} {T.last}", "Rappel patient", "Planning", "Petite question", "Dossier {T.full}",
                "Absence jeudi", "Urgent", "À voir"],
    "note_service": ["Note de service", "Réunion d'équipe", "Information – fermeture du centre",
                     "Planning des gardes", "Rappel sécurité informatique", "Information équipe"],
    "mutuelle": ["Demande de prise en charge – {T.inv}", "Tiers payant {date}", "Dossier {T.full}",
                 "Facture soins {T.civs} {T.last}"],
    "cds": ["Transfert de dossier – {T.inv}", "Permanence des soins", "Réunion des centres de santé",
            "Patient{T.e} {T.full}", "Convention de partenariat"],
    "lab": ["Résultats {T.inv}", "Bilan {T.civs} {T.last}", "Prélèvement {date}", "Demande de résultats"],
    "supplier": ["Commande {commande}", "Facture {facture}", "Demande de devis", "Livraison du {date}"],
    "cpam_q": ["Droits de {T.civs} {T.last}", "Question tiers payant", "Indu – {T.inv}",
               "Rattachement caisse", "Question dossier"],
    "attestation": ["Votre attestation de paiement", "Votre remboursement", "Attestation de soins",
                    "Relevé de soins"],
    "patient_in": ["Rendez-vous", "Demande de rendez-vous", "Remboursement", "Ordonnance",
                   "Changement d'adresse", "Question", "Attestation", "Mes résultats"],
    "lab_in": ["Résultats {T.inv}", "Résultats de biologie", "Compte-rendu – {T.full}", "Résultats du {date}"],
    "cpam_in": ["Retour lot {lot}", "Rejets télétransmission", "Paiement lot {lot}", "Réponse à votre demande"],
    "supplier_in": ["Facture {facture}", "Expédition commande {commande}", "Devis", "Relance facture {facture}"],
}

PATIENT_SUBJECTS = [["Rendez-vous", "Demande de rendez-vous", "rdv"], ["Remboursement", "RIB", "Mon RIB"],
                    ["Ordonnance", "Ordonnance manquante"], ["Annulation rendez-vous", "Rdv demain"],
                    ["Attestation", "Attestation employeur"], ["Changement d'adresse", "Nouvelle adresse"],
                    ["Mes résultats", "Résultats", ""], ["Numéro de sécurité sociale", "Mon dossier"]]

BATCH_RDV_SUBJECTS = ["Rappel rendez-vous", "Rappel : votre rendez-vous au centre de santé",
                      "Votre rendez-vous du {date_rdv}", "Centre de santé – rappel de rendez-vous"]

# Topics each role writes about, with weights (the habits).
HABITS: dict[str, list[tuple[str, int]]] = {
    "doctor": [("courrier", 30), ("lab", 8), ("self", 12), ("interne", 22), ("cds", 4),
               ("rdv", 3)],
    "secretary": [("rdv", 40), ("interne", 20), ("courrier_sec", 18), ("lab", 6), ("cds", 4),
                  ("batch_rdv", 3)],
    "billing": [("teletrans", 26), ("teletrans_internal", 16), ("cpam_q", 10), ("mutuelle", 14),
                ("batch_attestation", 4), ("supplier", 6), ("interne", 8), ("attestation", 6)],
    "manager": [("interne", 30), ("supplier", 10), ("cds", 8), ("note_service", 6), ("cpam_q", 3)],
    "nurse": [("interne", 30), ("lab", 20), ("rdv", 10), ("self", 5)],
}
INCOMING: list[tuple[str, int]] = [("patient_in", 30), ("courrier_in", 22), ("lab_in", 14),
                                   ("cpam_in", 10), ("supplier_in", 5), ("mutuelle_in", 5),
                                   ("cds_in", 4)]
# The "new topic with a usual correspondent" legitimate case: topics by the correspondent's
# organisation kind.
NEW_TOPICS: dict[str, list[str]] = {
    "home": ["interne", "cds", "courrier", "supplier", "lab", "cpam_q", "mutuelle"],
    "cpam": ["cpam_q"], "cds": ["cds", "courrier"], "hospital": ["courrier", "cds"],
    "clinic": ["courrier", "cds"], "doctor": ["courrier", "cds"], "lab": ["lab"],
    "mutuelle": ["mutuelle"], "supplier": ["supplier"],
}
PATIENT_DATA_TOPICS = {"teletrans", "teletrans_internal", "courrier", "courrier_sec", "interne",
                       "mutuelle", "cds", "lab", "cpam_q", "lab_in", "cpam_in"}


@dataclass
class Draft:
    """One message before it becomes an mbox entry or a check request."""

    sender: Person
    to: list[Person]
    cc: list[Person]
    subject: str
    body: str
    when: datetime
    topic: str
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)
    third: list[Person] = field(default_factory=list)
    message_id: str = ""
    in_reply_to: str | None = None
    kind: str = "routine"
    names: dict[str, str | None] = field(default_factory=dict)  # display override per address

    def recipients(self) -> list[Person]:
        return self.to + self.cc


def _zipf(rng: random.Random, items: list[Person], s: float = 1.0) -> Person:
    return rng.choices(items, [1.0 / (i + 1) ** s for i in range(len(items))])[0]


def fr_date(d: date) -> str:
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


class Generator:
    """Builds the drafts of the world from the staff's habits."""

    def __init__(self, world: World, rng: random.Random):
        self.w = world
        self.rng = rng
        self.staff = world.staff()
        self.home = world.orgs["home"]
        self._patients_by_day: dict[date, list[Person]] = {}
        self._prefs: dict[str, dict[str, list[Person]]] = {}
        self._msg_counter = 0
        self._build_prefs()

    # --- preferences (who writes to whom) ---------------------------------------------------
    def _build_prefs(self) -> None:
        w, rng = self.w, self.rng
        hosp = [p for p in w.people if p.role == "hospital_doctor" and p.since is None]
        services = [p for p in w.people if p.role == "hospital_service"]
        private = w.of("medecin")
        docs = [p for p in self.staff if p.role == "doctor"]
        secs = [p for p in self.staff if p.role == "secretary" and p.since is None]
        for p in self.staff:
            prefs: dict[str, list[Person]] = {}
            prefs["hosp"] = rng.sample(hosp, k=min(len(hosp), rng.randint(3, 6)))
            prefs["services"] = rng.sample(services, k=min(len(services), 2))
            prefs["private"] = rng.sample(private, k=min(len(private), 2))
            cpam76 = [q for q in w.of("cpam76") if q.kind == "partner"]
            rng.shuffle(cpam76)
            prefs["cpam"] = cpam76
            colleagues = [q for q in self.staff if q is not p and q.since is None]
            rng.shuffle(colleagues)
            # Colleagues of the same role and the linked secretary/doctor first.
            colleagues.sort(key=lambda q: 0 if q.role == p.role else 1)
            prefs["colleagues"] = colleagues
            prefs["docs"] = docs
            prefs["secs"] = secs
            self._prefs[p.address] = prefs

    def patients(self, day: date) -> list[Person]:
        if day not in self._patients_by_day:
            self._patients_by_day[day] = self.w.patients(day)
        return self._patients_by_day[day]

    def patient(self, day: date, doctor: Person | None = None, exclude: tuple[Person, ...] = ()) -> Person:
        pool = self.patients(day)
        if doctor is not None and self.rng.random() < 0.7:
            own = [p for p in pool if p.extra.get("doctor") == doctor.address]
            if own:
                pool = own
        while True:
            p = self.rng.choice(pool)
            if p not in exclude:
                return p

    def when(self, day: date, patient_hours: bool = False) -> datetime:
        rng = self.rng
        if patient_hours:
            hour = rng.choice([7, 8, 9, 12, 13, 17, 18, 19, 20, 21, 22])
        else:
            hour = rng.choices(range(8, 19), [3, 8, 9, 9, 5, 6, 8, 8, 7, 5, 2])[0]
        return datetime(day.year, day.month, day.day, hour, rng.randint(0, 59), rng.randint(0, 59),
                        tzinfo=TZ)

    def workday(self, start: date, end: date, weekend: bool = False) -> date:
        rng = self.rng
        while True:
            d = start + timedelta(days=rng.randint(0, (end - start).days))
            if weekend or d.weekday() < 5 or (d.weekday() == 5 and rng.random() < 0.1):
                return d

    def next_id(self, domain: str) -> str:
        self._msg_counter += 1
        return f"<{self.rng.getrandbits(48):012x}.{self._msg_counter}@{domain}>"

    # --- composition ------------------------------------------------------------------------
    def _values(self, sender: Person, day: date) -> dict[str, str]:
        rng = self.rng
        org = self.w.orgs.get(sender.org)
        values = {
            "fonction": sender.fonction.split(" – ")[0] if sender.fonction else "",
            "org_name": org.name if org else "",
            "org_address": org.address if org and org.address else self.home.address,
            "org_phone": org.phone if org and org.phone else self.home.phone,
            "org_iban": format_iban((org.iban if org and org.iban else self.home.iban) or ""),
        }
        d1 = day + timedelta(days=rng.randint(1, 30))
        d0 = day - timedelta(days=rng.randint(1, 20))
        values["date_rdv"] = fr_date(d1) if rng.random() < 0.5 else f"{d1.day:02d}/{d1.month:02d}/{d1.year}"
        values["date"] = fr_date(d0) if rng.random() < 0.5 else f"{d0.day:02d}/{d0.month:02d}/{d0.year}"
        return values

    def _relation(self, sender: Person, to: list[Person]) -> str:
        a = to[0]
        if len(to) > 2 or a.kind == "service":
            return "group"
        if not a.first:
            return "generic"
        if sender.kind == "staff" and a.kind == "staff":
            return "colleague"
        doc_roles = {"doctor", "hospital_doctor", "private_doctor"}
        if sender.role in doc_roles and a.role in doc_roles and self.rng.random() < 0.75:
            return "confrere"
        return "formal" if self.rng.random() < 0.8 else "generic"

    def compose(self, sender: Person, to: list[Person], cc: list[Person], topic: str, day: date,
                persons: dict[str, Person], subject_pool: str | None = None,
                attachments: list[tuple[str, str, bytes]] | None = None,
                patient_hours: bool = False, subject: str | None = None) -> Draft:
        rng = self.rng
        relation = self._relation(sender, to)
        if to[0].first:  # bodies may name the addressee even under a generic greeting
            persons = {**persons, "A": to[0]}
        persons = {**persons, "S": sender}
        closing = {"colleague": "colleague", "confrere": "confrere"}.get(relation, "formal")
        if sender.kind == "staff":
            sig = "doctor" if sender.role == "doctor" else "staff"
        else:
            sig = {"patient": "patient", "partner": "partner", "service": "service"}[sender.kind]
        external = any(r.org != "home" for r in to + cc)
        comp = Composition(relation, topic, closing, sig,
                           paragraphs=1 if rng.random() < 0.8 else 2,
                           disclaimer=sender.org == "home" and external and rng.random() < 0.4)
        values = self._values(sender, day)
        mail = compose(rng, comp, persons, values)
        if subject is None and topic == "patient_in":
            # A patient's subject says what the (first) paragraph asks.
            first_body = int(mail.template_id.split("+")[1].rsplit(":", 1)[1])
            subject = rng.choice(PATIENT_SUBJECTS[first_body])
        if subject is None:
            subject = render_line(rng, rng.choice(SUBJECTS[subject_pool or topic]), persons, values)
        third = [p for k, p in persons.items() if k in ("T", "U") and p.kind == "patient"]
        when = self.when(day, patient_hours)
        return Draft(sender, list(to), list(cc), subject, mail.text, when, topic,
                     attachments or [], third)

    # --- attachments ------------------------------------------------------------------------
    def bordereau(self, day: date, rows: int, must: list[Person]) -> tuple[str, str, bytes]:
        rng = self.rng
        pool = self.patients(day)
        chosen = list(must) + [p for p in rng.sample(pool, k=min(len(pool), rows)) if p not in must]
        chosen = chosen[:max(rows, len(must))]
        header = ["nom", "prenom", "nir", "date_naissance", "date_soins", "acte", "code", "montant"]
        acts = [("Consultation", "G", "30,00"), ("Consultation pédiatrique", "COE", "30,00"),
                ("ECG", "DEQP003", "14,52"), ("Frottis", "JKHD001", "12,46"),
                ("Visite à domicile", "VG", "40,00"), ("Téléconsultation", "TCG", "30,00"),
                ("Détartrage", "HBJD001", "28,92")]
        lines = []
        for p in chosen:
            act = rng.choice(acts)
            b = p.birth or date(1970, 1, 1)
            lines.append([p.last.upper(), p.first, p.nir or "", f"{b.day:02d}/{b.month:02d}/{b.year}",
                          f"{day.day:02d}/{day.month:02d}/{day.year}", act[0], act[1], act[2]])
        name = rng.choice([f"bordereau_{day:%Y%m%d}.csv", f"teletransmission_{day:%d%m%Y}.csv",
                           f"lot_{rng.randint(100, 999)}.csv", "FSE_rejets.csv"])
        return name, "text/csv", csv_bytes(header, lines)

    def letter(self, sender: Person, patient: Person, title: str, day: date) -> tuple[str, str, bytes]:
        rng = self.rng
        org = self.w.orgs.get(sender.org)
        b = patient.birth or date(1970, 1, 1)
        lines = [org.name if org else "", org.address if org else "", "",
                 f"Le Havre, le {fr_date(day)}", "", f"Objet : {title}", "",
                 f"Patient{'e' if patient.sex == 'F' else ''} : {patient.last.upper()} {patient.first}",
                 f"{'Née' if patient.sex == 'F' else 'Né'} le {b.day:02d}/{b.month:02d}/{b.year}",
                 f"NIR : {format_nir(patient.nir or '')}", f"Adresse : {patient.postal}", ""]
        lines += render_line(rng, rng.choice([
            "Motif : {motif}. Examen clinique sans particularité. Traitement : {traitement}.",
            "Résultat : {resultat}. À contrôler dans trois mois.",
            "Acte réalisé : {acte}. Montant : {montant} euros.",
            "Je vous remercie de bien vouloir recevoir ce patient pour {motif}."]), {}, {}).split("\n")
        lines += ["", f"{'Dr ' if sender.role in ('doctor', 'hospital_doctor') else ''}{sender.full}".strip()]
        stem = slug(patient.last)
        name = rng.choice([f"courrier_{stem}.pdf", f"CR_{stem}_{day:%Y%m%d}.pdf", "compte-rendu.pdf",
                           f"resultats_{stem}.pdf", "document.pdf"])
        return name, "application/pdf", pdf_bytes(lines)

    def invoice(self, supplier_org: str, day: date) -> tuple[str, str, bytes]:
        rng = self.rng
        org = self.w.orgs[supplier_org]
        num = f"F{rng.randint(10000, 99999)}"
        lines = [org.name, f"Facture {num} du {fr_date(day)}", "Client : Centre de santé du Havre", "",
                 f"{render_line(rng, '{fourniture}', {}, {})} : {rng.randint(40, 900)},00 EUR HT",
                 f"Total TTC : {rng.randint(50, 1100)},{rng.randint(0, 99):02d} EUR", "",
                 f"Règlement par virement - IBAN {format_iban(org.iban or '')}"]
        return f"facture_{num}.pdf", "application/pdf", pdf_bytes(lines)

    # --- outgoing topics --------------------------------------------------------------------
    def outgoing(self, sender: Person, day: date, topic: str | None = None) -> list[Draft]:
        """One message (or a mail-merge batch) the sender writes on ``day``."""
        rng = self.rng
        if topic is None:
            topics = HABITS[sender.role]
            topic = rng.choices([t for t, _ in topics], [w for _, w in topics])[0]
        if topic.startswith("batch_"):
            return self.batch(sender, day, topic[6:])
        return [getattr(self, f"t_{topic}")(sender, day)]

    def _colleague(self, sender: Person, day: date, roles: tuple[str, ...] | None = None) -> Person:
        pool = [c for c in self._prefs[sender.address]["colleagues"] if c.active(day)
                and (roles is None or c.role in roles)]
        return _zipf(self.rng, pool or self._prefs[sender.address]["colleagues"], 0.8)

    def _doctor_for(self, sender: Person, patient: Person) -> Person:
        if sender.role == "doctor":
            return sender
        return self.w.by_address.get(patient.extra.get("doctor", ""), sender)

    def t_teletrans(self, s: Person, day: date) -> Draft:
        rng, w = self.rng, self.w
        t = self.patient(day)
        u = self.patient(day, exclude=(t,))
        cpam = t.extra["cpam"] if rng.random() < 0.15 else "cpam76"
        agents = [p for p in w.of(cpam) if p.kind == "partner"]
        to = [w.by_address[f"teletransmission@{w.orgs[cpam].domain}"]] if rng.random() < 0.5 else \
            [_zipf(rng, self._prefs[s.address]["cpam"]) if cpam == "cpam76" else rng.choice(agents)]
        cc = []
        if rng.random() < 0.4:
            cc.append(self._colleague(s, day, ("billing",)))
        att = [self.bordereau(day, rng.randint(4, 12), [t, u])] if rng.random() < 0.6 else []
        return self.compose(s, to, cc, "teletrans", day, {"T": t, "U": u}, attachments=att)

    def t_teletrans_internal(self, s: Person, day: date, rows: int | None = None) -> Draft:
        rng = self.rng
        t = self.patient(day)
        u = self.patient(day, exclude=(t,))
        to = [self._colleague(s, day, ("billing", "manager"))]
        att = [self.bordereau(day, rows or rng.randint(4, 22), [t, u])] if rows or rng.random() < 0.7 else []
        return self.compose(s, to, [], "teletrans_internal", day, {"T": t, "U": u}, attachments=att)

    def t_courrier(self, s: Person, day: date) -> Draft:
        rng = self.rng
        prefs = self._prefs[s.address]
        t = self.patient(day, s)
        pool = prefs["hosp"] + prefs["private"] + prefs["services"]
        to = [_zipf(rng, pool, 0.7)]
        cc = []
        if rng.random() < 0.3 and prefs["secs"]:
            cc.append(rng.choice(prefs["secs"]))
        att = [self.letter(s, t, "Courrier médical", day)] if rng.random() < 0.5 else []
        return self.compose(s, to, cc, "courrier", day, {"T": t, "U": self.patient(day)},
                            attachments=att)

    def t_courrier_sec(self, s: Person, day: date) -> Draft:
        rng = self.rng
        prefs = self._prefs[s.address]
        t = self.patient(day)
        d = self._doctor_for(s, t)
        to = [_zipf(rng, prefs["services"] + prefs["hosp"], 0.8)]
        cc = [d] if rng.random() < 0.3 and d.kind == "staff" else []
        att = [self.letter(d, t, "Courrier", day)] if rng.random() < 0.5 else []
        return self.compose(s, to, cc, "courrier_sec", day, {"T": t, "D": d}, attachments=att)

    def t_rdv(self, s: Person, day: date) -> Draft:
        t = self.patient(day, s if s.role == "doctor" else None)
        d = self._doctor_for(s, t)
        return self.compose(s, [t], [], "rdv", day, {"D": d})

    def t_self(self, s: Person, day: date) -> Draft:
        rng = self.rng
        t = self.patient(day, s)
        att = [self.letter(s, t, "Compte-rendu", day)] if rng.random() < 0.4 else []
        return self.compose(s, [t], [], "self", day, {}, attachments=att)

    def t_attestation(self, s: Person, day: date, t: Person | None = None) -> Draft:
        rng = self.rng
        t = t or self.patient(day)
        att = [self.letter(s, t, "Attestation de paiement", day)] if rng.random() < 0.3 else []
        return self.compose(s, [t], [], "attestation", day, {}, attachments=att)

    def t_interne(self, s: Person, day: date) -> Draft:
        rng = self.rng
        to = [self._colleague(s, day)]
        cc = [self._colleague(s, day)] if rng.random() < 0.2 else []
        cc = [c for c in cc if c not in to]
        t = self.patient(day, to[0] if to[0].role == "doctor" else None)
        d = to[0] if to[0].role == "doctor" else self._doctor_for(s, t)
        return self.compose(s, to, cc, "interne", day, {"T": t, "D": d})

    def t_note_service(self, s: Person, day: date) -> Draft:
        rng = self.rng
        everyone = [p for p in self.w.staff(day) if p is not s]
        to = everyone if rng.random() < 0.7 else [self.w.by_address[f"direction@{self.home.domain}"]]
        cc = [] if to is everyone else everyone
        att = [("note_de_service.docx",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                docx_bytes(["Note de service", f"Le Havre, le {fr_date(day)}",
                            "Objet : organisation du service", "La direction"]))] \
            if rng.random() < 0.3 else []
        newcomer = rng.choice(self.staff)
        return self.compose(s, to, cc, "note_service", day, {"D": newcomer}, attachments=att)

    def t_mutuelle(self, s: Person, day: date) -> Draft:
        rng, w = self.rng, self.w
        t = self.patient(day)
        org = t.extra["mutuelle"]
        people = w.of(org)
        to = [rng.choice(people)]
        att = [self.letter(s, t, "Facture de soins", day)] if rng.random() < 0.3 else []
        return self.compose(s, to, [], "mutuelle", day, {"T": t}, attachments=att)

    def t_cds(self, s: Person, day: date) -> Draft:
        rng, w = self.rng, self.w
        org = rng.choices(["cds_fecamp", "cds_harfleur"], [3, 1])[0]
        to = [rng.choice(w.of(org))]
        cc = [self._colleague(s, day, ("manager",))] if rng.random() < 0.3 else []
        t = self.patient(day, s if s.role == "doctor" else None)
        att = [self.letter(s, t, "Synthèse médicale", day)] if rng.random() < 0.3 else []
        return self.compose(s, to, cc, "cds", day, {"T": t, "D": self._doctor_for(s, t)},
                            attachments=att)

    def t_lab(self, s: Person, day: date) -> Draft:
        rng, w = self.rng, self.w
        org = rng.choices(["lab", "lab2"], [5, 1])[0]
        to = [rng.choice(w.of(org))]
        t = self.patient(day, s if s.role == "doctor" else None)
        return self.compose(s, to, [], "lab", day, {"T": t, "D": self._doctor_for(s, t)})

    def t_supplier(self, s: Person, day: date) -> Draft:
        rng, w = self.rng, self.w
        org = rng.choice(["sup1", "sup2", "sup3"])
        to = [rng.choice(w.of(org))]
        cc = [self._colleague(s, day, ("manager", "billing"))] if rng.random() < 0.25 else []
        return self.compose(s, to, cc, "supplier", day, {})

    def t_cpam_q(self, s: Person, day: date) -> Draft:
        rng, w = self.rng, self.w
        t = self.patient(day)
        cpam = t.extra["cpam"]
        agents = [p for p in w.of(cpam) if p.kind == "partner"]
        to = [_zipf(rng, self._prefs[s.address]["cpam"]) if cpam == "cpam76" else rng.choice(agents)]
        if rng.random() < 0.2:
            to = [w.by_address[f"ps@{w.orgs[cpam].domain}"]]
        return self.compose(s, to, [], "cpam_q", day, {"T": t})

    def batch(self, s: Person, day: date, kind: str) -> list[Draft]:
        """A mail merge: one message per patient, seconds apart."""
        rng = self.rng
        pool = self.patients(day)
        people = rng.sample(pool, k=min(len(pool), rng.randint(5, 12)))
        start = self.when(day)
        subject = rng.choice(SUBJECTS["attestation"] if kind == "attestation" else BATCH_RDV_SUBJECTS)
        subject = subject.replace("{date_rdv}", fr_date(day + timedelta(days=7)))
        drafts = []
        for i, p in enumerate(people):
            if kind == "attestation":
                d = self.compose(s, [p], [], "attestation", day, {}, subject=subject)
            else:
                d = self.compose(s, [p], [], "rdv", day, {"D": self._doctor_for(s, p)}, subject=subject)
            d.when = start + timedelta(seconds=4 * i)
            d.kind = "batch"
            drafts.append(d)
        return drafts

    # --- incoming ---------------------------------------------------------------------------
    def incoming(self, day: date) -> Draft:
        rng, w = self.rng, self.w
        topic = rng.choices([t for t, _ in INCOMING], [x for _, x in INCOMING])[0]
        if topic == "patient_in":
            p = self.patient(day)
            doc = w.by_address[p.extra["doctor"]]
            r = rng.random()
            to = [w.by_address[f"secretariat@{self.home.domain}"]] if r < 0.6 else \
                [doc] if r < 0.8 else [rng.choice([x for x in self.staff if x.role == "secretary"
                                                    and x.since is None])]
            if rng.random() < 0.15:
                to = [w.by_address[f"facturation@{self.home.domain}"]]
            return self.compose(p, to, [], "patient_in", day, {"D": doc}, patient_hours=True)
        if topic == "courrier_in":
            doc = rng.choice([x for x in self.staff if x.role == "doctor" and x.since is None])
            s = _zipf(rng, self._prefs[doc.address]["hosp"] + self._prefs[doc.address]["private"])
            t = self.patient(day, doc)
            cc = [rng.choice(self._prefs[doc.address]["secs"])] if rng.random() < 0.2 else []
            att = [self.letter(s, t, "Compte-rendu d'hospitalisation", day)] if rng.random() < 0.6 else []
            return self.compose(s, [doc], cc, "courrier", day, {"T": t, "U": self.patient(day)},
                                attachments=att)
        if topic == "lab_in":
            doc = rng.choice([x for x in self.staff if x.role == "doctor"])
            s = rng.choice(w.of(rng.choices(["lab", "lab2"], [5, 1])[0]))
            t = self.patient(day, doc)
            att = [self.letter(s, t, "Résultats d'analyses", day)] if rng.random() < 0.6 else []
            return self.compose(s, [doc], [], "lab_in", day, {"T": t}, attachments=att)
        if topic == "cpam_in":
            s = rng.choice([p for p in w.of("cpam76")])
            billing = [x for x in self.staff if x.role == "billing"]
            to = [rng.choice(billing)] if rng.random() < 0.6 else \
                [w.by_address[f"facturation@{self.home.domain}"]]
            t = self.patient(day)
            att = [self.bordereau(day, rng.randint(2, 6), [t])] if rng.random() < 0.3 else []
            return self.compose(s, to, [], "cpam_in", day, {"T": t}, attachments=att)
        if topic == "supplier_in":
            org = rng.choice(["sup1", "sup2", "sup3"])
            s = rng.choice(w.of(org))
            to = [rng.choice([x for x in self.staff if x.role in ("billing", "manager")])]
            att = [self.invoice(org, day)] if rng.random() < 0.6 else []
            return self.compose(s, to, [], "supplier_in", day, {}, attachments=att)
        if topic == "mutuelle_in":
            t = self.patient(day)
            s = rng.choice(w.of(t.extra["mutuelle"]))
            to = [rng.choice([x for x in self.staff if x.role == "billing"])]
            return self.compose(s, to, [], "mutuelle", day, {"T": t})
        org = rng.choice(["cds_fecamp", "cds_harfleur"])
        s = rng.choice(w.of(org))
        to = [rng.choice([x for x in self.staff if x.role in ("doctor", "manager")])]
        t = self.patient(day)
        return self.compose(s, to, [], "cds", day, {"T": t, "D": s if s.first else to[0]})

    def reply(self, original: Draft, reply_all: bool) -> Draft | None:
        """The first recipient answers (quoting the original)."""
        rng = self.rng
        responder = original.to[0]
        if responder.until is not None and responder.until < original.when.date():
            return None
        to = [original.sender]
        cc = [p for p in original.to[1:] + original.cc if p is not responder] if reply_all else []
        persons: dict[str, Person] = {}
        relation = self._relation(responder, to)
        if original.sender.first:
            persons["A"] = original.sender
        persons["S"] = responder
        comp = Composition(relation, "reply",
                           {"colleague": "colleague", "confrere": "confrere"}.get(relation, "formal"),
                           "doctor" if responder.role == "doctor" and responder.kind == "staff" else
                           {"staff": "staff", "patient": "patient", "partner": "partner",
                            "service": "service"}[responder.kind])
        mail = compose(rng, comp, persons, self._values(responder, original.when.date()))
        when = original.when + timedelta(minutes=rng.randint(5, 60 * 26))
        if when.weekday() >= 5:
            when += timedelta(days=7 - when.weekday())
        body = mail.text + "\n" + quote(original, rng)
        prefix = rng.choice(["RE: ", "Re: ", "RE : "])
        d = Draft(responder, to, cc, prefix + original.subject, body, when, original.topic,
                  [], list(original.third))
        d.in_reply_to = original.message_id
        return d


def quote(original: Draft, rng: random.Random) -> str:
    """The quoted earlier message, Outlook or Thunderbird style."""
    s = original.sender
    w = original.when
    if rng.random() < 0.5:
        head = (f"\n-----Message d'origine-----\nDe : {s.display} <{s.address}>\n"
                f"Envoyé : {fr_date(w.date())} {w:%H:%M}\n"
                f"À : {'; '.join(p.display for p in original.to)}\nObjet : {original.subject}\n\n")
        return head + original.body
    head = f"\nLe {fr_date(w.date())} à {w:%H:%M}, {s.display} <{s.address}> a écrit :\n"
    return head + "\n".join("> " + line if line else ">" for line in original.body.split("\n"))


# --- misdirection ------------------------------------------------------------------------------
_AZERTY = ["azertyuiop", "qsdfghjklm", "wxcvbn"]


def _neighbours(c: str) -> str:
    for row in _AZERTY:
        i = row.find(c)
        if i >= 0:
            return row[max(0, i - 1):i] + row[i + 1:i + 2]
    return "abcdefghijklmnopqrstuvwxyz"


def typo(rng: random.Random, address: str) -> str:
    """A 1-2 character edit of an address (local part or domain)."""
    local, domain = address.split("@")
    if rng.random() < 0.3:
        swaps = {".example": ".exemple", "gmail.com": "gmial.com", "orange.fr": "orange.com",
                 "free.fr": "free.com", "laposte.net": "laposte.fr", "hotmail.fr": "hotmail.com",
                 "wanadoo.fr": "wanadou.fr", "mssante.fr": "msante.fr", "sfr.fr": "sfr.com",
                 "yahoo.fr": "yahoo.com", "icloud.com": "iclod.com", "outlook.fr": "outlook.com"}
        for a, b in swaps.items():
            if domain.endswith(a):
                return f"{local}@{domain[:-len(a)]}{b}"
    chars = list(local)
    letters = [i for i, c in enumerate(chars) if c.isalpha()]
    if not letters:
        return f"{local}1@{domain}"
    op = rng.choice(["delete", "double", "swap", "neighbour", "dot"])
    i = rng.choice(letters)
    if op == "delete" and len(letters) > 3:
        del chars[i]
    elif op == "double":
        chars.insert(i, chars[i])
    elif op == "swap" and i + 1 < len(chars) and chars[i + 1] != chars[i]:
        chars[i], chars[i + 1] = chars[i + 1], chars[i]
    elif op == "dot" and "." in chars:
        chars.remove(".")
    else:
        chars[i] = rng.choice(_neighbours(chars[i]))
    new = "".join(chars).strip(".")
    if new == local:
        new = local + "s"
    return f"{new}@{domain}"


def _similar(a: Person, b: Person) -> bool:
    """Look-alike of a for S1-S3 purposes (so S7/S8/S5 picks avoid them)."""
    if Levenshtein.distance(a.address.split("@")[0], b.address.split("@")[0]) <= 2:
        return True
    if a.first and b.first and (slug(a.first) == slug(b.first) or slug(a.last) == slug(b.last)):
        return True
    ka, kb = slug(a.display)[:3], slug(b.display)[:3]
    return bool(ka and ka == kb) or a.address[:3] == b.address[:3]


class Misdirector:
    """Turns a legitimate draft into a misdirected one for a scenario."""

    def __init__(self, gen: Generator, book: dict[str, list[str]]):
        self.gen = gen
        self.w = gen.w
        self.rng = gen.rng
        self.book = book
        self._unknown: dict[str, Person] = {}

    def contacts(self, sender: Person) -> list[Person]:
        """Autocomplete candidates: the sender's past correspondents and the home directory."""
        addrs = list(self.book.get(sender.address, []))
        addrs += [p.address for p in self.w.people if p.org == "home" and p.since is None]
        seen: dict[str, None] = {}
        for a in addrs:
            seen.setdefault(a, None)
        return [self.w.by_address[a] for a in seen if a in self.w.by_address and a != sender.address]

    def unknown(self, address: str, first: str = "", last: str = "", display: str = "") -> Person:
        if address in self.w.by_address:
            return self.w.by_address[address]
        p = self._unknown.get(address)
        if p is None:
            p = Person(-1, first, last, "F", address, "patient", "unknown", "unknown", display=display)
            self._unknown[address] = p
        return p

    def apply(self, d: Draft, scenario: str) -> tuple[list[Person], Person | None] | None:
        """Mutates ``d``; returns ``(wrong, intended)`` or ``None`` when the draft does not fit."""
        rng = self.rng
        recips = d.recipients()
        if scenario == "S8":
            known = [c for c in self.contacts(d.sender) if c not in recips
                     and all(c.org != r.org for r in recips)
                     and not any(_similar(c, r) for r in recips)]
            if not known:
                return None
            extra = rng.choice(known)
            if d.cc or rng.random() < 0.7:
                d.cc.append(extra)
            else:
                d.to.append(extra)
            if rng.random() < 0.4 and d.to[0].first:
                # Reply-all style: the draft answers an earlier message of the first recipient.
                first = d.to[0]
                comp = Composition("formal", "reply", "formal",
                                   "patient" if first.kind == "patient" else "partner"
                                   if first.kind == "partner" else "staff")
                earlier = compose(rng, comp, {"A": d.sender, "S": first},
                                  self.gen._values(first, d.when.date()))
                original = Draft(first, [d.sender], [extra], d.subject, earlier.text,
                                 d.when - timedelta(hours=rng.randint(2, 72)), d.topic)
                d.subject = "RE: " + d.subject
                d.body = d.body + quote(original, rng)
            return [extra], None
        # Replacement scenarios: the first To recipient that is a person (not a broadcast).
        if len(d.to) > 3:
            return None
        intended = d.to[0]
        wrong = self.pick(d, scenario, intended)
        if wrong is None or wrong in recips or wrong.address == d.sender.address:
            return None
        d.to[0] = wrong
        if scenario == "S1" and wrong.id == -1:
            d.names[wrong.address] = intended.display if rng.random() < 0.5 else None
        return [wrong], intended

    def pick(self, d: Draft, scenario: str, intended: Person) -> Person | None:
        rng, w = self.rng, self.w
        contacts = [c for c in self.contacts(d.sender) if c is not intended]
        if scenario == "S1":
            near = [p for p in w.people if p is not intended and p.address != d.sender.address and (
                Levenshtein.distance(p.address, intended.address) <= 2
                # The seed: a colleague's local part at a webmail (kinds differ, else it is S4).
                or (Levenshtein.distance(p.local_part, intended.local_part) <= 1
                    and p.kind != intended.kind and "patient" in (p.kind, intended.kind)))]
            if near and rng.random() < 0.8:
                return rng.choice(near)
            if not near and rng.random() < 0.6:
                return None  # redraw: about a third of S1 should hit an existing look-alike
            return self.unknown(typo(rng, intended.address))
        if scenario == "S2":
            def prefix(p: Person) -> set[str]:
                keys = {p.address[:3]}
                if p.first:
                    keys |= {slug(p.first)[:3], slug(p.last)[:3]}
                elif p.display:
                    keys.add(slug(p.display)[:3])
                return keys
            want = prefix(intended)
            cands = [c for c in contacts if prefix(c) & want and c.local_part != intended.local_part
                     and not (
                c.first and intended.first and (slug(c.first) == slug(intended.first)
                                                or slug(c.last) == slug(intended.last)))
                and Levenshtein.distance(c.address, intended.address) > 2]
            return rng.choice(cands) if cands else None
        if scenario == "S3":
            if not intended.first:
                return None
            def homonym(c: Person) -> bool:
                return bool(c.first) and c is not intended and (
                    slug(c.first) == slug(intended.first) or slug(c.last) == slug(intended.last))
            cands = [c for c in contacts if homonym(c)]
            if not cands or rng.random() < 0.3:
                cands = cands + [c for c in w.people if homonym(c) and c.since is None]
            return rng.choice(cands) if cands else None
        if scenario == "S4":
            family = {"cpam": "cpam", "cds": "cds", "hospital": "hosp", "clinic": "hosp",
                      "lab": "lab", "mutuelle": "mutuelle"}
            org = w.orgs.get(intended.org)
            if org is None or org.kind not in family:
                return None
            others = [o for o in w.orgs.values() if o.id != org.id
                      and family.get(o.kind) == family[org.kind]]
            o = rng.choice(others)
            local = intended.address.split("@")[0]
            same = w.by_address.get(f"{local}@{o.domain}")
            if same is not None:
                return same
            cands = [p for p in w.of(o.id) if p.role == intended.role and p.since is None] or \
                [p for p in w.of(o.id) if p.since is None]
            return rng.choice(cands) if cands else None
        if scenario == "S5":
            if not d.third:
                return None
            excluded = set(d.third) | {intended}
            r = rng.random()
            if r < 0.6:
                cands = [c for c in contacts if c.kind == "patient" and c not in excluded
                         and not _similar(c, intended)]
            elif r < 0.85:
                cands = [c for c in self.gen.patients(d.when.date()) if c not in excluded
                         and not _similar(c, intended)]
            else:
                p = w.names
                sex = rng.choice("MF")
                first, last = p.first(sex, rng.randint(1950, 2000)), p.last_name()
                addr = f"{slug(first)}.{slug(last)}{rng.randint(1, 99)}@{w.webmail()}"
                return self.unknown(addr, first, last, f"{first} {last}")
            return rng.choice(cands) if cands else None
        if scenario == "S7":
            cands = [c for c in contacts if c.org != intended.org and not _similar(c, intended)
                     and c not in d.third]
            return rng.choice(cands) if cands else None
        raise ValueError(scenario)


# --- output ------------------------------------------------------------------------------------
# The mbox is written by hand: the stdlib's header folding costs ~5 ms a message, which made
# the default world take minutes. The result parses with ``email`` (tested).
def _addr_header(people: list[Person], names: dict[str, str | None] | None = None) -> str:
    out = []
    for p in people:
        name = (names or {}).get(p.address, p.display) if names and p.address in names else p.display
        out.append(formataddr((name or "", p.address), charset="utf-8"))
    return ",\n ".join(out)


def _subject_header(subject: str) -> str:
    if subject.isascii():
        return subject
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")


def _qp(text: str) -> bytes:
    data = quopri.encodestring(text.encode("utf-8"))
    # mbox: a body line starting with "From " would split the message; encode its F instead.
    data = data.replace(b"\nFrom ", b"\n=46rom ")
    return b"=46rom " + data[5:] if data.startswith(b"From ") else data


def mbox_entry(d: Draft) -> bytes:
    """One mbox entry (``From `` line, RFC 822 headers, MIME body) for a draft."""
    stamp = d.when.astimezone(UTC).strftime("%a %b %d %H:%M:%S %Y")
    head = [f"From {d.sender.address} {stamp}",
            f"From: {_addr_header([d.sender])}",
            f"To: {_addr_header(d.to, d.names)}"]
    if d.cc:
        head.append(f"Cc: {_addr_header(d.cc, d.names)}")
    head += [f"Subject: {_subject_header(d.subject)}", f"Date: {format_datetime(d.when)}",
             f"Message-ID: {d.message_id}"]
    if d.in_reply_to:
        head += [f"In-Reply-To: {d.in_reply_to}", f"References: {d.in_reply_to}"]
    head.append("MIME-Version: 1.0")
    text_part = (b'Content-Type: text/plain; charset="utf-8"\n'
                 b"Content-Transfer-Encoding: quoted-printable\n\n" + _qp(d.body))
    if not d.attachments:
        return "\n".join(head).encode("utf-8") + b"\n" + text_part + b"\n\n"
    boundary = "=_mixed_" + d.message_id.strip("<>").split("@")[0]
    head.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
    b = boundary.encode()
    parts = [b"--" + b + b"\n" + text_part]
    for filename, ctype, data in d.attachments:
        parts.append(b"--" + b + b"\n" + (
            f"Content-Type: {ctype}\nContent-Transfer-Encoding: base64\n"
            f'Content-Disposition: attachment; filename="{filename}"\n\n').encode()
            + base64.encodebytes(data))
    body = b"\n".join(parts) + b"\n--" + b + b"--\n"
    return "\n".join(head).encode("utf-8") + b"\n\n" + body + b"\n"


def _recipient(p: Person, names: dict[str, str | None], plain: bool) -> str | dict:
    name = names.get(p.address, p.display) if p.address in names else p.display
    if plain:
        return p.address
    return {"address": p.address, "name": name or None}


def to_request(d: Draft, rng: random.Random) -> dict:
    """The check request of SPEC §4 for a draft."""
    plain = rng.random() < 0.1
    body, fmt = d.body, "text"
    if rng.random() < 0.1:
        from html import escape

        paras = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in d.body.split("\n\n"))
        body, fmt = f"<html><body>{paras}</body></html>", "html"
    return {
        "sender": {"address": d.sender.address, "name": d.sender.display or None},
        "to": [_recipient(p, d.names, plain) for p in d.to],
        "cc": [_recipient(p, d.names, plain) for p in d.cc],
        "bcc": [],
        "subject": d.subject,
        "body": body,
        "body_format": fmt,
        "attachments": [{"filename": f, "content_type": c,
                         "content_base64": base64.b64encode(b).decode("ascii")}
                        for f, c, b in d.attachments],
        "sent_at": d.when.isoformat(),
    }


# --- the whole world ---------------------------------------------------------------------------
def build_history(gen: Generator, n_messages: int) -> list[Draft]:
    rng = gen.rng
    staff = [p for p in gen.staff if p.since is None]
    activity = {"doctor": 1.0, "secretary": 1.6, "billing": 1.8, "manager": 1.0, "nurse": 0.7}
    weights = [activity[p.role] * rng.uniform(0.5, 1.5) for p in staff]
    drafts: list[Draft] = []
    end = TEST_START - timedelta(days=1)
    while len(drafts) < n_messages:
        r = rng.random()
        if r < 0.62:
            s = rng.choices(staff, weights)[0]
            day = gen.workday(HISTORY_START, end)
            new = gen.outgoing(s, day)
        else:
            new = [gen.incoming(gen.workday(HISTORY_START, end, weekend=True))]
        for d in new:
            d.message_id = gen.next_id(d.sender.address.split("@")[1])
            drafts.append(d)
            if d.kind != "batch" and rng.random() < 0.22 and d.to[0].kind != "service" \
                    and len(d.to) < 4:
                rep = gen.reply(d, reply_all=rng.random() < 0.5)
                if rep is not None and rep.when.date() <= end:
                    rep.message_id = gen.next_id(rep.sender.address.split("@")[1])
                    drafts.append(rep)
    drafts.sort(key=lambda x: (x.when, x.message_id))
    return drafts


def address_book(history: list[Draft]) -> tuple[dict[str, list[str]], set[str], set[tuple[str, str, str]]]:
    """Per home address: correspondents in order of first contact; all addresses; pair topics."""
    book: dict[str, dict[str, None]] = {}
    seen: set[str] = set()
    pair_topics: set[tuple[str, str, str]] = set()
    for d in history:
        parts = [d.sender, *d.recipients()]
        for p in parts:
            seen.add(p.address)
        for p in parts:
            if p.org != "home":
                continue
            for q in parts:
                if q is not p:
                    book.setdefault(p.address, {}).setdefault(q.address, None)
        for q in d.recipients():
            pair_topics.add((d.sender.address, q.address, d.topic))
    return {k: list(v) for k, v in book.items()}, seen, pair_topics


def build_cases(gen: Generator, history: list[Draft], n_legit: int, per_scenario: int
                ) -> list[tuple[Draft, dict]]:
    rng, w = gen.rng, gen.w
    book, seen, pair_topics = address_book(history)
    mis = Misdirector(gen, book)
    staff_now = [p for p in gen.staff]
    activity = {"doctor": 1.0, "secretary": 1.6, "billing": 1.8, "manager": 1.0, "nurse": 0.7}
    weights = [activity[p.role] for p in staff_now]
    out: list[tuple[Draft, dict]] = []

    def draw(topic: str | None = None, sender: Person | None = None) -> list[Draft]:
        while True:
            day = gen.workday(TEST_START, TEST_END)
            s = sender or rng.choices(staff_now, weights)[0]
            if not s.active(day):
                continue
            if topic is not None and not hasattr(gen, f"t_{topic}") and not topic.startswith("batch_"):
                continue
            return gen.outgoing(s, day, topic)

    def label(kind: str, scenario: str = "legit", wrong: list[Person] | None = None,
              intended: Person | None = None) -> dict:
        return {"scenario": scenario, "wrong": [p.address for p in wrong or []],
                "intended": intended.address if intended else None, "kind": kind}

    def legit_kind(d: Draft) -> str:
        if len(d.recipients()) >= 10:
            return "internal_broadcast"
        if any(p.address not in seen for p in d.recipients()):
            return "first_contact"
        if d.topic in ("self", "attestation", "rdv") and d.to[0].kind == "patient":
            return "self"
        if d.kind == "batch":
            return "batch"
        return "routine"

    # Misdirected cases, one scenario each.
    suitable = {
        "S1": None, "S2": None, "S3": None, "S7": None, "S8": None,
        "S4": ["teletrans", "cpam_q", "cds", "courrier", "lab", "mutuelle"],
        "S5": ["courrier", "teletrans", "interne", "cpam_q", "mutuelle", "lab", "courrier_sec",
               "teletrans_internal", "cds"],
    }
    # The seed case: the billing colleague's file goes to the former patient.
    seed_sender = w.by_address["c.martin@cds-havre.example"]
    colleague = w.by_address["s.lemaire@cds-havre.example"]
    former = w.by_address["s.lemaire@gmail.com"]
    for _ in range(2 if per_scenario < 20 else 3):
        day = gen.workday(TEST_START, TEST_END)
        t, u = gen.patient(day), gen.patient(day)
        d = gen.compose(seed_sender, [colleague], [], "teletrans_internal", day, {"T": t, "U": u},
                        attachments=[gen.bordereau(day, 20, [t, u])],
                        subject=f"Télétransmission du {day.day} {MONTHS[day.month - 1]}")
        d.to[0] = former
        out.append((d, label("seed", "S1", [former], colleague)))
    counts = Counter(lab["scenario"] for _, lab in out)
    for scenario in SCENARIOS:
        tries = 0
        while counts[scenario] < per_scenario and tries < 5000:
            tries += 1
            if scenario == "S6":
                s = rng.choice([p for p in gen.staff if p.role in ("billing", "secretary")
                                and p.since is None])
                batch = draw("batch_attestation" if s.role == "billing" else "batch_rdv", s)
                batch = batch[:rng.randint(4, 7)]
                k = len(batch)
                j = rng.randint(max(1, k - 4), k - 2)
                people = [b.to[0] for b in batch]
                for i, b in enumerate(batch):
                    if i < j:
                        out.append((b, label("batch")))
                        continue
                    shifted = people[i + 1] if i + 1 < k else people[j]
                    if shifted is people[i]:
                        out.append((b, label("batch")))
                        continue
                    b.to[0] = shifted
                    out.append((b, label("mail_merge_shift", "S6", [shifted], people[i])))
                    counts["S6"] += 1
                continue
            topics = suitable.get(scenario)
            d = draw(rng.choice(topics) if topics else None)[0]
            if d.kind == "batch":
                continue
            res = mis.apply(d, scenario)
            if res is None:
                continue
            wrong, intended = res
            kind = {"S1": "typo" if wrong[0].id == -1 else "lookalike",
                    "S8": "extra_to" if wrong[0] in d.to else "extra_cc"}.get(scenario, scenario.lower())
            out.append((d, label(kind, scenario, wrong, intended)))
            counts[scenario] += 1
    # Legitimate traffic, with the hard cases given their share.
    newcomer = next(p for p in gen.staff if p.since is not None)
    new_doc = next(p for p in w.people if p.role == "hospital_doctor" and p.since is not None)
    legit: list[Draft] = []
    # Mail-merge batches of S6 already brought legitimate messages: they count.
    already = sum(1 for _, lab in out if lab["scenario"] == "legit")
    while len(legit) < n_legit - already:
        r = rng.random()
        if r < 0.02:  # first contact with a new colleague
            s = rng.choice([p for p in gen.staff if p.since is None])
            day = gen.workday(newcomer.since or TEST_START, TEST_END)
            t = gen.patient(day)
            legit.append(gen.compose(s, [newcomer], [], "interne", day, {"T": t, "D": s}))
        elif r < 0.03:  # first contact with a new hospital doctor
            s = rng.choice([p for p in gen.staff if p.role == "doctor"])
            day = gen.workday(TEST_START, TEST_END)
            legit.append(gen.compose(s, [new_doc], [], "courrier", day,
                                     {"T": gen.patient(day, s), "U": gen.patient(day)}))
        elif r < 0.045:  # a large internal distribution
            s = rng.choice([p for p in gen.staff if p.role == "manager"])
            legit.append(gen.t_note_service(s, gen.workday(TEST_START, TEST_END)))
        elif r < 0.075:  # a new topic with a usual correspondent
            s = rng.choices(staff_now, weights)[0]
            contacts = [a for a in book.get(s.address, []) if a in w.by_address
                        and w.by_address[a].kind in ("staff", "partner")]
            if not contacts:
                continue
            q = w.by_address[rng.choice(contacts[:8])]
            # A topic this correspondent's organisation deals in: colleagues hear of anything,
            # a CPAM agent of a patient's rights, a hospital doctor of patients, never of an
            # internal note ("elle est sur ton bureau") or a supplier's order.
            org_kind = w.orgs[q.org].kind if q.org in w.orgs else "home"
            topic = rng.choice(NEW_TOPICS.get(org_kind, NEW_TOPICS["home"]))
            if (s.address, q.address, topic) in pair_topics:
                continue
            day = gen.workday(TEST_START, TEST_END)
            t = gen.patient(day)
            d = gen.compose(s, [q], [], topic, day, {"T": t, "U": gen.patient(day), "D": s})
            d.kind = "new_topic"
            legit.append(d)
        else:
            legit.extend(draw())
    for d in legit:
        out.append((d, label(d.kind if d.kind == "new_topic" else legit_kind(d))))

    out.sort(key=lambda x: (x[0].when, x[0].sender.address, x[0].to[0].address))
    return out


def generate_world(out_dir: Path, seed: int = 42,
                   size: Literal["small", "default"] = "default") -> dict:
    """Write ``history.mbox``, ``cases.jsonl``, ``labels.jsonl`` and ``world.json``.

    Same seed and size, same bytes. Returns a JSON-able summary (counts, seconds).
    """
    t0 = time.perf_counter()
    n_history, n_legit, per_scenario = SIZES[size]
    rng = random.Random(seed)
    world = World(rng, size, HISTORY_START, TEST_START, TEST_END)
    gen = Generator(world, rng)
    history = build_history(gen, n_history)
    cases = build_cases(gen, history, n_legit, per_scenario)

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "history.mbox", "wb") as fh:
        for d in history:
            fh.write(mbox_entry(d))
    fmt_rng = random.Random(seed * 7919 + 1)
    scen: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    with open(out_dir / "cases.jsonl", "w", encoding="utf-8") as fc, \
            open(out_dir / "labels.jsonl", "w", encoding="utf-8") as fl:
        for i, (d, lab) in enumerate(cases, start=1):
            fc.write(json.dumps(to_request(d, fmt_rng), ensure_ascii=False) + "\n")
            fl.write(json.dumps({"case_id": f"case-{i:05d}", **lab}, ensure_ascii=False) + "\n")
            scen[lab["scenario"]] += 1
            kinds[lab["kind"]] += 1
    summary_world = world.summary()
    summary_world["seed"], summary_world["size"] = seed, size
    summary_world["history"] = {"start": HISTORY_START.isoformat(),
                                "end": (TEST_START - timedelta(days=1)).isoformat()}
    summary_world["test_month"] = {"start": TEST_START.isoformat(), "end": TEST_END.isoformat()}
    (out_dir / "world.json").write_text(json.dumps(summary_world, ensure_ascii=False, indent=1) + "\n",
                                        encoding="utf-8")
    misdirected = sum(v for k, v in scen.items() if k != "legit")
    return {
        "out": str(out_dir), "seed": seed, "size": size,
        "history_messages": len(history), "cases": len(cases), "misdirected": misdirected,
        "misdirected_share": round(misdirected / max(1, len(cases)), 4),
        "scenarios": dict(sorted(scen.items())), "case_kinds": dict(sorted(kinds.items())),
        "people": len(world.people), "organisations": len(world.orgs),
        "seconds": round(time.perf_counter() - t0, 2),
    }
