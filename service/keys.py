"""API keys: a JSON key store of salted hashes, plus keys given in ``MISDIRECT_API_KEYS``.

A key is ``md_<id>_<secret>`` with 32 random bytes of secret, so a single salted SHA-256 is
enough (a slow hash only matters for low-entropy passwords). The store keeps the salt, the
hash, a label and a role per key, never the key itself. Verification hashes the presented key
once and compares it with every stored hash using :func:`hmac.compare_digest`, without
stopping at the first match, so timing does not tell which key matched or how much of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

Role = Literal["client", "admin"]
KEY_PREFIX = "md_"


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A key as the store lists it (never the secret)."""

    id: str
    label: str
    role: Role
    created_at: str
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request: the key's id and role (env keys are ``env`` and admin)."""

    key_id: str
    role: Role


def _hash(salt: bytes, key: str) -> bytes:
    return hashlib.sha256(salt + key.encode("utf-8", "surrogatepass")).digest()


class KeyStore:
    """The hashed key store in a JSON file; re-read when the file changes on disk."""

    def __init__(self, path: Path, env_keys: list[str] | None = None) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._mtime: tuple[int, int] | None = None
        self._salt = b""
        self._entries: list[dict] = []
        # Env keys are hashed with their own random salt: the plain text is not kept either.
        self._env_salt = secrets.token_bytes(16)
        self._env_hashes = [_hash(self._env_salt, k) for k in (env_keys or []) if k]

    # -- file handling ------------------------------------------------------------------
    def _load(self) -> None:
        """(Re)read the file when its mtime changed; an absent file is an empty store."""
        try:
            st = self.path.stat()
            mtime = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            self._mtime, self._salt, self._entries = None, b"", []
            return
        if mtime == self._mtime:
            return
        data = json.loads(self.path.read_text(encoding="utf-8"))
        self._salt = bytes.fromhex(data["salt"])
        self._entries = list(data.get("keys", []))
        self._mtime = mtime

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = {"version": 1, "salt": self._salt.hex(), "keys": self._entries}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keys-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(data, fh, indent=2)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)  # atomic: a reader never sees half a file
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        st = self.path.stat()
        self._mtime = (st.st_mtime_ns, st.st_size)

    # -- management (the ``misdirect keys`` command) ------------------------------------
    def create(self, label: str = "", role: Role = "client") -> tuple[KeyInfo, str]:
        """Add a key; returns its info and the key itself (shown once, never stored)."""
        with self._lock:
            self._load()
            if not self._salt:
                self._salt = secrets.token_bytes(16)
            existing = {e["id"] for e in self._entries}
            key_id = secrets.token_hex(4)
            while key_id in existing:
                key_id = secrets.token_hex(4)
            key = f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
            entry = {
                "id": key_id,
                "label": label,
                "role": role,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "revoked": False,
                "hash": _hash(self._salt, key).hex(),
            }
            self._entries.append(entry)
            self._save()
        return _info(entry), key

    def list(self) -> list[KeyInfo]:
        """Every key of the store, revoked ones included."""
        with self._lock:
            self._load()
            return [_info(e) for e in self._entries]

    def revoke(self, key_id: str) -> bool:
        """Mark a key revoked; False when no such key."""
        with self._lock:
            self._load()
            for entry in self._entries:
                if entry["id"] == key_id:
                    entry["revoked"] = True
                    self._save()
                    return True
        return False

    # -- verification (every request) ---------------------------------------------------
    def verify(self, key: str) -> Principal | None:
        """The principal of a presented key, or None. Constant time in the key's content."""
        with self._lock:
            try:
                self._load()
            except (OSError, ValueError, KeyError):
                # A broken store must not lock everybody out of env keys, nor crash a request.
                self._entries = []
            entries, salt = self._entries, self._salt
        found: Principal | None = None
        if salt:
            digest = _hash(salt, key)
            for entry in entries:
                # No early exit: every stored hash is compared.
                match = hmac.compare_digest(digest, bytes.fromhex(entry["hash"]))
                if match and not entry.get("revoked") and found is None:
                    found = Principal(entry["id"], entry.get("role", "client"))
        env_digest = _hash(self._env_salt, key)
        for stored in self._env_hashes:
            if hmac.compare_digest(env_digest, stored) and found is None:
                found = Principal("env", "admin")
        return found


def _info(entry: dict) -> KeyInfo:
    return KeyInfo(
        id=entry["id"],
        label=entry.get("label", ""),
        role=entry.get("role", "client"),
        created_at=entry.get("created_at", ""),
        revoked=bool(entry.get("revoked")),
    )
