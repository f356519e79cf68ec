"""Live probes of running gateways; writes JSON for verify.py.

For each target (a gateway with one TLS preset on 127.0.0.1:PORT) and each host it serves (the
plain domain, and the mTLS alias with a client certificate):

- sslyze: protocols, cipher suites, extended master secret, and Mozilla "intermediate"
  compliance (computed here, since it needs sslyze's scan objects) -> NAME/sslyze.json;
- OpenSSL (Python's ssl module): every TLS 1.2 suite OpenSSL knows, one at a time, with and
  without extended master secret -> NAME/probes.json;
- openssl s_client: whether a CertificateRequest was sent, and the CA names in it;
- openssl s_client: the alert for a ClientHello without SNI and one for an unknown name.

Usage: scan.py --out DIR --pki DIR --target NAME:POLICY:PORT [--target ...]
"""

import argparse
import json
import re
import socket
import ssl
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import nassl._nassl
from sslyze import (
    CertificateInfoExtraArgument,
    ClientAuthenticationCredentials,
    ScanCommandsExtraArguments,
    Scanner,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
    SslyzeOutputAsJson,
    ServerScanResultAsJson,
)
from sslyze.mozilla_tls_profile.tls_config_checker import (
    SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
    MozillaTlsConfiguration,
    ServerNotCompliantWithTlsConfiguration,
    ServerScanResultIncomplete,
    TlsConfigurationEnum,
    check_server_against_tls_configuration,
)
from sslyze.plugins.certificate_info import implementation as certificate_info

from expected import suite_name

DOMAIN = "auth.example.com"
ALIAS = "mtls." + DOMAIN
# OpenSSL 3's SSL_OP_NO_EXTENDED_MASTER_SECRET; Python's ssl module has no name for it.
OP_NO_EXTENDED_MASTER_SECRET = 1 << 0
TIMEOUT = 10


def tolerate_refused_no_sni():
    """sslyze's certificate scan also connects without SNI and expects either a certificate or
    an unrecognized_name alert; any other alert aborts the whole certificate scan, and with it
    the Mozilla check. The gateway's answer to a ClientHello without SNI is checked on its own
    (see `sni_refusals`), so here any alert on that one connection counts as the refusal it is."""
    original = certificate_info.get_certificate_chain

    def get_certificate_chain(server_info, ca_file, tls_version, cipher_string, use_sni):
        try:
            return original(server_info, ca_file, tls_version, cipher_string, use_sni)
        except nassl._nassl.OpenSSLError as e:
            if use_sni or "alert" not in str(e):
                raise
            raise nassl._nassl.OpenSSLError(f"unrecognized name (refused without SNI: {e})")

    certificate_info.get_certificate_chain = get_certificate_chain


def sslyze_requests(targets, pki):
    requests = []
    for t in targets:
        for host, with_cert in ((DOMAIN, False), (ALIAS, True)):
            credentials = None
            if with_cert:
                credentials = ClientAuthenticationCredentials(
                    certificate_chain_path=pki / "client.pem", key_path=pki / "client.key"
                )
            requests.append(
                ServerScanRequest(
                    server_location=ServerNetworkLocation(
                        hostname=host, port=t["port"], ip_address="127.0.0.1"
                    ),
                    network_configuration=ServerNetworkConfiguration(
                        tls_server_name_indication=host,
                        tls_client_auth_credentials=credentials,
                        network_timeout=TIMEOUT,
                    ),
                    scan_commands=SCAN_COMMANDS_NEEDED_BY_MOZILLA_CHECKER,
                    scan_commands_extra_arguments=ScanCommandsExtraArguments(
                        certificate_info=CertificateInfoExtraArgument(
                            custom_ca_file=pki / "root.pem"
                        )
                    ),
                )
            )
    return requests


def mozilla_verdict(result):
    intermediate = MozillaTlsConfiguration.get(TlsConfigurationEnum.MOZILLA_INTERMEDIATE)
    try:
        check_server_against_tls_configuration(result, intermediate)
        return {"compliant": True}
    except ServerNotCompliantWithTlsConfiguration as e:
        return {"compliant": False, "issues": e.issues}
    except ServerScanResultIncomplete as e:
        return {"compliant": False, "issues": {"incomplete": str(e)}}


def run_sslyze(targets, pki, out):
    """One scanner for every target and host (they run concurrently)."""
    tolerate_refused_no_sni()
    started = datetime.now(timezone.utc)
    scanner = Scanner()
    scanner.queue_scans(sslyze_requests(targets, pki))
    by_port = {}
    for result in scanner.get_results():
        by_port.setdefault(result.server_location.port, []).append(result)
    mozilla = {}
    for t in targets:
        results = by_port.get(t["port"], [])
        document = SslyzeOutputAsJson(
            server_scan_results=[ServerScanResultAsJson.model_validate(r) for r in results],
            invalid_server_strings=[],
            date_scans_started=started,
            date_scans_completed=datetime.now(timezone.utc),
        )
        (out / t["name"] / "sslyze.json").write_text(document.model_dump_json(indent=2))
        mozilla[t["name"]] = {r.server_location.hostname: mozilla_verdict(r) for r in results}
    return mozilla


