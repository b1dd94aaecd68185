"""Probes of a bundle with letters that carry a NIR to a patient's Mon espace santé address.

A secretary of the synthetic world writes « Madame, Monsieur, … votre attestation de soins
(NIR …) » to a patient's ``<INS>@patient.mssante.fr`` address she has written to before, or to
a new one, with the patient's own NIR, another NIR of the same sex, or one of the other sex.
For each kind of probe it prints how many the model's risk alone would flag and how many are
flagged at the product's verdict, with the median risks. The verdict warns whenever the NIRs
are not the address's INS (raising the reported risk to the warn threshold) and lets a letter
pass when every NIR is the address's INS and nobody else is named (``docs/model.md``).
Session 7 measured with it that the trees give the INS mismatch almost no weight.

    .venv/bin/python bench/nir_probe.py --model /tmp/m0 /tmp/m1 /tmp/m2 --world /tmp/w_default [--n 60]

writes ``bench/results/nir_probe.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BODY = ("Madame, Monsieur,\n\nVeuillez trouver votre attestation de soins (NIR {nir}) pour la "
        "consultation du 5 mars 2025, 822,46 €.\n\nBien cordialement,\nLe secrétariat")


def nir_of(ins: str) -> str:
    """A NIR with a valid key for a 13-digit INS."""
    from stdnum.fr import nir

    return ins + nir.calc_check_digits(ins)


def random_ins(rng: random.Random, sex: str) -> str:
    return (f"{sex}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}76"
            f"{rng.randint(1, 999):03d}{rng.randint(1, 999):03d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, nargs="+", required=True,
                        help="model bundle folders (e.g. trainings of seeds 0, 1 and 2)")
    parser.add_argument("--world", type=Path, required=True, help="synthetic world folder")
    parser.add_argument("--n", type=int, default=60, help="patients probed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--domain", default="cds-havre.example", help="the senders' domain")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/nir_probe.json")
    args = parser.parse_args()

    from model.train import load_history

    pairs: Counter[tuple[str, str]] = Counter()
    for message in load_history([args.world / "history.mbox"])[0]:
        if not message.sender.address.endswith("@" + args.domain):
            continue
        for address in message.recipient_addresses():
            if address.endswith("@patient.mssante.fr"):
                pairs[(message.sender.address, address)] += 1
    rng = random.Random(args.seed)
    items = sorted(pairs)
    rng.shuffle(items)
    items = items[: args.n]
    if not items:
        raise SystemExit(f"no message from @{args.domain} to @patient.mssante.fr in the world")

    # Every bundle gets the same probes: the made-up NIRs continue the shuffle's random draws.
    state = rng.getstate()
    runs = [probe_bundle(model, items, state) for model in args.model]
    out = {"command": "python bench/nir_probe.py " + " ".join(sys.argv[1:]),
           "world": str(args.world), "patients": len(items), "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(runs, indent=1, ensure_ascii=False))
    print(f"wrote {args.out}")


def probe_bundle(model: Path, items: list[tuple[str, str]], state: object) -> dict:
    """The five kinds of probe on one bundle: counts flagged and median risks."""
    from model.schemas import CheckRequest
    from model.scoring import Scorer
    from model.settings import Settings

    rng = random.Random()
    rng.setstate(state)  # type: ignore[arg-type]
    scorer = Scorer.load(model, Settings(history_url="none", mlflow_uri="none"))
    warn = scorer.thresholds["warn"]

    def probe(sender: str, to: str, nir: str) -> tuple[float, float, str]:
        """(the model's risk before the verdict's rules, the reported risk, the verdict)"""
        request = CheckRequest(sender=sender, to=[to], subject="Attestation de soins",
                               body=BODY.format(nir=nir), sent_at="2025-07-10T10:00:00+00:00")
        message = request.to_message("probe", None)
        model_risk = scorer.model_risks(message, scorer.analyzer.analyze(message))[0][to][0]
        rec = scorer.check(request).recipients[0]
        return model_risk, rec.risk, rec.verdict

    results: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for sender, to in items:
        ins = to.split("@", 1)[0]
        sex, other_sex = ins[0], "2" if ins[0] == "1" else "1"
        new = random_ins(rng, sex)
        results["known, own NIR"].append(probe(sender, to, nir_of(ins)))
        results["known, another NIR of the same sex"].append(
            probe(sender, to, nir_of(random_ins(rng, sex))))
        results["known, a NIR of the other sex"].append(
            probe(sender, to, nir_of(random_ins(rng, other_sex))))
        results["new address, own NIR"].append(probe(sender, f"{new}@patient.mssante.fr",
                                                     nir_of(new)))
        results["new address, another NIR"].append(
            probe(sender, f"{new}@patient.mssante.fr", nir_of(random_ins(rng, sex))))
    summary = {
        name: {"probes": len(rows),
               "flagged_by_model_risk": sum(m >= warn for m, _, _ in rows),
               "flagged_at_verdict": sum(v != "send" for _, _, v in rows),
               "median_model_risk": round(median(m for m, _, _ in rows), 3),
               "median_reported_risk": round(median(r for _, r, _ in rows), 3)}
        for name, rows in results.items()
    }
    scorer.close()
    return {"model": str(model), "training_seed": scorer.bundle.metadata.get("seed"),
            "warn": round(warn, 4), "probes": summary}


if __name__ == "__main__":
    main()
