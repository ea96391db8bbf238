#!/usr/bin/env bash
# Certificate functions for the local cluster, built on openssl. Keys are ECDSA
# P-256 (quick to generate and accepted by every component). Files are
# written to ${PKI_DIR} as NAME.crt / NAME.key.

readonly PKI_DAYS=365

# pki::_key PATH writes a new private key (PKCS#8 PEM) to PATH.
pki::_key() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
}

# pki::ca NAME COMMON_NAME creates a self-signed CA.
pki::ca() {
  local name="$1" cn="$2" cnf
  cnf="$(mktemp)"
  cat >"${cnf}" <<EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = ${cn}
[ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, digitalSignature, keyEncipherment, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  pki::_key "${PKI_DIR}/${name}.key"
  openssl req -x509 -new -config "${cnf}" -extensions ext -key "${PKI_DIR}/${name}.key" \
    -days "${PKI_DAYS}" -sha256 -out "${PKI_DIR}/${name}.crt" 2>/dev/null
  rm -f "${cnf}"
}

# pki::cert NAME CA USAGE SUBJECT [SAN...] issues a certificate signed by CA.
#   USAGE   client, server or client+server
#   SUBJECT an openssl subject such as /O=system:masters/CN=admin
#   SAN     entries such as DNS:localhost or IP:127.0.0.1
pki::cert() {
  local name="$1" ca="$2" usage="$3" subject="$4"
  shift 4
  local eku cnf san=""
  case "${usage}" in
    client) eku="clientAuth" ;;
    server) eku="serverAuth" ;;
    client+server) eku="serverAuth, clientAuth" ;;
    *)
      log::error "pki::cert: unknown usage ${usage}"
      return 1
      ;;
  esac
  if (($# > 0)); then
    san="subjectAltName = $(
      IFS=,
      echo "$*"
    )"
  fi
  cnf="$(mktemp)"
  cat >"${cnf}" <<EOF
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = ${eku}
authorityKeyIdentifier = keyid
${san}
EOF
  pki::_key "${PKI_DIR}/${name}.key"
  openssl req -new -key "${PKI_DIR}/${name}.key" -subj "${subject}" 2>/dev/null |
    openssl x509 -req -CA "${PKI_DIR}/${ca}.crt" -CAkey "${PKI_DIR}/${ca}.key" \
      -set_serial "0x$(openssl rand -hex 16)" -days "${PKI_DAYS}" -sha256 \
      -extfile "${cnf}" -extensions ext -out "${PKI_DIR}/${name}.crt" 2>/dev/null
  rm -f "${cnf}"
}

# pki::kubeconfig PATH SERVER CA_NAME CERT_NAME writes a kubeconfig that
# authenticates with the client certificate CERT_NAME; the credentials are
# embedded so the file can be used on its own.
pki::kubeconfig() {
  local path="$1" server="$2" ca="$3" cert="$4"
  (
    umask 077
    cat >"${path}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: ${server}
    certificate-authority-data: $(base64 -w0 <"${PKI_DIR}/${ca}.crt")
users:
- name: ${cert}
  user:
    client-certificate-data: $(base64 -w0 <"${PKI_DIR}/${cert}.crt")
    client-key-data: $(base64 -w0 <"${PKI_DIR}/${cert}.key")
contexts:
- name: local
  context:
    cluster: local
    user: ${cert}
current-context: local
EOF
  )
}
