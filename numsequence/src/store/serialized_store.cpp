#include "numsequence/store/serialized_store.hpp"

#include <asio/co_spawn.hpp>
#include <asio/use_awaitable.hpp>

namespace numsequence {

asio::awaitable<store_status> serialized_store::async_create(const session_record& record,
                                                             lease_id lease) {
  co_return co_await asio::co_spawn(strand_, inner_.async_create(record, lease),
                                    asio::use_awaitable);
}

asio::awaitable<attach_result> serialized_store::async_attach(const client_id& id, lease_id lease) {
  co_return co_await asio::co_spawn(strand_, inner_.async_attach(id, lease), asio::use_awaitable);
}

asio::awaitable<void> serialized_store::async_park(const session_record& record, lease_id lease) {
  co_await asio::co_spawn(strand_, inner_.async_park(record, lease), asio::use_awaitable);
}

asio::awaitable<store_status> serialized_store::async_complete(const client_id& id, lease_id lease,
                                                               const md5_digest& checksum) {
  co_return co_await asio::co_spawn(strand_, inner_.async_complete(id, lease, checksum),
                                    asio::use_awaitable);
}

asio::awaitable<store_status> serialized_store::async_keep_alive(const session_record& record,
                                                                 lease_id lease) {
  co_return co_await asio::co_spawn(strand_, inner_.async_keep_alive(record, lease),
                                    asio::use_awaitable);
}

}  // namespace numsequence
