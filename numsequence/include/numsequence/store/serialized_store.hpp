#pragma once
/// @brief A session_store adapter that runs every operation of another store on one strand.

#include <asio/io_context.hpp>
#include <asio/strand.hpp>

#include "numsequence/session/session_store.hpp"

namespace numsequence {

/// @brief Makes a store that must be used from one executor (the Redis store: hiredis is not
/// thread-safe) usable from connections on any thread of a shared io_context: each
/// operation is spawned on the strand and awaited. The inner store must outlive it.
class serialized_store final : public session_store {
 public:
  using strand = asio::strand<asio::io_context::executor_type>;
  serialized_store(strand s, session_store& inner) : strand_(s), inner_(inner) {}

  asio::awaitable<store_status> async_create(const session_record& record, lease_id lease) override;
  asio::awaitable<attach_result> async_attach(const client_id& id, lease_id lease) override;
  asio::awaitable<void> async_park(const session_record& record, lease_id lease) override;
  asio::awaitable<store_status> async_complete(const client_id& id, lease_id lease,
                                               const md5_digest& checksum) override;
  std::optional<std::chrono::steady_clock::duration> keep_alive_interval() const override {
    return inner_.keep_alive_interval();
  }
  asio::awaitable<store_status> async_keep_alive(const session_record& record,
                                                 lease_id lease) override;

 private:
  strand strand_;
  session_store& inner_;
};

}  // namespace numsequence
