"""What learning a sent message costs the next check (in process, no HTTP).

The add-in reports every message that leaves (``/v1/sent``); the service learns it, and the
next check rebuilds whatever history index the new message made stale. This bench scores the
first cases of a synthetic world's test month alone, then learns-and-checks the next ones
in turn (as the service sees them when every check is followed by a send), and prints the
mean times. Writes ``bench/results/learn_cost.json``.

    misdirect generate --out /tmp/w_default --seed 42 --size default
    misdirect train --history /tmp/w_default/history.mbox --model /tmp/m --mlflow-uri none
    .venv/bin/python bench/learn_cost.py --model /tmp/m --world /tmp/w_default
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model bundle folder")
    parser.add_argument("--world", type=Path, required=True, help="synthetic world folder")
    parser.add_argument("--checks", type=int, default=200, help="checks of each kind")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/learn_cost.json")
    args = parser.parse_args(argv)

    from model.schemas import CheckRequest
    from model.scoring import Scorer
    from model.settings import Settings

    scorer = Scorer.load(args.model, Settings(history_url="none", mlflow_uri="none"))
    lines = (args.world / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [CheckRequest.model_validate_json(line) for line in lines[: 20 + 2 * args.checks]]
    for case in cases[:20]:  # warm-up: spaCy, caches
        scorer.check(case)
    alone = cases[20 : 20 + args.checks]
    t0 = time.perf_counter()
    for case in alone:
        scorer.check(case)
    check_alone = (time.perf_counter() - t0) / len(alone)
    learn = after = 0.0
    following = cases[20 + args.checks :]
    for case in following:
        t0 = time.perf_counter()
        scorer.learn(case)
        t1 = time.perf_counter()
        scorer.check(case)
        learn += t1 - t0
        after += time.perf_counter() - t1
    scorer.close()
    result = {
        "command": " ".join(["bench/learn_cost.py", *(argv if argv is not None else sys.argv[1:])]),
        "checks": len(alone),
        "check_alone_ms": round(1000 * check_alone, 2),
        "learn_ms": round(1000 * learn / len(following), 2),
        "check_after_learn_ms": round(1000 * after / len(following), 2),
    }
    print(json.dumps(result, indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
