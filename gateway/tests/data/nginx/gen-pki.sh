#!/usr/bin/env bash
# Generates the fixed test PKI in this directory (openssl only).
#
# The generated certificates and keys are committed and ARE the fixtures.
# Re-running this script produces new keys and serials, which invalidates
# every captured vector (*.escaped, *.verify); only run it if you intend to
# re-capture everything with capture.sh afterwards.
set -euo pipefail

cd "$(dirname "$0")"

DAYS=7300            # ~20 years from generation time
CURVE=prime256v1     # ECDSA P-256

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

serial() { echo "0x7$(openssl rand -hex 15)"; }   # positive 128-bit serial

ec_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$CURVE -out "$1"; }
rsa_key() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }

cat > "$work/ext.cnf" <<'CNF'
[root_ca]
basicConstraints       = critical, CA:TRUE
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

[intermediate_ca]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[server]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:auth.example.com, DNS:mtls.auth.example.com, DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[client]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[self_signed_client]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = clientAuth
subjectKeyIdentifier   = hash
CNF

# self_signed CN ext_section out.pem key
self_signed() {
  openssl req -new -x509 -sha256 -key "$3" -subj "/CN=$1" -days "$DAYS" \
    -set_serial "$(serial)" -config "$work/ext.cnf" -extensions "$2" -out "$4"
}

# issue CN ext_section key ca.pem ca.key out.pem
issue() {
  openssl req -new -key "$3" -subj "/CN=$1" -out "$work/req.csr"
  openssl x509 -req -sha256 -in "$work/req.csr" -CA "$4" -CAkey "$5" \
    -set_serial "$(serial)" -days "$DAYS" \
    -extfile "$work/ext.cnf" -extensions "$2" -out "$6"
}

# Root CA
ec_key root.key
self_signed "Fixture Root CA" root_ca root.key root.pem

# Intermediate CA (signed by root, pathlen:0)
ec_key intermediate.key
issue "Fixture Intermediate CA" intermediate_ca intermediate.key root.pem root.key intermediate.pem

# Server certificate for the nginx capture (signed by root)
ec_key server.key
issue "mtls.auth.example.com" server server.key root.pem root.key server.pem

# Client certificates
ec_key client.key
issue "fixture-client" client client.key root.pem root.key client.pem

# RSA-2048 client key. The certificate is re-signed (new serial and ECDSA
# signature, so a slightly different DER length) until its base64 body ends in
# '=' padding, so that the escaped vectors cover %3D as well as %2B and %2F.
rsa_key client-rsa.key
issue "fixture-client" client client-rsa.key root.pem root.key client-rsa.pem
while ! grep -q '=' client-rsa.pem; do
  issue "fixture-client" client client-rsa.key root.pem root.key client-rsa.pem
done

ec_key client-via-intermediate.key
issue "fixture-client-via-intermediate" client client-via-intermediate.key \
  intermediate.pem intermediate.key client-via-intermediate.pem
cat client-via-intermediate.pem intermediate.pem > client-via-intermediate-chain.pem

# Self-signed end-entity certificate (CA:FALSE, clientAuth)
ec_key self-signed.key
self_signed "fixture-self-signed" self_signed_client self-signed.key self-signed.pem

# A different CA whose subject is exactly "CN=Fixture Root CA" but with its
# own key; its key is discarded, only its certificate is kept.
ec_key "$work/other-root.key"
self_signed "Fixture Root CA" root_ca "$work/other-root.key" other-root.pem
ec_key same-name-other-ca.key
issue "fixture-same-name-other-ca" client same-name-other-ca.key \
  other-root.pem "$work/other-root.key" same-name-other-ca.pem

# Expired client certificate signed by root: validity entirely in the past.
# OpenSSL 3.0's `x509 -req` cannot set explicit dates, so use `openssl ca`.
ec_key expired.key
openssl req -new -key expired.key -subj "/CN=fixture-expired" -out "$work/expired.csr"
mkdir -p "$work/ca"
: > "$work/ca/index.txt"
cat > "$work/ca.cnf" <<CNF
[ca]
default_ca = fixture

[fixture]
dir             = $work/ca
database        = \$dir/index.txt
serial          = \$dir/serial
new_certs_dir   = \$dir
certificate     = $PWD/root.pem
private_key     = $PWD/root.key
default_md      = sha256
policy          = policy_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no

[policy_any]
commonName = supplied
CNF
openssl rand -hex 16 | sed 's/^./7/' > "$work/ca/serial"
openssl ca -batch -notext -config "$work/ca.cnf" \
  -startdate 20200101000000Z -enddate 20210101000000Z \
  -extfile "$work/ext.cnf" -extensions client \
  -in "$work/expired.csr" -out expired.pem

chmod 644 ./*.pem ./*.key
echo "PKI written to $PWD"
