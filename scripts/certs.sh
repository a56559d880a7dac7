#!/usr/bin/env bash
# make certs: a local CA and a certificate for localhost, for NGINX_TLS=on in development.
#
#   scripts/certs.sh [DIR]     DIR: where nginx reads them (default: nginx/certs, see its README.md)
#
# The CA is made once and kept in .local-ca/ (CA_DIR), so a CA you already trust stays valid
# across runs; the server certificate is made anew each time, valid 90 days, as ACME ones are.
# ECDSA P-256: the key type certbot and Let's Encrypt default to, and the cheapest handshake.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-nginx/certs}
ca=${CA_DIR:-.local-ca}
names=${CERT_NAMES:-DNS:localhost,IP:127.0.0.1,IP:::1}
mkdir -p "$out" "$ca"

if [[ ! -s $ca/ca-key.pem || ! -s $ca/ca.pem ]]; then
    (umask 077 && openssl ecparam -name prime256v1 -genkey -noout -out "$ca/ca-key.pem")
    openssl req -x509 -new -key "$ca/ca-key.pem" -sha256 -days 3650 -out "$ca/ca.pem" \
        -subj "/CN=pycluster local development CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
    echo "certs: made a local CA in $ca/ (trust $out/dev-ca.pem, never its key)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/privkey.pem"
openssl req -new -key "$tmp/privkey.pem" -subj "/CN=localhost" -out "$tmp/req.csr"
printf '%s\n' "subjectAltName=$names" "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > "$tmp/ext.cnf"
openssl x509 -req -in "$tmp/req.csr" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
    -days 90 -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/cert.pem" 2>/dev/null
# nginx runs as uid 101, not as you: the development key must be readable by others.
# A production key belongs to uid 101 with mode 600 instead (certs/README.md).
chmod 644 "$tmp/privkey.pem"
cp "$tmp/cert.pem" "$out/fullchain.pem"
cp "$tmp/privkey.pem" "$out/privkey.pem"
cp "$ca/ca.pem" "$out/dev-ca.pem"
echo "certs: $out/fullchain.pem for $names, signed by $out/dev-ca.pem, valid 90 days"
echo "certs: NGINX_TLS=on make up, then curl --cacert $out/dev-ca.pem https://localhost:\${HTTPS_PORT:-8443}/api"