def tls12_cipher_names():
    """Every suite OpenSSL can offer on TLS 1.2 (TLS 1.3 suites are configured apart)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    return [c["name"] for c in ctx.get_ciphers() if c["protocol"] != "TLSv1.3"]


def tls12_handshake(port, host, cipher, ems, pki, cert):
    """The suite the server picked (as an IANA name), or None when it refused."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki / "root.pem")
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(cipher + ":@SECLEVEL=0")
    if not ems:
        ctx.options |= OP_NO_EXTENDED_MASTER_SECRET
    if cert:
        ctx.load_cert_chain(pki / "client.pem", pki / "client.key")
    by_openssl_name = {c["name"]: c["id"] & 0xFFFF for c in ctx.get_ciphers()}
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            with ctx.wrap_socket(sock, server_hostname=host) as tls:
                name = tls.cipher()[0]
    except (ssl.SSLError, OSError):
        return None
    return suite_name(by_openssl_name[name])


def tls12_probe(port, pki):
    """Per host: the TLS 1.2 suites accepted with extended master secret, and those of them
    also accepted without it."""
    result = {}
    for host, cert in ((DOMAIN, False), (ALIAS, True)):
        with_ems, without_ems = set(), set()
        for cipher in tls12_cipher_names():
            suite = tls12_handshake(port, host, cipher, True, pki, cert)
            if suite is None:
                continue
            with_ems.add(suite)
            if tls12_handshake(port, host, cipher, False, pki, cert) is not None:
                without_ems.add(suite)
        result[host] = {"with_ems": sorted(with_ems), "without_ems": sorted(without_ems)}
    return result


def s_client(port, args):
    cmd = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *args]
    try:
        done = subprocess.run(
            cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        return "(timed out)"
    return done.stdout + done.stderr


def certificate_request(port, pki):
    """For each host and version: was a CertificateRequest sent, and with which CA names."""
    result = {}
    for host in (DOMAIN, ALIAS):
        for version in ("-tls1_2", "-tls1_3"):
            text = s_client(port, ["-servername", host, version, "-CAfile", str(pki / "root.pem")])
            names = []
            if "Acceptable client certificate CA names" in text:
                after = text.split("Acceptable client certificate CA names", 1)[1].splitlines()[1:]
                # One distinguished name per line ("CN = Example Root CA"), up to the next item.
                for line in after:
                    if not line.strip() or ": " in line or line.startswith("---"):
                        break
                    names.append(line.strip())
            result[f"{host} {version[1:]}"] = {
                "handshake": "Cipher is" in text,
                "request_sent": any(
                    marker in text
                    for marker in (
                        "Acceptable client certificate CA names",
                        "Client Certificate Types:",
                        "Requested Signature Algorithms:",
                    )
                ),
                "ca_names": names,
            }
    return result


def sni_refusals(port):
    result = {}
    for case, args in (("no SNI", ["-noservername"]), ("unknown name", ["-servername", "unknown.example.net"])):
        text = s_client(port, args)
        alert = re.search(r"SSL alert number (\d+)", text)
        result[case] = {
            "certificate_served": "BEGIN CERTIFICATE" in text or "Server certificate" in text,
            "alert": int(alert.group(1)) if alert else None,
        }
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--pki", type=Path, required=True)
    parser.add_argument("--target", action="append", required=True, help="NAME:POLICY:PORT")
    args = parser.parse_args()
    if ssl.OPENSSL_VERSION_INFO < (3, 0):
        raise SystemExit(f"OpenSSL 3 is needed to turn extended master secret off: {ssl.OPENSSL_VERSION}")
    targets = []
    for spec in args.target:
        name, policy, port = spec.split(":")
        targets.append({"name": name, "policy": policy, "port": int(port)})
        (args.out / name).mkdir(parents=True, exist_ok=True)
    mozilla = run_sslyze(targets, args.pki, args.out)
    for t in targets:
        probes = {
            **t,
            "mozilla_intermediate": mozilla[t["name"]],
            "tls12": tls12_probe(t["port"], args.pki),
            "certificate_request": certificate_request(t["port"], args.pki),
            "sni_refusals": sni_refusals(t["port"]),
        }
        (args.out / t["name"] / "probes.json").write_text(json.dumps(probes, indent=2))


if __name__ == "__main__":
    main()
