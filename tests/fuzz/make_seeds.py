#!/usr/bin/env python3
"""Writes the committed seed corpora in tests/fuzz/corpus/<target>/ (idempotent).

Run from anywhere: python3 tests/fuzz/make_seeds.py. Each seed is small and
meant to reach one behaviour; the fuzzers mutate from there. The input
formats are described at the top of each tests/fuzz/fuzz_*.c.
"""
import base64
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def jwt(payload):
    return "e30." + b64u(json.dumps(payload, separators=(",", ":")).encode()) + ".sig"


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- fuzz_url: "<base>\n<reference>\n<prefix>"
for name, s in {
    "relative": "http://api.test/v1/\nitems/../orders?x=1#f\n/v1",
    "absolute_path": "https://api.test:8443/a/b\n/api/x\n/api",
    "scheme_relative": "http://api.test/\n//evil.example/api\n/",
    "backslashes": "http://api.test/\n\\\\evil.example\\x\n/",
    "credentials": "http://user:pw@api.test/\nhttp://a:b@evil.example/\n/",
    "default_ports": "https://API.Test:443/\nhttp://api.test:80/x\n/x",
    "ipv4_ipv6": "http://127.0.0.1:8000/\nhttp://[::1]:3000/a\n/a",
    "noncanonical_ipv4": "http://0x7f.1/\nhttp://2130706433/\n/",
    "javascript": "http://api.test/\njavascript:alert(1)\n/",
    "data": "http://api.test/\ndata:text/html,<b>x</b>\n/",
    "idn": "http://api.test/\nhttp://b\xc3\xbccher.example/\n/".encode("latin-1").decode("utf-8"),
    "punycode": "http://xn--bcher-kva.example/\n?q\n/",
    "dot_segments": "http://api.test/a/b/c\n../../%2e%2e/./x/.\n/x",
    "percent": "http://api.test/\n/%zz/\"<>`{}/?'#`\n/%zz",
    "whitespace": "  http://api.test/ \n\t/a b\n/a",
    "query_only": "http://api.test/p?old\n?new\n/p",
    "fragment_only": "http://api.test/p?q\n#frag\n/p/",
    "same_scheme_relative": "http://api.test/dir/file\nhttp:other\n/dir",
}.items():
    write("fuzz_url", name, s)

# ---- fuzz_jwt: the input is base64url text, a token, and a JWT payload
for name, s in {
    "jwt_exp": jwt({"exp": 1700000100}),
    "jwt_exp_float": jwt({"exp": 1700000100.5, "sub": "u"}),
    "jwt_exp_string": jwt({"exp": "1700000100"}),
    "jwt_exp_negative": jwt({"exp": -1}),
    "jwt_exp_huge": jwt({"exp": 1e300}),
    "jwt_padded": "e30." + base64.urlsafe_b64encode(b'{"exp":1}').decode() + ".s",
    "jwe_five_parts": "a.b.c.d.e",
    "payload_json": '{"exp":1700000100,"nested":{"a":[1,2,3]}}',
    "payload_deep": "[" * 40 + "]" * 40,
    "payload_nul": '{"exp":1,"x":"\\u0000"}',
    "b64_canonical": "QUJD",
    "b64_noncanonical": "QUJE_",
    "b64_padding": "QQ==",
}.items():
    write("fuzz_jwt", name, s)

# ---- fuzz_token_response: counts byte, name indexes, now index, body
# names: 0 access_token 1 access 2 token 3 id_token 4 refresh_token 5 refresh
#        6 expires_in 7 expiresIn 8 exp 9 a 10 "" 11 jwt
def tr(counts, idx, now, body):
    return bytes([counts] + idx + [now]) + body.encode()

