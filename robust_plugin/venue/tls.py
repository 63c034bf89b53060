"""The venue's HTTPS: a throwaway certificate authority made at every start.

ccxt picks Binance's USD-M error table only for ``https://`` URLs (see ``ccxt_config``), so the venue
speaks TLS. Each start makes a new CA with ``trustme``, writes only the CA's certificate (``ca.pem``,
no private key) for the clients to trust, and keeps the server's key in memory. The certificate is
for the loopback addresses only; nothing else ever trusts this CA.
"""

from __future__ import annotations

import ssl
from pathlib import Path

CA_FILE = "ca.pem"
LOOPBACK_NAMES = ("127.0.0.1", "::1", "localhost")


def server_context(directory: Path) -> tuple[ssl.SSLContext, Path]:
    """A new CA and a server certificate for the loopback addresses: (server context, CA certificate path)."""
    try:
        import trustme
    except ImportError:
        raise RuntimeError(
            "the venue serves HTTPS with a throwaway CA made by trustme: pip install 'robust_plugin[venue]'"
        ) from None
    directory.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    ca_file = directory / CA_FILE
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*LOOPBACK_NAMES).configure_cert(context)
    return context, ca_file


def client_context(ca_file: Path | str) -> ssl.SSLContext:
    """A client context that trusts the venue's CA and nothing else."""
    return ssl.create_default_context(cafile=str(ca_file))
