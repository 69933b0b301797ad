#pragma once

#include "crypto/primitives.hpp"

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace sealscope::e2ee::relay {

using crypto::Bytes;
using crypto::ByteView;
using crypto::Key32;

/// A storage failure (control plane: the relay logs it and drops the connection).
class StoreError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A registered account: its transport key and its published X3DH keys.
struct Account {
    std::string user;
    Key32 noise_static{};
    Key32 identity{};
    std::uint32_t signed_prekey_id = 0;
    Key32 signed_prekey{};
    Bytes signature;
};

/// A ciphertext envelope waiting for its recipient.
struct Envelope {
    std::int64_t id = 0;
    std::string recipient;
    std::optional<std::string> sender;  ///< empty for sealed-sender envelopes
    Bytes body;
};

/// SQLite-backed accounts, prekey directory and envelope queue (WAL, synchronous=FULL).
class Store {
public:
    /// Open or create the database at `path`.
    explicit Store(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    enum class Created { ok, name_taken, full };
    /// Insert (or, with the same transport key, update) an account: name_taken if the name exists with a
    /// different transport key, full if it is new and `max_accounts` accounts exist.
    Created create_account(const Account& a, std::size_t max_accounts);
    /// Look up an account.
    std::optional<Account> account(const std::string& user);
    /// Replace the signed prekey.
    void set_signed_prekey(const std::string& user, std::uint32_t id, const Key32& spk, ByteView sig);
    /// Publish one-time prekeys.
    void add_one_time_prekeys(const std::string& user, const std::vector<std::pair<std::uint32_t, Key32>>& keys);
    /// Hand out (and delete) one one-time prekey, if any remain.
    std::optional<std::pair<std::uint32_t, Key32>> take_one_time_prekey(const std::string& user);
    /// Remaining one-time prekeys.
    std::size_t one_time_prekey_count(const std::string& user);
    /// Durably store an envelope; returns its id once committed to disk.
    std::int64_t store_envelope(const std::string& recipient, const std::optional<std::string>& sender, ByteView body);
    /// Envelopes waiting for `recipient`, oldest first.
    std::vector<Envelope> pending(const std::string& recipient, std::size_t limit = 100000);
    /// Delete an envelope after the recipient's ack; false if it is not theirs or gone.
    bool delete_envelope(const std::string& recipient, std::int64_t id);
    /// Envelopes waiting for `recipient`.
    std::size_t pending_count(const std::string& recipient);
    /// Record blob `id` of `bytes` for `user` if the bytes recorded for that user stay within `max_bytes`;
    /// false, and nothing recorded, otherwise.
    bool reserve_blob(const std::string& id, const std::string& user, std::uint64_t bytes, std::uint64_t max_bytes);
    /// Forget blob `id` (its upload failed, or it expired).
    void remove_blob(const std::string& id);
    /// Bytes of the blobs recorded for `user`.
    std::uint64_t blob_bytes(const std::string& user);
    /// Envelopes waiting in total.
    std::size_t envelope_count();

private:
    void exec(const char* sql);
    std::uint64_t blob_bytes_locked(const std::string& user);  // blob_bytes() with mutex_ held
    sqlite3* db_ = nullptr;
    std::mutex mutex_;
};

} // namespace sealscope::e2ee::relay
