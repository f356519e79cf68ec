"""What the gateway's TLS presets must offer, and the findings that are known and explained.

Suites are named by their IANA names; `SUITE_IDS` maps the code points of the suites that matter
(and a few that must never appear) so that tools reporting numbers (testssl, OpenSSL) can be read
the same way.
"""

SUITE_IDS = {
    0x1301: "TLS_AES_128_GCM_SHA256",
    0x1302: "TLS_AES_256_GCM_SHA384",
    0x1303: "TLS_CHACHA20_POLY1305_SHA256",
    0xC02B: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    0xC02C: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    0xCCA9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    0xC02F: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    0xC030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    0xCCA8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    0x009E: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    0x009F: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
}


def suite_name(code: int) -> str:
    return SUITE_IDS.get(code, f"0x{code:04X}")


# rustls with aws-lc-rs: the only TLS 1.3 suites either preset may accept.
TLS13 = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
}

# The `recommended` preset on TLS 1.2: ECDHE with AEAD only (which half is accepted depends on the
# server key: ECDSA or RSA).
RECOMMENDED_TLS12 = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}

# FAPI 1 Advanced (Final), 8.5: the only TLS 1.2 suites allowed.
FAPI_TLS12 = {
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
}

TLS12 = {"recommended": RECOMMENDED_TLS12, "fapi": FAPI_TLS12}

# RFC 6066 3: a server that does not serve the name asked for (or none) ends the handshake with
# unrecognized_name.
UNRECOGNIZED_NAME = 112

# testssl findings at HIGH or CRITICAL that are about the throwaway test PKI, not the gateway.
ALLOWED_TESTSSL_FINDINGS = {
    "cert_revocation": "the generated test certificates carry no CRL or OCSP URI",
}

# Checks that fail today for a known reason. They are reported, and do not fail the run; when one
# passes, the run says so, so that the entry can be removed.
KNOWN_DEFECTS: dict = {}
