#!/usr/bin/python3
"""Usage: regproxy.py --port PORT --upstream URL --log FILE [--pidfile F] [--cafile CA] [options]

A plain-HTTP proxy in front of a test registry, for mctr's pull tests.  Every
request is forwarded to UPSTREAM (http or https, verified with CAFILE) with
its Authorization, Accept and Range headers, and the answer relayed as it
comes.  One JSON line per request goes to LOG: listener, method, path, the
Range and whether Authorization came, the status sent back, and events
("stalled", "released").

Faults, for deterministic tests (nothing here sleeps to make a point):
  --stall-after N      the first blob GET longer than N bytes stops after N and holds
                       the connection until FILE given by --release exists
                       (then finishes the answer), or forever without --release
  --release FILE       see above
  --drop-after N       the first blob GET longer than N bytes sends N bytes, then
                       closes the connection (a network failure mid-blob)
  --ignore-range       drop Range headers (the registry answers 200 with the whole blob)
  --429-once           the first blob GET gets 429 with Retry-After: 1
  --429-always SECS    every manifest and blob GET gets 429 with Retry-After: SECS
  --401-once           the first blob GET gets 401 with the upstream's challenge
                       (as an expired token would)
  --redirect-port P    blob GETs get 307 to this proxy's second listener on
                       port P (another "host" for a client), which serves the
                       blob from upstream with --redirect-auth's credentials
  --redirect-auth U:P  Basic credentials the second listener uses upstream
  --redirect-401-once PATH  the first blob over 4 KiB (a layer, not a config) the
                       second listener serves gets 401 with a Bearer challenge whose
                       realm is PATH on the main listener (a CDN naming a realm)
  --static PATH=FILE=TYPE  answer GET PATH with FILE's bytes as Content-Type TYPE
                       (repeatable; a manifest the registry would not store)
  --static-digest PATH=DIGEST  the --static answer at PATH says Docker-Content-Digest: DIGEST
  --tls-cert F --tls-key K  the main listener speaks HTTPS with this certificate
  --realm URL          the realm of the upstream's WWW-Authenticate challenges becomes URL
"""

import argparse
import base64
import http.client
import http.server
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse

ARGS = None
LOCK = threading.Lock()
ONCE = {"stall": False, "drop": False, "429": False, "401": False, "redirect-401": False}


def log(**fields):
    fields["time"] = "%.3f" % time.time()
    line = json.dumps(fields, sort_keys=True)
    with LOCK:
        with open(ARGS.log, "a") as f:
            f.write(line + "\n")


def take_once(name):
    with LOCK:
        if ONCE[name]:
            return False
        ONCE[name] = True
        return True


