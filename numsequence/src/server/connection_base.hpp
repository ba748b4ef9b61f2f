#pragma once
// Internal: what the server knows of any of its connections, whatever the protocol.

#include <asio/any_io_executor.hpp>
#include <memory>
#include <string_view>

namespace numsequence::detail {

/// A connection the server holds in its set: it can be asked to close, gently (a reply in
/// progress finishes: session timer, takeover, shutdown) or at once (shutdown's grace is
/// over). Both must be called on the connection's executor.
class connection_base : public std::enable_shared_from_this<connection_base> {
 public:
  virtual ~connection_base() = default;
  virtual void close_soon(std::string_view why) = 0;
  virtual void abort() = 0;
  virtual asio::any_io_executor executor() = 0;
};

}  // namespace numsequence::detail