write("fuzz_token_response", "defaults", tr(0, [], 0, '{"access_token":"A1","refresh_token":"R1","expires_in":300}'))
write("fuzz_token_response", "defaults_null_field", tr(0x80, [], 0, '{"access_token":null,"access":"A1","expires_in":"300"}'))
write("fuzz_token_response", "custom_names", tr(0b010101, [2, 5, 7], 0, '{"token":"A1","refresh":"R1","expiresIn":60}'))
write("fuzz_token_response", "jwt_expiry", tr(0, [], 0, json.dumps({"access_token": jwt({"exp": 1700000100})})))
write("fuzz_token_response", "header_injection", tr(0, [], 0, '{"access_token":"A1\\r\\nX-Evil: 1"}'))
write("fuzz_token_response", "space_in_token", tr(0, [], 0, '{"access_token":"A 1"}'))
write("fuzz_token_response", "nul_in_token", tr(0, [], 0, '{"access_token":"A\\u00001"}'))
write("fuzz_token_response", "non_utf8", tr(0, [], 0, '{"access_token":"A\xff\xfe"}'.encode("latin-1").decode("latin-1")))
write("fuzz_token_response", "deep", tr(0, [], 0, '{"access_token":"A","x":' + "[" * 20 + "]" * 20 + "}"))
write("fuzz_token_response", "expires_bad", tr(0, [], 1, '{"access_token":"A","expires_in":-5}'))
write("fuzz_token_response", "expires_nan", tr(0, [], 2, '{"access_token":"A","expires_in":1e999}'))
write("fuzz_token_response", "trailing", tr(0, [], 0, '{"access_token":"A"} {"x":1}'))
write("fuzz_token_response", "set_tokens", tr(0, [], 3, '{"access":"A","refresh":"R","expiresIn":1}'))
write("fuzz_token_response", "array", tr(0, [], 0, '["A1"]'))

# ---- fuzz_blob
for name, s in {
    "tokens": '{"v":1,"type":"tokens","gen":7,"access":"A1","refresh":"R1","exp":1800000000000}',
    "tokens_expired": '{"v":1,"type":"tokens","gen":7,"access":"A1","exp":1}',
    "tokens_no_expiry": '{"v":1,"type":"tokens","gen":7,"access":"A1","exp":0}',
    "logout": '{"v":1,"type":"logout","gen":9}',
    "wrong_version": '{"v":2,"type":"tokens","gen":7,"access":"A1","exp":0}',
    "gen_string": '{"v":1,"type":"tokens","gen":"7","access":"A1","exp":0}',
    "gen_float": '{"v":1,"type":"tokens","gen":7.5,"access":"A1","exp":0}',
    "access_number": '{"v":1,"type":"tokens","gen":7,"access":12,"exp":0}',
    "access_crlf": '{"v":1,"type":"tokens","gen":7,"access":"A\\r\\n","exp":0}',
    "exp_negative": '{"v":1,"type":"tokens","gen":7,"access":"A","exp":-1}',
    "duplicate_keys": '{"v":1,"type":"logout","type":"tokens","gen":7,"access":"A","exp":0}',
    "not_object": '[1,"tokens",7]',
    "truncated": '{"v":1,"type":"tokens","gen":7,"access":"A',
}.items():
    write("fuzz_blob", name, s)

# ---- fuzz_options: page byte, error-cap byte, options JSON
def opt(page, cap, obj):
    body = obj if isinstance(obj, str) else json.dumps(obj)
    return bytes([page, cap]) + body.encode()

write("fuzz_options", "minimal", opt(1, 4, {"baseUrl": "http://api.test"}))
write("fuzz_options", "relative_base", opt(1, 4, {"baseUrl": "/api"}))
write("fuzz_options", "full", opt(1, 4, {
    "baseUrl": "http://api.test", "protect": ["/api"], "public": ["/api/health"],
    "trustedOrigins": ["https://files.test:443"], "login": {"url": "/auth/login", "body": "form"},
    "refresh": {"url": "/auth/refresh", "send": "form", "field": "refresh_token"},
    "tokenFields": {"access": ["token"], "refresh": ["rt"], "expiresIn": ["ttl"]},
    "storage": "local", "storageKey": "k", "refreshSkewSeconds": 10, "readyTimeoutMs": 500,
    "credentials": "include", "crossTab": False}))
write("fuzz_options", "cookie_refresh", opt(2, 4, {"baseUrl": "https://app.example:8443/", "refresh": {"url": "/r", "send": "cookie"}}))
write("fuzz_options", "foreign_endpoint", opt(1, 4, {"baseUrl": "http://api.test", "login": {"url": "http://evil.example/login"}}))
write("fuzz_options", "typo", opt(1, 4, {"baseURL": "http://api.test"}))
write("fuzz_options", "credentials_url", opt(1, 3, {"baseUrl": "http://u:p@api.test"}))
write("fuzz_options", "javascript_base", opt(1, 4, {"baseUrl": "javascript:alert(1)"}))
write("fuzz_options", "no_page", opt(0, 4, {"baseUrl": "/"}))
write("fuzz_options", "own_page", bytes([0x80 | 15, 4]) + b"http://app.test" + b'{"baseUrl":"/"}')
write("fuzz_options", "deep", opt(1, 4, '{"baseUrl":"http://api.test","tokenFields":' + "{" * 30 + "}" * 30 + "}"))
write("fuzz_options", "oidc", opt(1, 4, {"baseUrl": "http://api.test", "oidc": {
    "issuer": "https://id.example/", "clientId": "spa", "redirectUri": "/callback", "scope": "openid profile",
    "postLogoutRedirectUri": "/", "params": {"audience": "api", "response_mode": "fragment"}}}))