def upstream_conn():
    u = urllib.parse.urlsplit(ARGS.upstream)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=ARGS.cafile)
        return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=60)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    listener = "main"

    def log_message(self, fmt, *args):
        pass

    def entry(self, status, **extra):
        log(listener=self.listener, method=self.command, path=self.path, status=status,
            range=self.headers.get("Range"), authorization="Authorization" in self.headers, **extra)

    def send_simple(self, status, headers=(), body=b""):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        is_blob = "/blobs/sha256:" in self.path
        if self.path in ARGS.statics:
            path, ctype = ARGS.statics[self.path]
            with open(path, "rb") as f:
                body = f.read()
            self.entry(200, static=True)
            headers = [("Content-Type", ctype)]
            if self.path in ARGS.static_digests:
                headers.append(("Docker-Content-Digest", ARGS.static_digests[self.path]))
            return self.send_simple(200, headers, body)
        if ARGS.too_many_always is not None and re.match(r"/v2/.+/(manifests|blobs)/", self.path):
            self.entry(429)
            body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
            return self.send_simple(429, [("Retry-After", str(ARGS.too_many_always)),
                                          ("Content-Type", "application/json")], body)
        if self.listener == "main" and is_blob:
            if ARGS.too_many_once and take_once("429"):
                self.entry(429)
                body = b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
                return self.send_simple(429, [("Retry-After", "1"), ("Content-Type", "application/json")], body)
            if ARGS.unauthorized_once and take_once("401"):
                return self.forward(force_401=True)
            if ARGS.redirect_port:
                self.entry(307)
                loc = "http://127.0.0.1:%d%s" % (ARGS.redirect_port, self.path)
                return self.send_simple(307, [("Location", loc)])
        return self.forward()

    def forward(self, force_401=False):
        headers = {}
        for k in ("Authorization", "Accept", "Range"):
            if k == "Range" and ARGS.ignore_range:
                continue
            if k in self.headers:
                headers[k] = self.headers[k]
        if self.listener == "redirect" and ARGS.redirect_auth:
            headers["Authorization"] = "Basic " + base64.b64encode(ARGS.redirect_auth.encode()).decode()
        conn = upstream_conn()
        try:
            conn.request(self.command, self.path, headers=headers)
            resp = conn.getresponse()
        except OSError as e:
            self.entry(502, error=str(e))
            return self.send_simple(502, body=str(e).encode())
        length = int(resp.getheader("Content-Length") or 0)
        if (self.listener == "redirect" and ARGS.redirect_401_once and "/blobs/sha256:" in self.path
                and length > 4096 and take_once("redirect-401")):
            resp.read()
            realm = "http://127.0.0.1:%d%s" % (ARGS.port, ARGS.redirect_401_once)
            self.entry(401, fault="redirect-401-once")
            return self.send_simple(401, [("WWW-Authenticate", 'Bearer realm="%s",service="cdn"' % realm)])
        if force_401:
            # what an expired token gets: the registry's challenge
            resp.read()
            ping = upstream_conn()
            ping.request("GET", "/v2/")
            pr = ping.getresponse()
            pr.read()
            challenge = pr.getheader("WWW-Authenticate", 'Bearer realm="x"')
            self.entry(401, fault="401-once")
            body = b'{"errors":[{"code":"UNAUTHORIZED","message":"token expired"}]}'
            return self.send_simple(401, [("WWW-Authenticate", challenge), ("Content-Type", "application/json")],
                                    body)
        status = resp.status
        self.send_response(status)
        for k, v in resp.getheaders():
            if k.lower() in ("connection", "transfer-encoding", "keep-alive"):
                continue
            if k.lower() == "www-authenticate" and ARGS.realm:
                v = re.sub(r'realm="[^"]*"', 'realm="%s"' % ARGS.realm, v)
            self.send_header(k, v)
        self.end_headers()
        is_blob = self.listener == "main" and "/blobs/sha256:" in self.path and status in (200, 206)
        stall = (ARGS.stall_after is not None and is_blob and length > ARGS.stall_after and take_once("stall"))
        drop = (ARGS.drop_after is not None and is_blob and length > ARGS.drop_after and take_once("drop"))
        self.entry(status)
        sent = 0
        while self.command != "HEAD":
            want = 65536
            if stall and sent < ARGS.stall_after:
                want = min(want, ARGS.stall_after - sent)
            if drop:
                want = min(want, ARGS.drop_after - sent)
                if want == 0:
                    log(listener=self.listener, event="dropped", path=self.path, sent=sent)
                    self.close_connection = True
                    break
            chunk = resp.read(want)
            if not chunk:
                break
            try:
                self.wfile.write(chunk)
                self.wfile.flush()
            except OSError:
                return
            sent += len(chunk)
            if stall and sent == ARGS.stall_after:
                log(listener=self.listener, event="stalled", path=self.path, sent=sent)
                while not (ARGS.release and os.path.exists(ARGS.release)):
                    time.sleep(0.02)  # polls for the release file; the test decides when
                log(listener=self.listener, event="released", path=self.path)
                stall = False
        conn.close()


class RedirectHandler(Handler):
    listener = "redirect"


def serve(port, handler, tls=None):
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    if tls is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def main():
    global ARGS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--cafile")
    p.add_argument("--log", required=True)
    p.add_argument("--pidfile", help="write the process ID here (whoever started us may not know it)")
    p.add_argument("--stall-after", type=int)
    p.add_argument("--release")
    p.add_argument("--drop-after", type=int)
    p.add_argument("--ignore-range", action="store_true")
    p.add_argument("--429-once", dest="too_many_once", action="store_true")
    p.add_argument("--429-always", dest="too_many_always", type=int)
    p.add_argument("--401-once", dest="unauthorized_once", action="store_true")
    p.add_argument("--redirect-port", type=int)
    p.add_argument("--redirect-auth")
    p.add_argument("--redirect-401-once")
    p.add_argument("--static", action="append", default=[])
    p.add_argument("--static-digest", action="append", default=[])
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--realm")
    ARGS = p.parse_args()
    ARGS.statics = {}
    for s in ARGS.static:
        path, f, ctype = s.split("=", 2)
        ARGS.statics[path] = (f, ctype)
    ARGS.static_digests = dict(s.split("=", 1) for s in ARGS.static_digest)
    if ARGS.pidfile:
        with open(ARGS.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    if ARGS.redirect_port:
        threading.Thread(target=serve, args=(ARGS.redirect_port, RedirectHandler), daemon=True).start()
    print("regproxy on 127.0.0.1:%d -> %s" % (ARGS.port, ARGS.upstream), file=sys.stderr, flush=True)
    serve(ARGS.port, Handler, (ARGS.tls_cert, ARGS.tls_key) if ARGS.tls_cert else None)


if __name__ == "__main__":
    main()
