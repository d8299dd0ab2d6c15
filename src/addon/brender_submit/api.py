"""
Talking to `brender serve` over HTTP with Python's standard library only:
building URLs, sending requests (uploads streamed from disk), and turning
every failure into one sentence that says what is wrong and what to do.
No bpy here, so it is tested with plain Python.
"""
import http.client
import json
import os
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
import uuid

DEFAULT_SERVER = "http://127.0.0.1:4600"
# info.version of the server's OpenAPI document this add-on was written against.
API_VERSION = "1"
PREFERENCES_HINT = "Edit > Preferences > Add-ons > Brender"
CHUNK_BYTES = 1024 * 1024


class BrenderError(Exception):
    """A failure worded for the user: one line, what is wrong and how to fix it; `field` is the setting the server refused, if any."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def normalize_server(url):
    """The server's base URL (scheme, host, port, path) without a trailing slash."""
    text = (url or "").strip()
    if not text:
        raise BrenderError("The server URL is empty: set it in %s (e.g. %s)." % (PREFERENCES_HINT, DEFAULT_SERVER))
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BrenderError('The server URL "%s" is not an http(s) address: use one like %s.' % (url, DEFAULT_SERVER))
    try:
        if parts.netloc.endswith(":"):
            raise ValueError("empty port")
        parts.port
    except ValueError:
        raise BrenderError('The server URL "%s" has a bad port: use one like %s.' % (url, DEFAULT_SERVER)) from None
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def is_loopback(server):
    host = (urllib.parse.urlsplit(normalize_server(server)).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def api_url(server, path, query=None):
    """`path` is under /api (e.g. "renders/ID"); a full URL the server returned is also taken."""
    base = normalize_server(server)
    if path.startswith("/api/"):
        url = base + path
    else:
        url = base + "/api/" + path.lstrip("/")
    if query:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
    return url


def render_page_url(server, render_id, token=""):
    """The render's page in the web UI; a token goes in the query once, as the README says."""
    query = "?" + urllib.parse.urlencode({"token": token}) if token else ""
    return normalize_server(server) + "/" + query + "#/renders/" + urllib.parse.quote(render_id, safe="")


def describe_failure(server, error, token=""):
    """One sentence for any failure of a request to `server`."""
    if isinstance(error, BrenderError):
        return str(error)
    if isinstance(error, urllib.error.HTTPError):
        return _describe_http_error(server, error.code, _error_body(error)[0], token)
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, ConnectionRefusedError):
        return ("No Brender server is running at %s: start one with `brender serve` on that machine, "
                "or fix the server URL in %s." % (server, PREFERENCES_HINT))
    if isinstance(reason, socket.gaierror):
        return "The server's host in %s is unknown: check the server URL in %s." % (server, PREFERENCES_HINT)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return ("The server at %s did not answer in time: check that `brender serve` runs there "
                "and that no firewall is in the way." % server)
    if isinstance(reason, ssl.SSLError):
        return "The TLS connection to %s failed (%s): check the server URL's scheme (http or https)." % (server, reason)
    if isinstance(reason, (http.client.HTTPException, ConnectionError)):
        return ("%s closed the connection (%s): is it a Brender server? Check the server URL in %s."
                % (server, type(reason).__name__, PREFERENCES_HINT))
    if isinstance(reason, OSError):
        return "Cannot reach %s: %s. Check the server URL in %s." % (server, reason.strerror or reason, PREFERENCES_HINT)
    return "The request to %s failed: %s" % (server, reason)


def _describe_http_error(server, status, line, token):
    if status == 401:
        if not token:
            return ("The server at %s needs a token: paste the one `brender serve` printed into %s."
                    % (server, PREFERENCES_HINT))
        return ("The server at %s refused the token: copy the one `brender serve` printed into %s."
                % (server, PREFERENCES_HINT))
    if status == 404 and line.startswith("No route"):
        return version_mismatch(server, None)
    if 400 <= status < 500:
        return "The server refused it: %s" % (line or "HTTP %d" % status)
    return "The server at %s failed (HTTP %d): %s See the output of `brender serve`." % (server, status, line or "no details.")


def version_mismatch(server, version):
    said = "API version %s" % version if version else "an older API"
    return ("The server at %s speaks %s; this add-on needs API version %s: "
            "use the same Brender version for both (`brender addon --out DIR` writes the matching add-on)."
            % (server, said, API_VERSION))


def _error_body(error):
    """(the error line, the field it names) of an HTTP error's body: the server's {"error", "field"}, else its first line."""
    try:
        body = error.read().decode("utf-8", "replace")
    except Exception:  # a body that cannot be read is no reason to hide the status
        return "", None
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
            return parsed["error"], parsed.get("field")
    except ValueError:
        pass
    return (body.strip().splitlines()[0][:200] if body.strip() else ""), None


