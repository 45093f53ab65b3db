"""Errors of the allocwatch Python package, each with a stable `code` (match on it, never on the text)."""

from typing import Optional


class AllocwatchError(Exception):
    """Base of every error this package raises."""

    code = "AWC_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidOptionError(AllocwatchError, ValueError):
    """A Client option the wire cannot carry or that makes no sense; raised by Client() only."""

    code = "AWC_INVALID_OPTION"


class ProtocolError(AllocwatchError):
    """A frame the wire cannot carry (encoding) or undecodable bytes from the server; `code` is the
    protocol's (docs/PROTOCOL.md section 6)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class SnapshotError(AllocwatchError):
    """The snapshot callback used the Snapshot out of order or added more entries than it announced."""

    code = "AWC_SNAPSHOT"


class InvalidEndpointError(AllocwatchError, ValueError):
    """The HTTP address (argument or $ALLOCWATCH_HTTP) is not an http:// URL or HOST:PORT."""

    code = "AWC_INVALID_ENDPOINT"


class ServerUnavailable(AllocwatchError):
    """No allocwatch server answered at the HTTP address (refused, unreachable, timed out, not HTTP)."""

    code = "AWC_SERVER_UNAVAILABLE"

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"no allocwatch server at {url}: {reason} (start one with `allocwatch serve`, "
                         "or set ALLOCWATCH_HTTP=HOST:PORT)")
        self.url = url
        self.reason = reason


class ApiError(AllocwatchError):
    """The server refused the request: HTTP `status` and the server's error `code`
    (HTTP_BAD_REQUEST, HTTP_NOT_FOUND, ...; src/server/api-types.ts ApiErrorCode)."""

    def __init__(self, url: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{url}: HTTP {status} {code}: {message}")
        self.url = url
        self.status = status
        self.code = code
        self.server_message = message


class BadResponseError(AllocwatchError):
    """The server answered with a body that is not the documented JSON shape."""

    code = "AWC_BAD_RESPONSE"

    def __init__(self, url: str, reason: str, status: Optional[int] = None) -> None:
        super().__init__(f"{url}: unexpected response ({reason})")
        self.url = url
        self.status = status
