#pragma once
/// @file
/// @brief TLS for the tests: a throwaway certificate authority and server certificate
/// written to a directory, and the client-side trust that tcp_client uses to speak TLS.

#include <filesystem>
#include <memory>
#include <string>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, kept out of the tests' includes

namespace numsequence::integration {

/// @brief PEM files of a throwaway PKI: a CA, a server certificate it signed (for
/// 127.0.0.1 and localhost unless told otherwise), the server's key, and an unrelated CA that
/// trusts nothing here.
struct throwaway_pki {
  std::filesystem::path ca;
  std::filesystem::path server_cert;
  std::filesystem::path server_key;
  std::filesystem::path other_ca;
  std::filesystem::path other_key;  ///< the unrelated CA's key: does not match server_cert
};

/// @brief Generates fresh keys (P-256) and certificates valid from an hour ago for 30 days,
/// and writes them into `dir`. `server_names` is the server certificate's subjectAltName.
/// Throws std::runtime_error if OpenSSL fails.
throwaway_pki make_throwaway_pki(const std::filesystem::path& dir,
                                 const std::string& server_names = "IP:127.0.0.1,DNS:localhost");

/// @brief A TLS client context that trusts `ca` and checks that the server is 127.0.0.1.
class tls_trust {
 public:
  explicit tls_trust(const std::filesystem::path& ca);
  ssl_ctx_st* context() const noexcept { return ctx_.get(); }

 private:
  struct deleter {
    void operator()(ssl_ctx_st* ctx) const noexcept;
  };
  std::unique_ptr<ssl_ctx_st, deleter> ctx_;
};

}  // namespace numsequence::integration
