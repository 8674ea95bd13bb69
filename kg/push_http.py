"""The HTTP side of ``kg push``: one bounded request at a time, with retries and auth.

Only the standard library speaks HTTP (``http.client``), so that three things urllib cannot
do are done here:

- **Each request is bounded as a whole.** A socket timeout bounds one read, so a server
  sending a byte a second would hold a request forever; here a watchdog closes the
  connection when ``timeout`` (or what is left of the push's deadline) has passed.
- **Credentials go out before the body.** Virtuoso answers an unauthenticated upload with a
  401 and closes the connection before reading it, which the client sees as a broken pipe.
  So the first request with a body to a URL is preceded by a bodiless ``HEAD``: its 401
  brings the challenge (Basic or Digest) and the upload carries its answer.
- **Nothing is followed.** A redirect is reported (a POST must not turn into a GET).

Failures that may pass (no connection, a timeout, HTTP 429/500/502/503/504) are retried with
exponential backoff; any other answer fails at once with a :class:`PushError` naming the
URL, the status and the start of the server's answer. Passwords and tokens never appear in
messages or in ``repr``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.client
import os
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

#: Answers worth another attempt: rate limiting and the usual "try again later" statuses.
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
ANSWER_CHARS = 300  # how much of the server's answer a PushError quotes
MAX_ANSWER = 64 * 1024 * 1024  # bytes of an answer read at most (a query's result, an echo)

# Words with which servers refuse a request as too large: HTTP 413, Virtuoso's SP030
# ("memory exhausted"), SP031 ("exceeded 10000 lines") and SR578 ("… is too large").
_TOO_LARGE = re.compile(r"memory exhausted|too large|exceeded|too long|too many", re.IGNORECASE)
# One auth-param of a challenge: name=token or name="quoted string".
_AUTH_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)')
# A scheme: a token at the start or after a comma, followed by a space and not by '='.
_SCHEME = re.compile(r"(?:^|,)\s*([A-Za-z][A-Za-z0-9_-]*)(?=\s+[^\s=,]|\s*$|\s*,)")
_DIGESTS = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class PushError(Exception):
    """A push that could not be done; the message says which graph, where, what came back."""

    def __init__(
        self,
        message: str,
        *,
        graph: str | None = None,
        url: str | None = None,
        status: int | None = None,
        answer: str = "",
    ) -> None:
        super().__init__(message)
        self.graph = graph
        self.url = url
        self.status = status
        self.answer = answer

    @property
    def too_large(self) -> bool:
        """Whether the server refused the request for its size (a smaller one may pass)."""
        return self.status == 413 or (
            self.status is not None and self.status >= 400 and bool(_TOO_LARGE.search(self.answer))
        )


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = ""
    challenges: tuple[str, ...] = ()  # the WWW-Authenticate headers


@dataclass
class Deadline:
    """The push as a whole: ``seconds`` from creation (None: no limit)."""

    seconds: float | None
    clock: Callable[[], float] = time.monotonic
    start: float = field(init=False)

    def __post_init__(self) -> None:
        self.start = self.clock()

    def remaining(self) -> float:
        if self.seconds is None:
            return float("inf")
        return self.seconds - (self.clock() - self.start)


@dataclass
class _Challenge:
    """What a server asked for in its 401, kept per URL path so that later requests answer
    it straight away (``nc`` counts the Digest answers given with one nonce)."""

    scheme: str  # "basic" or "digest"
    params: dict[str, str]
    nc: int = 0


class _Timeout(Exception):
    """The watchdog closed the connection: the request took longer than allowed."""


class HttpClient:
    """Sends the requests of one push: bounded, retried, authenticated, counted."""

    def __init__(
        self,
        *,
        user: str | None = None,
        password: str | None = None,
        token: str | None = None,
        timeout: float = 60.0,
        retries: int = 3,
        backoff: float = 0.5,
        deadline: Deadline | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._user = user
        self._password = password
        self._token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.deadline = deadline or Deadline(None)
        self.sleep = sleep
        # per (scheme, host:port, path): the challenge to answer, or None when none came
        self._challenges: dict[tuple[str, str, str], _Challenge | None] = {}
        self.requests = 0  # every request sent: preflights and auth round trips included
        self.retried = 0  # attempts repeated after a failure that may pass
        self.bytes = 0  # request bodies the server accepted

    def send(
        self,
        method: str,
        url: str,
        body: bytes | None = None,
        *,
        content_type: str | None = None,
        accept: str | None = None,
        graph: str | None = None,
    ) -> Answer:
        """Send until the server accepts (2xx), a failure is final, or the retries (or the
        deadline) are used up. Raises :class:`PushError`."""
        headers = {"Content-Type": content_type} if content_type else {}
        if accept:
            headers["Accept"] = accept
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        delay = self.backoff
        attempts = self.retries + 1
        error: PushError | None = None
        for attempt in range(attempts):
            if attempt:
                if self.deadline.remaining() <= delay:
                    break
                self.sleep(delay)
                delay *= 2
                self.retried += 1
            if self.deadline.remaining() <= 0:
                break
            status, answer, text = self._attempt(method, url, body, headers)
            if status is not None and 200 <= status < 300:
                self.bytes += len(body or b"")
                return answer
            error = _failure(method, url, status, text, graph, attempt)
            if error.too_large or not (status is None or status in RETRYABLE_STATUSES):
                raise error
            if attempt + 1 < attempts and self.deadline.remaining() <= delay:
                error.args = (f"{error}; the push's deadline of {self.deadline.seconds:g} s "
                              "leaves no time for another attempt",)  # fmt: skip
        if error is None:
            raise PushError(
                f"the push's deadline of {self.deadline.seconds:g} s has passed before "
                f"{method} {redact(url)}",
                graph=graph,
                url=redact(url),
            )
        raise error

    def _attempt(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[int | None, Answer, str]:
        """One attempt: (status or None, the answer, what to quote of it), with the
        credentials the server asks for. A ``HEAD`` goes first when a body would otherwise
        travel before the challenge; a 401 bringing a new or stale challenge is answered."""
        space = _space(url)
        try:
            if self._user is not None and space not in self._challenges:
                if body:
                    preflight = self._once("HEAD", url, None, {})
                    self._challenges[space] = self._learn(preflight, url)
                else:
                    self._challenges[space] = None  # a bodiless request is its own preflight
            for _ in range(2):
                sent = dict(headers)
                challenge = self._challenges.get(space)
                if challenge is not None:
                    sent["Authorization"] = self._authorization(challenge, method, url)
                answer = self._once(method, url, body, sent)
                if answer.status != 401 or self._user is None:
                    break
                if challenge is not None and not _stale(answer):
                    return 401, answer, "the server refused the credentials: " + _start(answer.body)
                self._challenges[space] = self._learn(answer, url)
        except _Timeout as timeout:
            limit = timeout.args[0]
            cause = " (what was left of the push's deadline)" if limit < self.timeout else ""
            return None, Answer(0, b""), f"no complete answer within {limit:.3g} s{cause}"
        except (OSError, http.client.HTTPException) as error:  # refused, reset, broken pipe
            return None, Answer(0, b""), f"{type(error).__name__}: {error}"
        if answer.status == 401 and self._user is None and self._token is None:
            return 401, answer, "the server wants credentials (--user): " + _start(answer.body)
        return answer.status, answer, _start(answer.body)

    def _learn(self, answer: Answer, url: str) -> _Challenge | None:
        """The challenge of a 401 (Digest preferred over Basic), or None when there is none."""
        if answer.status != 401:
            return None
        found = _parse_challenges(answer.challenges)
        if "digest" in found:
            return _Challenge("digest", found["digest"])
        if "basic" in found:
            return _Challenge("basic", found["basic"])
        offered = ", ".join(answer.challenges) or "no WWW-Authenticate header"
        raise PushError(
            f"cannot authenticate to {redact(url)}: the server asks for neither Basic nor "
            f"Digest ({offered})",
            url=redact(url),
            status=401,
        )

    def _authorization(self, challenge: _Challenge, method: str, url: str) -> str:
        assert self._user is not None and self._password is not None
        if challenge.scheme == "basic":
            pair = f"{self._user}:{self._password}".encode()
            return "Basic " + base64.b64encode(pair).decode("ascii")
        return _digest_answer(challenge, self._user, self._password, method, _target(url))

    def _limit(self) -> float:
        """Seconds one request may take: the timeout, or what is left of the deadline."""
        return max(0.0, min(self.timeout, self.deadline.remaining()))

    def _once(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        """One HTTP exchange, cut by a watchdog when it outlasts the time allowed."""
        limit = self._limit()
        if limit <= 0:
            raise _Timeout(limit)
        parts = urllib.parse.urlsplit(url)
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=limit,
                context=ssl.create_default_context(),
            )  # fmt: skip
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=limit)
        expired = threading.Event()

        def cut() -> None:
            expired.set()
            sock = connection.sock
            if sock is not None:
                with contextlib.suppress(OSError):  # already closed: nothing to cut
                    sock.shutdown(socket.SHUT_RDWR)

        watchdog = threading.Timer(limit, cut)
        watchdog.daemon = True
        self.requests += 1
        watchdog.start()
        try:
            connection.connect()
            if expired.is_set():
                raise _Timeout(limit)
            connection.request(method, _target(url), body=body, headers=headers)
            response = connection.getresponse()
            data = b"" if method == "HEAD" else response.read(MAX_ANSWER)
            answer = Answer(
                response.status,
                data,
                response.getheader("Content-Type", "") or "",
                tuple(response.headers.get_all("WWW-Authenticate") or ()),
            )
        except (OSError, http.client.HTTPException):
            if expired.is_set():
                raise _Timeout(limit) from None
            raise
        finally:
            watchdog.cancel()
            connection.close()
        if expired.is_set():
            raise _Timeout(limit)
        return answer


def _failure(
    method: str, url: str, status: int | None, text: str, graph: str | None, attempt: int
) -> PushError:
    where = f" graph <{graph}>" if graph else ""
    return PushError(
        f"pushing{where} failed: {method} {redact(url)} → "
        + (f"HTTP {status}" if status is not None else "no HTTP answer")
        + (f" after {attempt + 1} attempts" if attempt else "")
        + (f": {text}" if text else ""),
        graph=graph,
        url=redact(url),
        status=status,
        answer=text,
    )


def _space(url: str) -> tuple[str, str, str]:
    """Where one challenge holds: scheme, host and port, path (not the query string)."""
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc.lower(), parts.path or "/"


def _target(url: str) -> str:
    """The request target: path and query string."""
    parts = urllib.parse.urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _parse_challenges(headers: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``WWW-Authenticate`` challenges by lower-cased scheme, each with its parameters."""
    found: dict[str, dict[str, str]] = {}
    for header in headers:
        # Schemes start where a token is followed by a space and not by '=' (RFC 9110 §11.6.1)
        for match in re.finditer(
            r"(?:^|,)\s*([A-Za-z][A-Za-z0-9_-]*)(?=\s+[^\s=,]|\s*$|\s*,)", header
        ):
            scheme = match[1].lower()
            rest = header[match.end() :]
            params: dict[str, str] = {}
            for param in _AUTH_PARAM.finditer(rest):
                value = param[2]
                if value.startswith('"'):
                    value = re.sub(r"\\(.)", r"\1", value[1:-1])
                params.setdefault(param[1].lower(), value)
            found.setdefault(scheme, params)
    return found


