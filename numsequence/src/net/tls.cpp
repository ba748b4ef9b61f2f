#include "numsequence/net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <asio/ip/address.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <fstream>
#include <system_error>

namespace numsequence {
namespace {

constexpr long common_options = asio::ssl::context::default_workarounds |
                                asio::ssl::context::no_sslv2 | asio::ssl::context::no_sslv3 |
                                asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1 |
                                asio::ssl::context::single_dh_use;

/// OpenSSL's reasons are precise ("no start line", "key values mismatch"); keep them.
std::string reason(const std::system_error& e) {
  return e.code().message();
}

void require_readable(const std::filesystem::path& file, const char* what) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    throw tls_error(std::string("cannot read the ") + what + " file '" + file.string() + "'");
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_server_tls_context(
    const std::filesystem::path& cert_chain, const std::filesystem::path& private_key) {
  require_readable(cert_chain, "TLS certificate");
  require_readable(private_key, "TLS key");
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  ctx->set_options(common_options);
  try {
    ctx->use_certificate_chain_file(cert_chain.string());
  } catch (const std::system_error& e) {
    throw tls_error("the TLS certificate file '" + cert_chain.string() +
                    "' holds no usable PEM certificate: " + reason(e));
  }
  try {
    ctx->use_private_key_file(private_key.string(), asio::ssl::context::pem);
  } catch (const std::system_error& e) {
    // OpenSSL checks the key against the certificate as it loads it.
    if (ERR_GET_REASON(static_cast<unsigned long>(e.code().value())) ==
        X509_R_KEY_VALUES_MISMATCH) {
      throw tls_error("the TLS key file '" + private_key.string() +
                      "' does not match the certificate in '" + cert_chain.string() + "'");
    }
    throw tls_error("the TLS key file '" + private_key.string() +
                    "' holds no usable PEM private key: " + reason(e));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    throw tls_error("the TLS key file '" + private_key.string() +
                    "' does not match the certificate in '" + cert_chain.string() + "'");
  }
  return ctx;
}

std::shared_ptr<asio::ssl::context> make_client_tls_context(
    const std::optional<std::filesystem::path>& ca_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  ctx->set_options(common_options);
  ctx->set_verify_mode(asio::ssl::verify_peer);
  if (ca_file) {
    require_readable(*ca_file, "CA");
    try {
      ctx->load_verify_file(ca_file->string());
    } catch (const std::system_error& e) {
      throw tls_error("the CA file '" + ca_file->string() +
                      "' holds no usable PEM certificate: " + reason(e));
    }
  } else {
    try {
      ctx->set_default_verify_paths();
    } catch (const std::system_error& e) {
      throw tls_error("cannot load the system's trusted certificate authorities: " + reason(e));
    }
  }
  return ctx;
}

void expect_server_name(asio::ssl::stream<asio::ip::tcp::socket>& stream, const std::string& host) {
  std::error_code ec;
  asio::ip::make_address(host, ec);
  if (ec) {
    // A DNS name: ask for its certificate by name (servers hosting several names need it).
    // SSL_set_tlsext_host_name() is a macro with a C cast; this is what it expands to.
    SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host.c_str()));
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(host));
}

}  // namespace numsequence
