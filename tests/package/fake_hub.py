#!/usr/bin/python3
"""A loopback stand-in for the Hugging Face hub, for the `gemma4 pull` tests.

It implements what huggingface_hub relies on:
  GET  /api/models/{owner}/{name}/revision/{rev}[?blobs=true]   -> {"id", "sha", "siblings": [...]}
  HEAD|GET /{owner}/{name}/resolve/{rev}/{path}
        small (git) files: 200, ETag = git blob sha1, X-Repo-Commit, body on GET (Range honoured)
        LFS files (*.onnx*, tokenizer.json): 302 to /_cdn/{sha256} with X-Linked-Etag (sha256),
        X-Linked-Size, X-Repo-Commit; the CDN URL serves the bytes with Range support, no auth.
  Errors as the hub sends them: 401 + X-Error-Code GatedRepo (no token) / 403 (token without
  access), 401 RepoNotFound (unknown repo, no token) or 404 RepoNotFound (with a token),
  404 RevisionNotFound, 404 EntryNotFound, 416 for a Range past the end.

  fake_hub.py CONFIG.json
CONFIG: {"repos": {"owner/name": {"dir": "/path/to/package", "commit": "<40 hex>",
                                  "gated": false, "token": "hf_..."}},
         "faults": "/path/to/faults.json", "log": "/path/to/requests.jsonl"}
The faults file is re-read on every request (tests edit it between pulls):
  {"cut": {"onnx/x.onnx_data": 1000}, "cut_times": 1,   # close the connection after byte 1000 of the file
   "corrupt": ["onnx/x.onnx_data"],                       # serve the file with one byte flipped
   "delay_per_chunk": 0.01, "chunk": 4096,               # slow transfers (to overlap two pulls)
   # hostile answers, for the validation tests:
   "etag": {"config.json": "../../x"},                    # the ETag (X-Linked-Etag for LFS) sent for a file
   "size": {"onnx/x.onnx": "-1"},                         # the X-Linked-Size sent for an LFS file
   "location": {"onnx/x.onnx": "file:///etc/passwd"},     # the redirect target sent for an LFS file
   "siblings": ["../outside.json"]}                       # extra names in the listing
Each request is appended to the log as one JSON line {method, path, range, auth}.
Prints "PORT <n>" on stdout once listening on 127.0.0.1.
"""
import hashlib
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit, parse_qs

LOCK = threading.Lock()
CUT_COUNTS = {}


def git_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def is_lfs(path):
    return ".onnx" in path or path == "tokenizer.json"