write("fuzz_options", "oidc_with_login", opt(1, 4, {"baseUrl": "http://api.test", "login": {"url": "/l"},
    "oidc": {"issuer": "http://127.0.0.1:9", "clientId": "spa", "redirectUri": "http://app.test/cb"}}))
write("fuzz_options", "oidc_dpop", opt(1, 4, {"baseUrl": "http://api.test", "dpop": True,
    "oidc": {"issuer": "https://id.example", "clientId": "spa", "redirectUri": "/cb"}}))
write("fuzz_options", "dpop_without_oidc", opt(1, 4, {"baseUrl": "http://api.test", "dpop": True}))
write("fuzz_options", "oidc_relative_no_page", opt(0, 4, {"baseUrl": "http://api.test",
    "oidc": {"issuer": "https://id.example", "clientId": "spa", "redirectUri": "/cb", "params": {"state": "x"}}}))
write("fuzz_options", "nul_in_string", opt(1, 4, '{"baseUrl":"http://api.test\\u0000.evil"}'))

# ---- fuzz_message: options byte, messages separated by NUL
msgs = [
    '{"v":1,"type":"tokens","gen":9000000000000,"access":"M1","refresh":"MR1","exp":1800000000000}',
    '{"v":1,"type":"tokens","gen":5,"access":"OLD","exp":0}',
    '{"v":1,"type":"logout","gen":9000000000001}',
    '{"v":1,"type":"tokens","gen":9000000000002,"access":"M2","exp":1}',
    '{"v":1,"type":"tokens","gen":"9000000000003","access":"F","exp":0}',
    '{"type":"tokens","access":"F"}',
]
write("fuzz_message", "newer_then_older", b"\x00" + "\x00".join(msgs[:2]).encode())
write("fuzz_message", "logout_then_tokens", b"\x01" + "\x00".join([msgs[2], msgs[0]]).encode())
write("fuzz_message", "expired_newer_cookie", b"\x02" + msgs[3].encode())
write("fuzz_message", "forged", b"\x00" + "\x00".join(msgs[4:]).encode())

# ---- fuzz_state_machine: config byte, then events (see fuzz_state_machine.c)
CALL, ANSWER, NETERR, CANCEL, TICK, TICK_DL, START, LOGIN, SET, LOGOUT, MSG, LOCK = 0, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13
sm = {
    # 401 -> one refresh -> one replay with the new token
    "refresh_after_401": [0, START, 0, SET, 0, CALL, 0, 0, 0, ANSWER, 0, 2, ANSWER, 0, 0, 0, ANSWER, 0, 0, TICK_DL],
    # many calls after expiry share one refresh
    "single_flight": [0, START, 0, SET, 1, TICK, 5, TICK, 5, CALL, 0, 0, 0, CALL, 1, 2, 0, CALL, 2, 0, 0,
                      ANSWER, 0, 0, 0, TICK_DL],
    # cross-tab: proactive refresh asks for the lock, another tab's tokens arrive meanwhile
    "cross_tab_lock": [1, START, 1, TICK_DL, LOCK, 0x80, MSG, 0, CALL, 0, 0, 0, LOGOUT, TICK_DL],
    # cookie refresh probe at start decides the state; calls wait for it
    "cookie_probe": [3, CALL, 0, 0, 0, START, 0, LOCK, 0, ANSWER, 0, 4, CALL, 0, 0, 0],
    # login only, short token, no refresh: the session expires at its deadline
    "login_expiry": [4, START, 0, LOGIN, 0, ANSWER, 0, 0, 3, CALL, 0, 0, 0, TICK_DL, TICK_DL, CALL, 0, 0, 0],
    # the gate's own token put by hand on a foreign call; foreign and public calls
    "foreign_origin": [0, START, 0, SET, 0, CALL, 0, 9, 2, CALL, 0, 10, 1, CALL, 0, 3, 0, CALL, 0, 16, 0, CALL, 0, 18, 0],
    # refresh failures back off; waiting calls time out
    "backoff": [2, START, 0, SET, 1, TICK, 7, CALL, 0, 0, 0, NETERR, 0, 0, TICK_DL, TICK_DL, ANSWER, 0, 7, 0, TICK_DL, TICK_DL],
    # bad token responses on login
    "bad_login_bodies": [0, START, 0, LOGIN, 0, ANSWER, 0, 0, 7, LOGIN, 0, ANSWER, 0, 0, 8, LOGIN, 2, LOGIN, 0, ANSWER, 0, 0, 10],
    # calls before start time out; cancel one
    "ready_timeout": [0, CALL, 0, 0, 0, CALL, 0, 0, 0, CANCEL, 0, TICK_DL | 0x80, TICK_DL],
    # regression seeds for the bugs the fuzzer found (see SECURITY.md)
    "regress_set_tokens_before_start": [0x50, 0x50, 0x01, 0x40, 0x01, 0x40],
    "regress_logout_before_start": [0x66, 0x0b, 0x6a, 0x65, 0x08, 0x7b, 0x6b],
    "regress_slow_refresh_retried": [0, START, 2, TICK, 7, TICK, 12],
}
for name, ops in sm.items():
    write("fuzz_state_machine", name, bytes(ops))
