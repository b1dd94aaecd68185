"""``misdirect keys create|list|revoke``: manage the hashed API key store (settings.key_store)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

keys_app = typer.Typer(help="Manage API keys (stored hashed).", no_args_is_help=True)

StoreOption = Annotated[
    Path | None, typer.Option("--store", help="Key store file (default: MISDIRECT_KEY_STORE)")
]


def _store(path: Path | None):
    from model.settings import get_settings
    from service.keys import KeyStore

    return KeyStore(path or get_settings().key_store)


@keys_app.command("create")
def create(
    label: Annotated[str, typer.Option("--label", help="Who or what uses the key")] = "",
    admin: Annotated[bool, typer.Option("--admin", help="May call /v1/admin/*")] = False,
    store: StoreOption = None,
) -> None:
    """Create a key and print it once: it is stored hashed and cannot be shown again."""
    info, key = _store(store).create(label=label, role="admin" if admin else "client")
    typer.echo(key)
    typer.echo(f"id={info.id} role={info.role} label={info.label!r}", err=True)


@keys_app.command("list")
def list_keys(store: StoreOption = None) -> None:
    """List keys (id, role, label, creation date, revoked) — never the keys themselves."""
    for info in _store(store).list():
        state = "revoked" if info.revoked else "active"
        typer.echo(f"{info.id}\t{info.role}\t{state}\t{info.created_at}\t{info.label}")


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="Id shown by `misdirect keys list`")],
    store: StoreOption = None,
) -> None:
    """Revoke a key; a running service refuses it from its next request on."""
    if not _store(store).revoke(key_id):
        typer.echo(f"no key with id {key_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