def multipart_parts(files, boundary):
    """
    The pieces of a multipart/form-data body: ("bytes", data) or ("file", path),
    one `file` field per (name, path), named by its path inside the project.
    """
    pieces = []
    for name, path in files:
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        head = ('--%s\r\nContent-Disposition: form-data; name="file"; filename="%s"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n" % (boundary, quoted))
        pieces.append(("bytes", head.encode("utf-8")))
        pieces.append(("file", path))
        pieces.append(("bytes", b"\r\n"))
    pieces.append(("bytes", ("--%s--\r\n" % boundary).encode("ascii")))
    return pieces


def blob_upload_parts(files, hashes, missing, boundary):
    """
    POST /api/blobs/uploads' body: the `files` field ({path, sha256} of every
    (name, path)), then one `blob` part per hash in `missing`, named by it.
    """
    listing = json.dumps([{"path": name, "sha256": hashes[path]} for name, path in files])
    pieces = [("bytes", ('--%s\r\nContent-Disposition: form-data; name="files"\r\n\r\n' % boundary).encode("ascii") + listing.encode("utf-8") + b"\r\n")]
    sent = set()
    for _, path in files:
        digest = hashes[path]
        if digest not in missing or digest in sent:
            continue
        sent.add(digest)
        head = ('--%s\r\nContent-Disposition: form-data; name="blob"; filename="%s"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n" % (boundary, digest))
        pieces.extend([("bytes", head.encode("ascii")), ("file", path), ("bytes", b"\r\n")])
    pieces.append(("bytes", ("--%s--\r\n" % boundary).encode("ascii")))
    return pieces


def multipart_length(pieces):
    return sum(len(data) if kind == "bytes" else os.path.getsize(data) for kind, data in pieces)


def _stream(pieces, on_bytes):
    for kind, data in pieces:
        if kind == "bytes":
            on_bytes(len(data))
            yield data
            continue
        with open(data, "rb") as handle:
            while True:
                chunk = handle.read(CHUNK_BYTES)
                if not chunk:
                    break
                on_bytes(len(chunk))
                yield chunk


class Client:
    """Requests to one server; every failure is raised as a BrenderError."""

    def __init__(self, server, token="", timeout=15.0):
        self.server = normalize_server(server)
        self.token = token or ""
        self.timeout = timeout

    def _open(self, method, path, data=None, headers=None, query=None, timeout=None):
        request = urllib.request.Request(api_url(self.server, path, query), data=data, method=method)
        request.add_header("Accept", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        for key, value in (headers or {}).items():
            request.add_header(key, value)
        try:
            return urllib.request.urlopen(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as error:
            line, field = _error_body(error)
            raise BrenderError(_describe_http_error(self.server, error.code, line, self.token), field) from None
        except Exception as error:  # every way a request fails becomes one sentence
            if isinstance(error, (urllib.error.URLError, OSError, http.client.HTTPException)):
                raise BrenderError(describe_failure(self.server, error, self.token)) from None
            raise

    def _json(self, method, path, payload=None, query=None):
        data = None if payload is None else json.dumps(payload).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            with self._open(method, path, data, headers, query) as response:
                body = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise BrenderError(describe_failure(self.server, error, self.token)) from None
        try:
            return json.loads(body.decode("utf-8"))
        except ValueError:
            raise BrenderError("%s answered %s with something other than JSON: is it a Brender server? "
                               "Check the server URL in %s." % (self.server, path, PREFERENCES_HINT)) from None

    def get(self, path, query=None):
        return self._json("GET", path, query=query)

    def post(self, path, payload):
        return self._json("POST", path, payload)

    def check(self):
        """Asks the server who it is; returns its farms. Raises the worded reason when it cannot be used."""
        document = self.get("openapi.json")
        info = document.get("info") if isinstance(document, dict) else None
        if not isinstance(info, dict) or info.get("title") != "Brender":
            raise BrenderError("%s is not a Brender server: check the server URL in %s." % (self.server, PREFERENCES_HINT))
        if str(info.get("version")) != API_VERSION:
            raise BrenderError(version_mismatch(self.server, info.get("version")))
        return self.get("farms")

    def upload_folder(self, files, on_bytes=None):
        """POST /api/uploads with each (name, path) as a `file` part, streamed from disk."""
        boundary = "brender-" + uuid.uuid4().hex
        return self._send_multipart("uploads", boundary, multipart_parts(files, boundary), on_bytes)

    def upload_blobs(self, files, hashes, on_bytes=None):
        """
        Content-addressed upload: asks which of the files' SHA-256 (`hashes`,
        path: hex) the server lacks, then sends only those; the server builds
        the upload from what it keeps. Answers as upload_folder.
        """
        missing = set(self.post("blobs/missing", {"hashes": sorted(set(hashes.values()))}).get("missing") or [])
        boundary = "brender-" + uuid.uuid4().hex
        return self._send_multipart("blobs/uploads", boundary, blob_upload_parts(files, hashes, missing, boundary), on_bytes)

    def _send_multipart(self, path, boundary, pieces, on_bytes):
        headers = {
            "Content-Type": "multipart/form-data; boundary=" + boundary,
            "Content-Length": str(multipart_length(pieces)),
        }
        body = _stream(pieces, on_bytes or (lambda count: None))
        try:
            with self._open("POST", path, body, headers, timeout=max(self.timeout, 600)) as response:
                return json.loads(response.read().decode("utf-8"))
        except (OSError, http.client.HTTPException) as error:
            raise BrenderError(describe_failure(self.server, error, self.token)) from None

    def download(self, url, target):
        """Saves an output (a URL from the server's answers) to `target`."""
        try:
            with self._open("GET", url) as response, open(target + ".part", "wb") as handle:
                while True:
                    chunk = response.read(CHUNK_BYTES)
                    if not chunk:
                        break
                    handle.write(chunk)
        except (OSError, http.client.HTTPException) as error:
            raise BrenderError(describe_failure(self.server, error, self.token)) from None
        os.replace(target + ".part", target)
        return target
