"""Run the API with uvicorn; several workers are forked from a warmed parent.

Why not ``uvicorn --workers``: its workers are *spawned*, so each one imports everything and
compiles spaCy's French tokenizer regexes (a 1.4 MB ``token_match`` pattern, compiled twice:
at import and when the tokenizer loads) from scratch, two processes at once on the same cores.
Here the parent imports the heavy modules and loads the French pipeline once, keeps it, binds
the socket and forks; each child then runs the app's lifespan (bundle, history store, warm-up)
and reuses the inherited pipeline (``model.content.analyzer.shared_pipeline``).
Nothing with threads, connections or OpenMP state exists in the parent at fork time.

The parent alone accepts connections and deals them to the workers in turn, passing each
descriptor over a Unix socket pair (``SCM_RIGHTS``); a worker serves them with uvicorn's own
HTTP protocol (:class:`ChannelServer`). Keep-alive connections stay with one worker, so how
they are spread decides how the load is: in turn, 8 connections are 4 + 4.

Signals to the parent: SIGTERM/SIGINT stop the workers gracefully; SIGHUP is forwarded, and
each worker reloads its bundle in place (the lifespan's SIGHUP handler). A worker that dies is
replaced.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import selectors
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


class ChannelServer:
    """A uvicorn server fed with connections its parent accepted (file descriptors passed over
    a Unix socket pair) instead of listening itself. ``uvicorn.Server`` subclass built lazily
    (uvicorn is imported in ``serve``)."""

    @staticmethod
    def build(config, channel: socket.socket):
        import asyncio

        import uvicorn

        class _Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets=[])  # lifespan and state; no listening socket
                if self.should_exit:
                    return
                loop = asyncio.get_running_loop()
                pending: set[asyncio.Task] = set()

                def create_protocol() -> asyncio.Protocol:  # as uvicorn's own factory
                    return config.http_protocol_class(  # type: ignore[call-arg]
                        config=config, server_state=self.server_state,
                        app_state=self.lifespan.state,
                    )

                def receive() -> None:
                    try:
                        msg, fds, _flags, _addr = socket.recv_fds(channel, 256, 256)
                    except (BlockingIOError, InterruptedError):
                        return
                    if not msg and not fds:  # the parent is gone: stop
                        loop.remove_reader(channel.fileno())
                        self.should_exit = True
                        return
                    for fd in fds:
                        conn = socket.socket(fileno=fd)
                        conn.setblocking(False)
                        task = loop.create_task(loop.connect_accepted_socket(create_protocol, conn))
                        pending.add(task)  # keep a reference until it has run
                        task.add_done_callback(pending.discard)

                channel.setblocking(False)
                loop.add_reader(channel.fileno(), receive)

            async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
                with contextlib.suppress(Exception):
                    asyncio.get_running_loop().remove_reader(channel.fileno())
                await super().shutdown(sockets=sockets)

        return _Server(config)


def deal(conn: socket.socket, channels: dict[int, socket.socket], order: list[int],
         turn: int) -> int:
    """Hand an accepted connection to the next worker in turn (round robin); returns the next
    turn. A worker that cannot take it (gone, or its channel full) is skipped."""
    for k in range(len(order)):
        pid = order[(turn + k) % len(order)]
        try:
            socket.send_fds(channels[pid], [b"c"], [conn.fileno()])
            return turn + k + 1
        except OSError:
            continue
    return turn  # no worker could take it: the connection is closed (client retries)


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
    # One listening socket, accepted by this parent only, which deals the connections to the
    # workers in turn. Letting the workers accept (one shared socket) gave a whole burst of
    # keep-alive connections to the worker that woke first (c=8 on one core); SO_REUSEPORT
    # sockets spread them by a hash of the client port, i.e. at random: 8 connections split
    # 5/3, 6/2 or worse in most runs, and the fuller worker made the tail latency.
    listener = config.bind_socket()
    listener.listen(config.backlog)
    if config.port == 0:  # the workers log the real port
        config.port = listener.getsockname()[1]
    listener.setblocking(False)
    logger.info("parent warmed", extra={"warm_seconds": round(warm_s, 2), "workers": workers})
    channels: dict[int, socket.socket] = {}  # worker pid -> our end of its channel
    order: list[int] = []
    stopping = False

    def spawn() -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        pid = os.fork()
        if pid == 0:  # the worker
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            code = 0
            try:
                listener.close()
                ours.close()
                for other in channels.values():
                    other.close()
                ChannelServer.build(config, theirs).run()
            except BaseException:  # pragma: no cover - logged, then the parent replaces us
                logger.exception("worker crashed")
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        ours.setblocking(False)
        channels[pid] = ours
        order.append(pid)

    def forward(sig: int, _frame: object) -> None:
        nonlocal stopping
        if sig in (signal.SIGTERM, signal.SIGINT):
            stopping = True
        for pid in list(channels):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM if sig == signal.SIGINT else sig)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    for _ in range(workers):
        spawn()
    turn = 0
    with selectors.DefaultSelector() as selector:
        selector.register(listener, selectors.EVENT_READ)
        while channels:
            if not stopping and selector.select(timeout=0.5):
                while True:
                    try:
                        conn, _addr = listener.accept()
                    except (BlockingIOError, InterruptedError):
                        break
                    with conn:  # the worker has its own copy of the descriptor
                        turn = deal(conn, channels, order, turn)
            elif stopping:
                time.sleep(0.1)
            while channels:  # reap the workers that ended
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    channels.clear()
                    break
                if pid == 0:
                    break
                channel = channels.pop(pid, None)
                if channel is not None:
                    channel.close()
                    order.remove(pid)
                if not stopping:
                    logger.error("worker exited; starting another", extra={"pid": pid, "status": status})
                    time.sleep(0.5)
                    spawn()
    listener.close()
