"""Run the API with uvicorn; several workers are forked from a warmed parent.

Why not ``uvicorn --workers``: its workers are *spawned*, so each one imports everything and
compiles spaCy's French tokenizer regexes (a 1.4 MB ``token_match`` pattern, compiled twice:
at import and when the tokenizer loads) from scratch, two processes at once on the same cores.
Here the parent imports the heavy modules and loads the French pipeline once, keeps it, binds
the socket and forks; each child then runs the app's lifespan (bundle, history store, warm-up)
and reuses the inherited pipeline (``model.content.analyzer.shared_pipeline``).
Nothing with threads, connections or OpenMP state exists in the parent at fork time.

Signals to the parent: SIGTERM/SIGINT stop the workers gracefully; SIGHUP is forwarded, and
each worker reloads its bundle in place (the lifespan's SIGHUP handler). A worker that dies is
replaced.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import signal
import socket
import sys
import time
from typing import TYPE_CHECKING

from service import regexcache
from service.logs import configure_logging, logger
from service.state import limit_malloc_arenas, release_memory

if TYPE_CHECKING:
    from model.settings import Settings

APP = "service.app:create_app"


def warm_parent(settings: Settings) -> float:
    """Import the scoring stack and load the French pipeline once, before forking."""
    t0 = time.perf_counter()
    import model.scoring  # noqa: F401 - imports sklearn, lightgbm, the content analyzer
    import service.app  # noqa: F401
    from model.content.analyzer import shared_pipeline

    # Kept: every child's analyzer reuses it (copy-on-write pages), so a child loads no spaCy.
    # One call initialises the lazy parts too (the person rules' first-name lexicon).
    shared_pipeline(settings.spacy_model)("Bonjour Sophie Martin,\nCordialement, Jean DURAND")
    release_memory()
    return time.perf_counter() - t0


def skip_pyarrow() -> None:
    """pandas (imported by scikit-learn and LightGBM) imports pyarrow when it is installed
    (~50 MB per worker); nothing on the serving path uses it (MLflow, which needs it, is
    not imported when serving). An import hook makes ``import pyarrow`` raise ImportError,
    which pandas, scikit-learn and LightGBM treat as "not installed" (a ``None`` entry in
    ``sys.modules`` would not do: scikit-learn looks pyarrow up there). Only for the
    ``misdirect serve`` processes; ``MISDIRECT_SERVE_PYARROW=1`` turns it off."""
    if "pyarrow" in sys.modules or os.environ.get("MISDIRECT_SERVE_PYARROW") == "1":
        return
    if not any(isinstance(f, _NoPyarrow) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPyarrow())


class _NoPyarrow(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: object = None, target: object = None) -> None:
        if fullname == "pyarrow" or fullname.startswith("pyarrow."):
            raise ImportError("pyarrow is not loaded by the service", name=fullname)
        return None


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A listening socket of this worker's own on host:port (``SO_REUSEPORT``)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def serve(host: str, port: int, workers: int, settings: Settings) -> None:
    """Serve ``service.app:create_app`` on host:port with ``workers`` processes."""
    # One compute thread per worker: the workers already fill the cores, and OpenMP (LightGBM)
    # or BLAS (spaCy's thinc) thread pools on tiny matrices only add contention. Set before the
    # libraries load (they read these once).
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    skip_pyarrow()
    # spaCy's French tokenizer pattern: compiled once per machine, then read from disk.
    regexcache.install()
    import uvicorn

    limit_malloc_arenas()
    configure_logging(settings.log_level)
    config = uvicorn.Config(
        APP, factory=True, host=host, port=port, log_config=None, access_log=False,
        timeout_graceful_shutdown=10,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return

    warm_s = warm_parent(settings)
    # With one shared listening socket, the worker that wakes first accepts a whole burst of
    # keep-alive connections and serves them alone (c=8 ran on one core). With SO_REUSEPORT
    # each worker listens on its own socket and the kernel spreads new connections over them.
    reuse_port = hasattr(socket, "SO_REUSEPORT")
    sock = None if reuse_port else config.bind_socket()
    logger.info("parent warmed", extra={"warm_seconds": round(warm_s, 2), "workers": workers})
    children: set[int] = set()
    stopping = False

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            code = 0
            try:
                own = sock if sock is not None else reuse_port_socket(host, port)
                uvicorn.Server(config).run(sockets=[own])
            except BaseException:  # pragma: no cover - logged, then the parent replaces us
                logger.exception("worker crashed")
                code = 1
            finally:
                os._exit(code)
        children.add(pid)

    def forward(sig: int, _frame: object) -> None:
        nonlocal stopping
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM if sig == signal.SIGINT else sig)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for _ in range(workers):
        spawn()
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        children.discard(pid)
        if not stopping:
            logger.error("worker exited; starting another", extra={"pid": pid, "status": status})
            time.sleep(0.5)
            spawn()
    if sock is not None:
        sock.close()
