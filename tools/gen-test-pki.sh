#!/bin/sh
# SPDX-License-Identifier: MIT
# Generates THROWAWAY TEST MATERIAL (a toy PKI and OpenVPN static keys) for unit and interop tests.
# Never use any of it for a real deployment; never write it into the repository.
#
# usage: tools/gen-test-pki.sh DIR [--rsa] [--force]
#   DIR/ca.crt ca.key            test CA (EC P-256, or RSA-2048 with --rsa: then the client-side
#                                certificates share one key, to stay fast)
#   DIR/server.crt server.key    CN=server, EKU serverAuth, keyUsage present (§5.2)
#   DIR/client1..8.crt .key      CN=client1..8, EKU clientAuth
#   DIR/revoked.crt .key, crl.pem  CN=revoked, listed in the CRL
#   DIR/crl-empty.pem            the same CA's CRL before the revocation (for reload tests)
#   DIR/crl-client2.pem          a later CRL that revokes client2 as well (for reload tests)
#   DIR/noeku.crt .key           CN=noeku, keyUsage but no EKU (fails remote-cert-tls)
#   DIR/email1.crt .key          CN=email1, emailAddress email1@example.test, SAN email alt1@example.test
#   DIR/emailnoeku.crt .key      CN=emailnoeku with an emailAddress, no EKU
#   DIR/noku.crt .key            CN=noku, EKU clientAuth, no keyUsage
#   DIR/other-ca.crt .key        a second CA nobody trusts
#   DIR/tls-crypt.key ta.key tc2-server.key tc2-client.key   (only if openvpn is on PATH)
# Idempotent: does nothing if DIR/ca.crt exists, unless --force.
set -eu

dir=""
rsa=0
force=0
for a in "$@"; do
  case "$a" in
    --rsa) rsa=1 ;;
    --force) force=1 ;;
    -*) echo "gen-test-pki.sh: unknown option $a" >&2; exit 2 ;;
    *) dir=$a ;;
  esac
done
[ -n "$dir" ] || { echo "usage: $0 DIR [--rsa] [--force]" >&2; exit 2; }
if [ -f "$dir/ca.crt" ] && [ "$force" -eq 0 ]; then exit 0; fi
mkdir -p "$dir"
cd "$dir"
umask 077

if [ "$rsa" -eq 1 ]; then
  srv_ku="critical,digitalSignature,keyEncipherment"
else
  srv_ku="critical,digitalSignature,keyAgreement"
fi

genkey() {
  if [ "$rsa" -eq 1 ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
  else
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  fi
}

mkca() {  # name CN
  genkey "$1.key"
  openssl req -new -x509 -key "$1.key" -subj "/O=dpvpn THROWAWAY TEST/CN=$2" -days 3650 \
    -set_serial 1 -out "$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# RSA key generation is slow (~0.3 s a key), so with --rsa all client-side certificates share
# one key; the CAs and the server still get their own.
serial=16
leaf() {  # name CN keyUsage|"" [EKU [SUBJECT-SUFFIX [EXTRA-EXTENSION]]]
  if [ "$rsa" -eq 1 ] && [ "$1" != server ]; then
    [ -f shared-client.key ] || genkey shared-client.key
    cp shared-client.key "$1.key"
  else
    genkey "$1.key"
  fi
  printf 'basicConstraints=CA:FALSE\nsubjectKeyIdentifier=hash\n' > "$1.ext"
  [ -z "$3" ] || printf 'keyUsage=%s\n' "$3" >> "$1.ext"
  [ -z "${4:-}" ] || printf 'extendedKeyUsage=%s\n' "$4" >> "$1.ext"
  [ -z "${6:-}" ] || printf '%s\n' "$6" >> "$1.ext"
  openssl req -new -key "$1.key" -subj "/O=dpvpn THROWAWAY TEST/CN=$2${5:-}" -out "$1.csr"
  serial=$((serial + 1))
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "$serial" -days 3650 \
    -extfile "$1.ext" -out "$1.crt" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

mkca ca "dpvpn throwaway test CA"
mkca other-ca "dpvpn untrusted throwaway CA"
leaf server server "$srv_ku" serverAuth
for i in 1 2 3 4 5 6 7 8; do
  leaf "client$i" "client$i" "critical,digitalSignature" clientAuth
done
leaf revoked revoked "critical,digitalSignature" clientAuth
leaf noeku noeku "critical,digitalSignature"
# For x509-username-field and remote-cert-ku/eku: an e-mail address in the subject and in
# subjectAltName; one without any EKU; a client certificate without keyUsage.
leaf email1 email1 "critical,digitalSignature" clientAuth "/emailAddress=email1@example.test" \
  "subjectAltName=DNS:email1.example.test,email:alt1@example.test"
leaf emailnoeku emailnoeku "critical,digitalSignature" "" "/emailAddress=emailnoeku@example.test"
leaf noku noku "" clientAuth

# A minimal "openssl ca" database, only to revoke one certificate and sign the CRL.
rm -f shared-client.key
rm -rf ca-db && mkdir ca-db && : > ca-db/index.txt
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = ca-db/index.txt
default_md = sha256
default_crl_days = 3650
CNF
openssl ca -config ca-db/ca.cnf -keyfile ca.key -cert ca.crt -gencrl -out crl-empty.pem 2>/dev/null
openssl ca -config ca-db/ca.cnf -keyfile ca.key -cert ca.crt -revoke revoked.crt 2>/dev/null
openssl ca -config ca-db/ca.cnf -keyfile ca.key -cert ca.crt -gencrl -out crl.pem 2>/dev/null
openssl ca -config ca-db/ca.cnf -keyfile ca.key -cert ca.crt -revoke client2.crt 2>/dev/null
openssl ca -config ca-db/ca.cnf -keyfile ca.key -cert ca.crt -gencrl -out crl-client2.pem 2>/dev/null

if command -v openvpn >/dev/null 2>&1; then
  openvpn --genkey secret tls-crypt.key >/dev/null
  openvpn --genkey secret ta.key >/dev/null
  openvpn --genkey tls-crypt-v2-server tc2-server.key >/dev/null
  openvpn --tls-crypt-v2 tc2-server.key --genkey tls-crypt-v2-client tc2-client.key >/dev/null
fi
chmod 644 ./*.crt crl.pem crl-empty.pem crl-client2.pem
