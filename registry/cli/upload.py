"""``upload-large``: publish files too large for ``twine upload`` on Cloud Run (over 32 MiB).

Registered onto the ``cli`` group when ``registry.cli`` imports this module. The bytes go
straight to the registry's bucket; the registry then checks them as it checks any upload.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from ..upload_client import CHUNK, UploadClient, UploadError
from .base import cli

PASSWORD_ENV = "REGISTRY_PASSWORD"


@cli.command("upload-large")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--url", required=True, help="The registry's URL: its Cloud Run URL, not the CDN's.")
@click.option("-u", "--username", required=True, help="A user who may upload.")
@click.option("-p", "--password", default=None, help=f"The password (default ${PASSWORD_ENV}, else asked).")
@click.option(
    "--chunk-size",
    type=float,
    default=CHUNK / 2**20,
    show_default=True,
    help="MiB sent per request (a multiple of 0.25).",
)
def upload_large(
    files: tuple[Path, ...], url: str, username: str, password: str | None, chunk_size: float
) -> None:
    """Upload wheels or sdists of any size (up to pypi.max_large_file_size) straight to the bucket.

    Each file is declared to the registry (name, size, sha256), sent to a GCS resumable upload
    session in chunks (resuming after a broken connection), then checked and recorded by the
    registry exactly like a twine upload. Needs pypi.storage = gcs on the registry.
    """
    password = password or os.environ.get(PASSWORD_ENV) or click.prompt("Password", hide_input=True)
    try:
        client = UploadClient(url, (username, password), chunk_size=int(chunk_size * 2**20))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--chunk-size") from exc
    failed = 0
    for path in files:
        size = path.stat().st_size
        with click.progressbar(length=size, label=path.name, file=sys.stderr) as bar:
            try:
                answer = client.upload(path, progress=bar.update)
            except UploadError as exc:
                failed += 1
                click.echo(f"\n{path.name}: {exc}", err=True)
                continue
        if answer["status"] == "exists":
            click.echo(f"{path.name}: identical file already uploaded, nothing changed")
        else:
            click.echo(f"{path.name}: uploaded, {answer['url']}")
    if failed:
        raise click.ClickException(f"{failed} of {len(files)} files were not uploaded")
