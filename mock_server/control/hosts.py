"""Which requests may reach the control API: those a web page cannot make.

A page on another site can send a request to 127.0.0.1 (a "simple" POST needs no preflight), and
a page whose own name it rebinds to 127.0.0.1 (DNS rebinding) can even read the answer, with its
own name in `Host`. So the control API answers only a `Host` naming a loopback address or name,
or one it was given, and no request that says it comes from another origin.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

# Starlette's TestClient sends `Host: testserver`: the host of an in-process mock, allowed when
# the app is made without a list of its own (serve and the pytest plugin give theirs).
IN_PROCESS_HOSTS = ("testserver",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_name(authority: str) -> str | None:
    """The host of a `Host` value, a `NAME[:PORT]` or a bare address (`::1`, as `--host` takes
    it): lower-cased, without port, brackets or a trailing dot, an address in its shortest
    form; None when there is none."""
    authority = authority.strip()
    try:
        return ipaddress.ip_address(authority).compressed
    except ValueError:
        pass
    try:
        name = urlsplit("//" + authority).hostname
    except ValueError:  # an unclosed bracket, say
        return None
    name = (name or "").rstrip(".")
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        return name or None


def is_loopback(name: str) -> bool:
    """localhost and its subdomains (RFC 6761: they resolve to loopback only), or a loopback
    address."""
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # another name: it may resolve to anything
        return False


def same_origin(origin: str, host: str) -> bool:
    """Whether an `Origin` header names the origin the request was sent to (its `Host`)."""
    try:
        sent_from, sent_to = urlsplit(origin), urlsplit("//" + host.strip())
        default = _DEFAULT_PORTS.get(sent_from.scheme)
        return (
            sent_from.hostname is not None
            and sent_from.hostname == sent_to.hostname
            and (sent_from.port or default) == (sent_to.port or default)
        )
    except ValueError:  # a port out of range
        return False
