#!/usr/bin/python3
"""Usage: registry-token-server.py --port PORT --key KEY.pem --cert CERT.pem
                                   [--tls-cert C --tls-key K] [--issuer I]
                                   [--service S] [--user NAME:PASSWORD]...
                                   [--expires-in SECONDS] [--log FILE]

A small token server for the registry's `auth.token` mode (distribution's
token spec, docs/spec/auth/token.md), for mctr's pull tests on loopback:

  GET /token?service=S&scope=repository:NAME:pull,push[&scope=...][&account=U]
      [Authorization: Basic base64(user:password)]
  -> 200 {"token", "access_token", "expires_in", "issued_at"}
  -> 401 when credentials are sent but wrong (so a client's bad password shows)

Policy: an authenticated user gets every action it asks for (pull, push,
delete, and registry:catalog:*); anonymous clients get "pull" on any
repository except those under "private/", and nothing else.  Tokens are JWTs
signed (RS256) with KEY; the header carries the signing certificate CERT in
x5c, which the registry trusts through its rootcertbundle (CERT itself).

Every request is logged as one JSON line (path, query, whether an
Authorization header came, the user, the granted access) so tests can assert
what a client sent.  Runs with Debian's python3-jwt and python3-cryptography.
"""

import argparse
import base64
import datetime
import hashlib
import http.server
import json
import ssl
import sys
import time
import urllib.parse
import uuid

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

ARGS = None
SIGNING_KEY = None
HEADERS = None


def libtrust_key_id(public_key):
    """docker/libtrust's key ID: base32 of the first 240 bits of the SHA-256 of
    the DER public key, in 4-character groups joined by ':'."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    b32 = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(b32[i:i + 4] for i in range(0, len(b32), 4))


def parse_scope(scope):
    """'repository:host:5000/a/b:pull,push' -> ('repository', 'host:5000/a/b', ['pull','push']).
    The name may contain ':' (a port), so split the type off the front and the
    actions off the back."""
    typ, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    if not typ or not name:
        return None
    return typ, name, [a for a in actions.split(",") if a]


def grant(user, scopes):
    access = []
    for s in scopes:
        parsed = parse_scope(s)
        if parsed is None:
            continue
        typ, name, actions = parsed
        if user is None:
            if typ != "repository" or name.startswith("private/"):
                continue
            actions = [a for a in actions if a == "pull"]
        if actions:
            access.append({"type": typ, "name": name, "actions": actions})
    return access


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "mctr-test-token-server/1"

    def log_message(self, fmt, *args):  # replaced by log_request_json
        pass

    def log_json(self, **fields):
        fields.update(time=time.strftime("%H:%M:%S"), method=self.command, path=self.path)
        line = json.dumps(fields, sort_keys=True)
        if ARGS.log:
            with open(ARGS.log, "a") as f:
                f.write(line + "\n")
        else:
            print(line, flush=True)

    def reply(self, code, obj, extra_headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra_headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def authenticate(self):
        """(ok, user): user is None for anonymous; ok is False for bad credentials."""
        auth = self.headers.get("Authorization")
        if not auth:
            return True, None
        scheme, _, value = auth.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False, None
        if ARGS.users.get(user) == password:
            return True, user
        return False, user

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path != "/token":
            self.log_json(status=404)
            self.reply(404, {"errors": [{"code": "NOT_FOUND", "message": "only /token is served"}]})
            return
        query = urllib.parse.parse_qs(url.query)
        had_auth = "Authorization" in self.headers
        ok, user = self.authenticate()
        if not ok:
            self.log_json(status=401, query=query, authorization=had_auth, user=user)
            self.reply(401, {"errors": [{"code": "UNAUTHORIZED", "message": "bad credentials"}]},
                       [("WWW-Authenticate", 'Basic realm="mctr-test-token-server"')])
            return
        service = query.get("service", [ARGS.service])[0]
        if service != ARGS.service:
            self.log_json(status=400, query=query, authorization=had_auth, user=user)
            self.reply(400, {"errors": [{"code": "DENIED", "message": "unknown service " + service}]})
            return
        access = grant(user, query.get("scope", []))
        now = int(time.time())
        claims = {"iss": ARGS.issuer, "sub": user or "", "aud": ARGS.service, "exp": now + ARGS.expires_in,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        token = jwt.encode(claims, SIGNING_KEY, algorithm="RS256", headers=HEADERS)
        issued = datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.log_json(status=200, query=query, authorization=had_auth, user=user, access=access)
        self.reply(200, {"token": token, "access_token": token, "expires_in": ARGS.expires_in, "issued_at": issued})


def main():
    global ARGS, SIGNING_KEY, HEADERS
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--key", required=True, help="PEM private key that signs the tokens")
    p.add_argument("--cert", required=True, help="PEM certificate of that key (the registry's rootcertbundle)")
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key")
    p.add_argument("--issuer", default="mctr-test-token-server")
    p.add_argument("--service", default="mctr-test-registry")
    p.add_argument("--user", action="append", default=[], help="NAME:PASSWORD (repeatable)")
    p.add_argument("--expires-in", type=int, default=300)
    p.add_argument("--log", help="append one JSON line per request here (default stdout)")
    ARGS = p.parse_args()
    ARGS.users = dict(u.split(":", 1) for u in ARGS.user) or {"mctr": "secret"}
    with open(ARGS.key, "rb") as f:
        SIGNING_KEY = serialization.load_pem_private_key(f.read(), password=None)
    with open(ARGS.cert, "rb") as f:
        cert = x509.load_pem_x509_certificate(f.read())
    HEADERS = {"kid": libtrust_key_id(cert.public_key()),
               "x5c": [base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()]}
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    if ARGS.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    print("token server on %s://127.0.0.1:%d/token" % ("https" if ARGS.tls_cert else "http", ARGS.port),
          file=sys.stderr, flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
