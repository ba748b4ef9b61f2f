#include "tls_support.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <stdexcept>
#include <string>

namespace numsequence::integration {
namespace {

struct key_free {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct cert_free {
  void operator()(X509* x) const noexcept { X509_free(x); }
};
using key_ptr = std::unique_ptr<EVP_PKEY, key_free>;
using cert_ptr = std::unique_ptr<X509, cert_free>;

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error("throwaway PKI: " + what + " failed");
}

key_ptr new_key() {
  key_ptr key(EVP_EC_gen("P-256"));
  if (!key)
    fail("EVP_EC_gen");
  return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr)
    fail(std::string("extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

/// A certificate for `key` named `common_name`, signed by `issuer_key` (self-signed when
/// `issuer` is null).
cert_ptr new_cert(EVP_PKEY* key, const char* common_name, long serial, X509* issuer,
                  EVP_PKEY* issuer_key, bool is_ca, const std::string& names = {}) {
  cert_ptr cert(X509_new());
  if (!cert)
    fail("X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 30L * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  if (is_ca) {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature");
    add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), signer, NID_subject_alt_name, names.c_str());
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) == 0)
    fail("X509_sign");
  return cert;
}

template <class Write>
void write_pem(const std::filesystem::path& file, Write write) {
  std::FILE* out = std::fopen(file.c_str(), "w");
  if (out == nullptr)
    fail("opening " + file.string());
  const bool ok = write(out) == 1;
  std::fclose(out);
  if (!ok)
    fail("writing " + file.string());
}

void write_cert(const std::filesystem::path& file, X509* cert) {
  write_pem(file, [cert](std::FILE* out) { return PEM_write_X509(out, cert); });
}

void write_key(const std::filesystem::path& file, EVP_PKEY* key) {
  write_pem(file, [key](std::FILE* out) {
    return PEM_write_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

}  // namespace

throwaway_pki make_throwaway_pki(const std::filesystem::path& dir,
                                 const std::string& server_names) {
  throwaway_pki pki{dir / "ca.pem", dir / "server.pem", dir / "server.key", dir / "other-ca.pem",
                    dir / "other-ca.key"};
  const key_ptr ca_key = new_key();
  const cert_ptr ca = new_cert(ca_key.get(), "numsequence test CA", 1, nullptr, ca_key.get(), true);
  const key_ptr server_key = new_key();
  const cert_ptr server = new_cert(server_key.get(), "numsequence test server", 2, ca.get(),
                                   ca_key.get(), false, server_names);
  const key_ptr other_key = new_key();
  const cert_ptr other =
      new_cert(other_key.get(), "unrelated test CA", 3, nullptr, other_key.get(), true);
  write_cert(pki.ca, ca.get());
  write_cert(pki.server_cert, server.get());
  write_key(pki.server_key, server_key.get());
  write_cert(pki.other_ca, other.get());
  write_key(pki.other_key, other_key.get());
  return pki;
}

void tls_trust::deleter::operator()(ssl_ctx_st* ctx) const noexcept {
  SSL_CTX_free(ctx);
}

tls_trust::tls_trust(const std::filesystem::path& ca) : ctx_(SSL_CTX_new(TLS_client_method())) {
  if (!ctx_)
    fail("SSL_CTX_new");
  SSL_CTX_set_min_proto_version(ctx_.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx_.get(), ca.c_str(), nullptr) != 1)
    fail("loading " + ca.string());
  X509_VERIFY_PARAM_set1_ip_asc(SSL_CTX_get0_param(ctx_.get()), "127.0.0.1");
}

}  // namespace numsequence::integration