def _stale(answer: Answer) -> bool:
    digest = _parse_challenges(answer.challenges).get("digest", {})
    return digest.get("stale", "").lower() == "true"


def _digest_answer(challenge: _Challenge, user: str, password: str, method: str, uri: str) -> str:
    """The ``Authorization: Digest …`` answer to a challenge (RFC 7616: MD5 or SHA-256,
    their ``-sess`` variants, ``qop=auth`` or none)."""
    params = challenge.params
    algorithm = params.get("algorithm", "MD5")
    base, _, session = algorithm.upper().partition("-SESS")
    if base not in _DIGESTS:
        raise PushError(f"cannot answer a Digest challenge with algorithm {algorithm}")

    def digest(text: str) -> str:
        return _DIGESTS[base](text.encode("utf-8")).hexdigest()

    realm, nonce = params.get("realm", ""), params.get("nonce", "")
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if qops and "auth" not in qops:
        raise PushError(f"cannot answer a Digest challenge with qop={params['qop']}")
    challenge.nc += 1
    nc, cnonce = f"{challenge.nc:08x}", os.urandom(8).hex()
    secret = digest(f"{user}:{realm}:{password}")
    if session or algorithm.lower().endswith("-sess"):
        secret = digest(f"{secret}:{nonce}:{cnonce}")
    request = digest(f"{method}:{uri}")
    if qops:
        response = digest(f"{secret}:{nonce}:{nc}:{cnonce}:auth:{request}")
    else:
        response = digest(f"{secret}:{nonce}:{request}")
    fields = [
        f'username="{_quoted(user)}"',
        f'realm="{_quoted(realm)}"',
        f'nonce="{_quoted(nonce)}"',
        f'uri="{_quoted(uri)}"',
        f'response="{response}"',
        f"algorithm={algorithm}",
    ]
    if qops:
        fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    if "opaque" in params:
        fields.append(f'opaque="{_quoted(params["opaque"])}"')
    return "Digest " + ", ".join(fields)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _start(answer: bytes) -> str:
    """The start of the server's answer on one line, enough to recognise the problem."""
    text = " ".join(answer.decode("utf-8", errors="replace").split())
    return text if len(text) <= ANSWER_CHARS else text[:ANSWER_CHARS] + "…"


def redact(url: str) -> str:
    """The URL without any ``user:password@`` in it."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