class Repo:
    def __init__(self, name, spec):
        self.name = name
        self.commit = spec["commit"]
        self.gated = spec.get("gated", False)
        self.token = spec.get("token")
        self.files = {}
        root = spec["dir"]
        for dirpath, _, filenames in os.walk(root):
            for f in filenames:
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                with open(full, "rb") as fh:
                    data = fh.read()
                self.files[rel] = {"data": data, "sha256": hashlib.sha256(data).hexdigest(), "sha1": git_sha1(data)}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # -- helpers
    def faults(self):
        path = self.server.config.get("faults")
        if path and os.path.exists(path):
            with open(path) as f:
                return json.load(f)
        return {}

    def record(self):
        path = self.server.config.get("log")
        if not path:
            return
        entry = {"method": self.command, "path": self.path, "range": self.headers.get("Range"),
                 "auth": self.headers.get("Authorization")}
        with LOCK, open(path, "a") as f:
            f.write(json.dumps(entry) + "\n")

    def send(self, status, headers=None, body=b""):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)

    def error(self, status, code, message):
        body = json.dumps({"error": message}).encode()
        self.send(status, {"X-Error-Code": code, "X-Error-Message": message, "Content-Type": "application/json"}, body)

    def token(self):
        auth = self.headers.get("Authorization", "")
        return auth[len("Bearer "):] if auth.startswith("Bearer ") else None

    def repo_or_error(self, name):
        repo = self.server.repos.get(name)
        token = self.token()
        if repo is None:
            if token:
                self.error(404, "RepoNotFound", "Repository Not Found for url: %s." % self.path)
            else:
                self.error(401, "RepoNotFound", "Repository Not Found for url: %s. Please make sure you "
                                                "specified the correct `repo_id` and `repo_type`. If you are trying "
                                                "to access a private or gated repo, make sure you are authenticated."
                           % self.path)
            return None
        if repo.gated and token != repo.token:
            if token is None:
                self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it and be "
                                             "authenticated to access it. Please log in." % name)
            else:
                self.error(403, "GatedRepo", "Access to model %s is restricted and you are not in the authorized "
                                             "list. Visit https://huggingface.co/%s to ask for access." % (name, name))
            return None
        return repo

    def check_revision(self, repo, rev):
        if rev in ("main", repo.commit):
            return True
        self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
        return False

    # -- routes
    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def route(self):
        self.record()
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/")]
        try:
            if url.path.startswith("/api/models/") and len(parts) >= 7 and parts[5] == "revision":
                return self.listing("/".join(parts[3:5]), "/".join(parts[6:]), parse_qs(url.query))
            if url.path.startswith("/_cdn/") and len(parts) == 4:
                return self.cdn(parts[2], parts[3])
            if len(parts) >= 6 and parts[3] == "resolve":
                return self.resolve("/".join(parts[1:3]), parts[4], "/".join(parts[5:]))
            self.error(404, "", "no route for %s" % url.path)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def listing(self, name, rev, query):
        repo = self.repo_or_error(name)
        if repo is None or not self.check_revision(repo, rev):
            return
        blobs = query.get("blobs", ["false"])[0] == "true"
        siblings = []
        for path in sorted(repo.files):
            f = repo.files[path]
            s = {"rfilename": path}
            if blobs:
                s["blobId"] = f["sha1"]
                s["size"] = len(f["data"])
                if is_lfs(path):
                    s["lfs"] = {"sha256": f["sha256"], "size": len(f["data"]), "pointerSize": 134}
            siblings.append(s)
        for extra in self.faults().get("siblings", []):
            siblings.append({"rfilename": extra, "blobId": "0" * 40, "size": 1})
        body = json.dumps({"_id": "x", "id": name, "modelId": name, "sha": repo.commit, "private": False,
                           "gated": "auto" if repo.gated else False, "siblings": siblings}).encode()
        self.send(200, {"Content-Type": "application/json"}, body)

    def resolve(self, name, rev, path):
        repo = self.repo_or_error(name)
        if repo is None or not self.check_revision(repo, rev):
            return
        f = repo.files.get(path)
        if f is None:
            return self.error(404, "EntryNotFound", "%s does not exist on \"%s\"" % (path, rev))
        headers = {"X-Repo-Commit": repo.commit}
        faults = self.faults()
        etag = faults.get("etag", {}).get(path)
        if is_lfs(path):
            host = self.headers.get("Host")
            location = "http://%s/_cdn/%s/%s" % (host, self.server.repo_key(name), f["sha256"])
            headers.update({"X-Linked-Etag": '"%s"' % (etag if etag is not None else f["sha256"]),
                            "X-Linked-Size": faults.get("size", {}).get(path, str(len(f["data"]))),
                            "ETag": '"%s"' % f["sha1"],
                            "Location": faults.get("location", {}).get(path, location)})
            return self.send(302, headers)
        headers["ETag"] = '"%s"' % (etag if etag is not None else f["sha1"])
        self.serve_bytes(path, f["data"], headers)

    def cdn(self, repo_key, sha256):
        for repo in self.server.repos.values():
            if self.server.repo_key(repo.name) != repo_key:
                continue
            for path, f in repo.files.items():
                if f["sha256"] == sha256:
                    return self.serve_bytes(path, f["data"], {"ETag": '"%s"' % sha256})
        self.error(404, "", "no such object")

    def serve_bytes(self, path, data, headers):
        faults = self.faults()
        if path in faults.get("corrupt", []):
            i = len(data) // 2
            data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
        start = 0
        rng = self.headers.get("Range")
        status = 200
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[len("bytes="):-1])
            if start >= len(data):
                return self.send(416, {"Content-Range": "bytes */%d" % len(data)})
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
        headers["Content-Length"] = str(len(data) - start)
        headers["Accept-Ranges"] = "bytes"
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command == "HEAD":
            return
        end = len(data)
        cut = faults.get("cut", {}).get(path)
        if cut is not None and start < cut:
            with LOCK:
                n = CUT_COUNTS.get(path, 0)
                if n < faults.get("cut_times", 1):
                    CUT_COUNTS[path] = n + 1
                    end = cut
        chunk = faults.get("chunk", 65536)
        delay = faults.get("delay_per_chunk", 0)
        pos = start
        while pos < end:
            n = min(chunk, end - pos)
            self.wfile.write(data[pos:pos + n])
            self.wfile.flush()
            pos += n
            if delay:
                time.sleep(delay)
        if end < len(data):
            self.close_connection = True
            self.connection.shutdown(2)


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config):
        super().__init__(("127.0.0.1", 0), Handler)
        self.config = config
        self.repos = {name: Repo(name, spec) for name, spec in config["repos"].items()}

    def handle_error(self, request, client_address):
        # Clients that stop a transfer on purpose (cancelled or failed pulls) reset the connection.
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    @staticmethod
    def repo_key(name):
        return name.replace("/", "--")


def main(argv):
    with open(argv[0]) as f:
        config = json.load(f)
    server = Server(config)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