sm_raw = base64.b64decode("qqqqqrkXFxcXFxcXF6qqqrqqAAAAAAAAAAAAAAAAAAAAAAAAAKqqqqqqqqqoqgEiCBUI")
write("fuzz_state_machine", "regress_refresh_without_token", sm_raw)

# fuzz_retry: byte 0 picks the parser (0 Retry-After, 1 the retry option, 2 a login error body)
retry_seeds = {
    "after_seconds": b"\x001",
    "after_imf_date": b"\x00Tue, 14 Nov 2023 22:13:25 GMT",
    "after_rfc850": b"\x00Tuesday, 14-Nov-23 22:13:25 GMT",
    "after_asctime": b"\x00Tue Nov 14 22:13:25 2023",
    "after_garbage": b"\x00soon",
    "policy_full": b'\x01{"limit":3,"methods":["GET","POST"],"statuses":[503,429],"maxRetryAfterMs":5000}',
    "policy_false": b"\x01false",
    "message_detail": b'\x02{"detail":"Incorrect username or password"}',
    "message_fastapi_422": b'\x02{"detail":[{"loc":["body"],"msg":"field required"}]}',
    "message_oauth": b'\x02{"error":"invalid_grant","error_description":"Bad \\u00e9 creds"}',
}
for name, data in retry_seeds.items():
    write("fuzz_retry", name, data)
# ---- OpenID: discovery documents, callbacks, ID tokens (issuer https://id.example, client spa)
ISS = "https://id.example"
disc = {
    "issuer": ISS, "authorization_endpoint": ISS + "/auth", "token_endpoint": ISS + "/token",
    "end_session_endpoint": ISS + "/session/end", "revocation_endpoint": ISS + "/token/revocation",
    "code_challenge_methods_supported": ["S256"], "authorization_response_iss_parameter_supported": True,
}
for name, doc in {
    "good": disc,
    "issuer_slash": dict(disc, issuer=ISS + "/"),
    "plain_only": dict(disc, code_challenge_methods_supported=["plain"]),
    "http_token_endpoint": dict(disc, token_endpoint="http://id.example/token"),
    "loopback": dict(disc, authorization_endpoint="http://127.0.0.1:9/a", token_endpoint="http://[::1]:9/t"),
    "query_endpoint": dict(disc, authorization_endpoint=ISS + "/auth?tenant=a"),
    "no_token_endpoint": {k: v for k, v in disc.items() if k != "token_endpoint"},
}.items():
    write("fuzz_oidc_discovery", name, json.dumps(doc))
write("fuzz_oidc_discovery", "not_json", "<html>404</html>")

