"""Annotated French mails for tuning and evaluating person-name recognition.

Each mail has gold spans of person names with their role (addressee, signer, third party).
Templates are split: a ``heldout`` mail uses no greeting, body, closing or signature part that
a ``train`` mail uses (see :mod:`model.synthetic.templates`).
"""

from __future__ import annotations

import random
from datetime import date
from typing import Literal

from model.synthetic.ids import make_iban, make_nir, make_phone
from model.synthetic.templates import BODIES, AnnotatedMail, Composition, SimplePerson, compose
from model.synthetic.world import COMMUNES, Names

# (greeting, closing, signature) by who writes to whom, and the topics that fit.
_SETTINGS: list[tuple[str, str, str, list[str]]] = [
    ("colleague", "colleague", "staff", ["interne", "teletrans_internal"]),
    ("colleague", "colleague", "doctor", ["interne"]),
    ("confrere", "confrere", "doctor", ["courrier", "cds"]),
    ("formal", "formal", "staff", ["courrier_sec", "teletrans", "mutuelle", "cpam_q", "lab", "cds",
                                   "supplier", "rdv", "attestation", "self"]),
    ("formal", "formal", "doctor", ["courrier", "self", "lab"]),
    ("formal", "formal", "partner", ["lab_in", "cpam_in", "supplier_in", "courrier", "mutuelle"]),
    ("group", "formal", "patient", ["patient_in"]),
    ("group", "formal", "staff", ["teletrans", "note_service", "supplier", "lab"]),
    ("formal", "formal", "patient", ["patient_in"]),
]
_STREETS = ["rue de Paris", "rue Victor Hugo", "avenue Foch", "rue Jean Jaurès", "rue des Lilas",
            "boulevard de Strasbourg", "chemin des Falaises", "place de la Mairie"]


def _person(rng: random.Random, names: Names) -> SimplePerson:
    sex = rng.choice("MF")
    year = rng.randint(1935, 2004)
    birth = date(year, rng.randint(1, 12), rng.randint(1, 28))
    code, city, _ = rng.choice(COMMUNES)
    return SimplePerson(names.first(sex, year), names.last_name(), sex, birth,
                        make_nir(rng, sex, birth), make_iban(rng), make_phone(rng),
                        f"{rng.randint(1, 150)} {rng.choice(_STREETS)}, {code} {city}")


def annotated_mails(seed: int, n: int, split: Literal["train", "heldout"]) -> list[AnnotatedMail]:
    """``n`` French mails with exact gold spans ``(start, end, role)`` of person names.

    Deterministic for a seed; train and heldout mails share no template part.
    """
    if split not in ("train", "heldout"):
        raise ValueError("split must be 'train' or 'heldout'")
    rng = random.Random(f"annotated:{seed}:{split}")
    names = Names(rng)
    values = {"fonction": "Secrétaire médicale", "org_name": "Centre de santé du Havre",
              "org_address": "45 rue Louis Brindeau, 76600 Le Havre", "org_phone": "02 35 41 27 90",
              "org_iban": "FR76 3000 4012 3400 0123 4567 890"}
    mails: list[AnnotatedMail] = []
    while len(mails) < n:
        greeting, closing, signature, topics = rng.choice(_SETTINGS)
        topic = rng.choice(topics)
        if topic not in BODIES:
            continue
        persons = {k: _person(rng, names) for k in ("A", "S", "T", "U", "D")}
        if greeting in ("generic", "group"):
            del persons["A"]
        comp = Composition(greeting, topic, closing, signature,
                           paragraphs=1 if rng.random() < 0.6 else 2,
                           disclaimer=rng.random() < 0.2)
        vals = dict(values)
        vals["fonction"] = rng.choice(["Secrétaire médicale", "Médecin généraliste",
                                       "Agent de facturation", "Infirmière", "Directrice"])
        mails.append(compose(rng, comp, persons, vals, split))  # type: ignore[arg-type]
    return mails
