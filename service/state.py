"""The served scorer and its atomic replacement on reload.

A request reads ``holder.scorer`` once and keeps that object until it has answered, so a
reload (load the new bundle fully, then swap one reference) never fails a request in flight:
requests that started before the swap finish on the old scorer, later ones use the new one.
Several uvicorn workers follow a reload through a small generation file in ``var_dir``.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import gc
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.logs import logger

if TYPE_CHECKING:
    from model.settings import Settings


@dataclass(frozen=True, slots=True)
class Loaded:
    scorer: Any  # model.scoring.Scorer (imported lazily: the module is heavy)
    model_dir: Path
    model_version: str
    loaded_at: float
    load_seconds: float


class ScorerHolder:
    """Holds the current scorer; :meth:`load` builds a new one and swaps it in atomically."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.current: Loaded | None = None
        self.last_error: str | None = None
        self._load_lock = threading.Lock()  # one load at a time; reads never wait on it
        self.generation_seen: str | None = None

    @property
    def ready(self) -> bool:
        return self.current is not None

    @property
    def scorer(self) -> Any:
        current = self.current
        return None if current is None else current.scorer

    def load(self, model_dir: Path | None = None) -> Loaded:
        """Load a bundle (default: settings.model_dir) and make it the served one."""
        from model.scoring import Scorer

        target = Path(model_dir or self.settings.model_dir)
        with self._load_lock, _worker_lock(self.settings):
            t0 = time.perf_counter()
            try:
                scorer = Scorer.load(target, self.settings)
                if getattr(scorer, "analyzer", True) is None:
                    # Ready means the NLP pipeline runs too, not a degraded counts-only scorer.
                    raise RuntimeError("the French NLP pipeline could not be loaded")
                _warm_up(scorer)
            except Exception as exc:
                self.last_error = type(exc).__name__
                raise
            loaded = Loaded(
                scorer=scorer,
                model_dir=target,
                model_version=str(scorer.model_version),
                loaded_at=time.time(),
                load_seconds=time.perf_counter() - t0,
            )
            self.current = loaded  # the swap: one reference assignment
            self.last_error = None
        del scorer
        release_memory()
        # Requests in flight still hold the old scorer for a moment: trim again after them.
        timer = threading.Timer(10.0, release_memory)
        timer.daemon = True
        timer.start()
        logger.info(
            "model loaded",
            extra={
                "model_version": loaded.model_version,
                "load_seconds": round(loaded.load_seconds, 3),
            },
        )
        return loaded


@contextmanager
def _worker_lock(settings: Settings) -> Iterator[None]:
    """One bundle load at a time across the workers of this machine: the loads share the
    history store (its first initialisation is not safe to run twice at once) and the cores."""
    path = Path(settings.var_dir) / ".scorer-load.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def release_memory() -> None:
    """After a swap, give the previous scorer's memory back to the OS (glibc keeps freed
    arenas otherwise, and a reloaded worker would look twice its size)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


_trimmer_pid: int | None = None


def start_memory_trimmer(period_s: float = 5.0) -> None:
    """Every ``period_s``, hand the heap's free pages back to the OS (``malloc_trim``, no
    ``gc``). spaCy and numpy free large temporaries at every check; glibc keeps them and
    a busy worker's RSS creeps up by ~30-40 MB. The call runs without the GIL (ctypes) and
    costs a few ms per period. One thread per process (started after the fork)."""
    global _trimmer_pid
    if _trimmer_pid == os.getpid():
        return
    _trimmer_pid = os.getpid()
    try:
        trim = ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return

    def loop() -> None:
        while True:
            time.sleep(period_s)
            trim(0)

    threading.Thread(target=loop, name="malloc-trim", daemon=True).start()


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each thread its own malloc arena (up to 8 per core); with a thread pool that
    fragments memory and grows RSS. Two arenas are plenty for one GIL-bound worker."""
    m_arena_max = -8  # from malloc.h
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(m_arena_max, arenas)


def _warm_up(scorer: Any) -> None:
    """Score one synthetic draft so the first real request does not pay for lazy init."""
    from model.schemas import CheckRequest

    request = CheckRequest(
        sender="accueil@exemple-sante.example",
        to=["secretariat@exemple-sante.example"],
        subject="Rendez-vous",
        body="Bonjour, je vous confirme le rendez-vous de demain matin. Cordialement.",
    )
    scorer.check(request, check_id="warm-up")


# -- cross-worker reload --------------------------------------------------------------------
def generation_file(settings: Settings) -> Path:
    return Path(settings.var_dir) / "reload-generation.json"


def publish_generation(settings: Settings, model_dir: Path) -> str:
    """Tell every worker to load ``model_dir``; returns the new generation id."""
    path = generation_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    gen = f"{time.time_ns()}-{os.getpid()}"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".gen-")
    with os.fdopen(fd, "w") as fh:
        json.dump({"generation": gen, "model_dir": str(model_dir)}, fh)
    os.replace(tmp, path)
    return gen


def read_generation(settings: Settings) -> tuple[str, Path] | None:
    """The last published generation and its model dir, or None."""
    try:
        data = json.loads(generation_file(settings).read_text())
        return str(data["generation"]), Path(data["model_dir"])
    except (OSError, ValueError, KeyError):
        return None