# ---- fuzz_dpop: "<WWW-Authenticate>\n<DPoP-Nonce>\n<JWK>"
EC_X = "s553p1rtiUjPv-w8J3ZalfA-JcEPehOuE6K-oNh9dYI"
EC_Y = "ConlYlE6BGsBCAZuH2WNuJH1RP_fgVXA7j5mO5XbbGs"
EC_KEY = {"kty": "EC", "crv": "P-256", "x": EC_X, "y": EC_Y}
for name, (www, nonce, key) in {
    "nonce_challenge": ('DPoP error="use_dpop_nonce", error_description="needs a nonce"',
                        "eyJ7S_zG.nonce", EC_KEY),
    "two_challenges": ('Bearer realm="api", DPoP algs="ES256", error="use_dpop_nonce"', "n-1",
                       dict(EC_KEY, ext=True, key_ops=["verify"])),
    "token68": ("Negotiate YWJj==, DPoP error=use_dpop_nonce", "a" * 40, EC_KEY),
    "substring_only": ('Bearer error_description="DPoP error=use_dpop_nonce"', "bad nonce",
                       dict(EC_KEY, d=EC_X)),
    "named_twice": ('DPoP error="use_dpop_nonce", error="invalid_token"', 'q"uote',
                    dict(EC_KEY, crv="P-384")),
    "quoted_pair": ('DPoP error="use\\_dpop_nonce', "\\", {"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
}.items():
    write("fuzz_dpop", name, www + "\n" + nonce + "\n" + json.dumps(key, separators=(",", ":")))

# ---- fuzz_dpop_flow: opcode bytes and their arguments (see the target)
#   0 call(path) 2 answer(pick, how, body) 4 sign(pick, kind) 5 key(ok) 6 login 7 setTokens
#   8 logout(redirect) 9 proof 10 tick(seconds)
for name, ops in {
    "discovery_login_key": [2, 0, 0, 3, 6, 5, 1],
    "tokens_call_sign_nonce": [7, 5, 1, 0, 0, 4, 0, 1, 2, 0, 5 | 4 << 0 | 16, 0, 4, 0, 1],
    "refused_key_and_bad_signature": [7, 0, 0, 5, 0, 5, 1, 4, 0, 1],
    "proof_logout_tick": [7, 5, 1, 9, 4, 0, 3, 8, 0, 10, 40, 4, 0, 2],
}.items():
    write("fuzz_dpop_flow", name, bytes(ops))

STATE = "B" * 43
CB = "http://app.test/callback?"
for name, (flags, url) in {
    "good": (6, CB + "code=c1&state=" + STATE + "&iss=https%3A%2F%2Fid.example"),
    "no_iss_required": (6, CB + "code=c1&state=" + STATE),
    "bad_state": (0, CB + "code=c1&state=forged"),
    "error": (0, CB + "error=access_denied&error_description=no+thanks&state=" + STATE),
    "duplicate": (0, CB + "code=a&code=b&state=" + STATE),
    "encoded_duplicate": (0, CB + "code=a&state=" + STATE + "&st%61te=" + STATE),
    "fragment": (1, "http://app.test/callback#code=f&state=" + STATE),
    "bad_escape": (0, CB + "code=%zz&state=" + STATE),
}.items():
    write("fuzz_oidc_callback", name, bytes([flags]) + url.encode())
txn = {"v": 1, "verifier": "A" * 43, "state": STATE, "nonce": "C" * 43, "returnTo": None,
       "redirectUri": "http://app.test/callback", "mode": "fragment", "issuer": ISS,
       "clientId": "spa", "createdAt": 1700000000000}
write("fuzz_oidc_callback", "with_transaction",
      b"\x00" + ("http://app.test/callback#code=f&state=" + STATE).encode() + b"\x00" + json.dumps(txn).encode())

claims = {"iss": ISS, "aud": "spa", "sub": "u1", "iat": 1699999990, "exp": 1700000600, "nonce": "C" * 43}
for name, (mode, body) in {
    "good": (4 | 8, json.dumps(claims)),
    "aud_array_azp": (4, json.dumps(dict(claims, aud=["api", "spa"], azp="spa"))),
    "aud_array_no_azp": (4, json.dumps(dict(claims, aud=["api", "spa"]))),
    "expired": (2 | 4, json.dumps(claims)),
    "no_nonce": (4, json.dumps({k: v for k, v in claims.items() if k != "nonce"})),
    "iat_future": (1, json.dumps(dict(claims, iat=1800000000))),
    "grant": (16, json.dumps({"access_token": "A", "id_token": "h.p.s", "token_type": "bearer", "scope": "openid"})),
    "token_error": (0, '{"error":"invalid_grant","error_description":"grant request is invalid"}'),
}.items():
    write("fuzz_id_token", name, bytes([mode]) + body.encode())
