"""Bearer-token check for the admin endpoints (catalog changes, model promotion).

The token is compared in constant time (`hmac.compare_digest`). A service started without
a token refuses every admin request (403) rather than leaving them open.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request, status

__all__ = ["admin_guard"]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def admin_guard(token: str | None) -> Callable[[Request], None]:
    """A FastAPI dependency that lets a request through only with `Authorization: Bearer <token>`."""
    expected = token.encode("utf-8") if token else None

    def check(request: Request) -> None:
        if expected is None:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                "admin endpoints are disabled: start the service with an admin token "
                "(`paretorec serve --token-env VAR`)",
            )
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "this endpoint needs an admin token: `Authorization: Bearer <token>`",
                headers=_CHALLENGE,
            )
        if not hmac.compare_digest(given.strip().encode("utf-8"), expected):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "the admin token is wrong", headers=_CHALLENGE
            )

    return check
