#include "relay/store.hpp"

#include <sqlite3.h>

#include <cstring>

namespace sealscope::e2ee::relay {

namespace {

/// RAII prepared statement with typed binders.
class Stmt {
public:
    Stmt(sqlite3* db, const char* sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK)
            throw StoreError(std::string("sqlite prepare: ") + sqlite3_errmsg(db));
    }
    ~Stmt() { sqlite3_finalize(s_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt& text(int i, const std::string& v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& blob(int i, ByteView v) {
        sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    Stmt& integer(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    Stmt& null(int i) {
        sqlite3_bind_null(s_, i);
        return *this;
    }
    /// True while a row is available.
    bool step() {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        throw StoreError(std::string("sqlite step: ") + sqlite3_errmsg(db_));
    }
    std::string col_text(int i) const {
        const auto* p = sqlite3_column_text(s_, i);
        return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
    }
    bool col_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }
    Bytes col_blob(int i) const {
        const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, i));
        return p ? Bytes(p, p + sqlite3_column_bytes(s_, i)) : Bytes();
    }
    std::int64_t col_int(int i) const { return sqlite3_column_int64(s_, i); }

private:
    sqlite3* db_;
    sqlite3_stmt* s_ = nullptr;
};

} // namespace

Store::Store(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw StoreError("cannot open database " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    // The first statements are where a file that is not a database shows: name it (the destructor does not
    // run for a constructor that throws, hence the close).
    try {
        // WAL + synchronous=FULL: a committed envelope is on disk before the sender is told "stored".
        exec("PRAGMA journal_mode=WAL");
        exec("PRAGMA synchronous=FULL");
        exec("PRAGMA foreign_keys=ON");
        exec("CREATE TABLE IF NOT EXISTS accounts(user TEXT PRIMARY KEY, noise_static BLOB NOT NULL,"
             " identity BLOB NOT NULL, spk_id INTEGER NOT NULL, spk BLOB NOT NULL, spk_sig BLOB NOT NULL)");
        exec("CREATE TABLE IF NOT EXISTS one_time_prekeys(user TEXT NOT NULL, id INTEGER NOT NULL,"
             " pub BLOB NOT NULL, PRIMARY KEY(user, id))");
        exec("CREATE TABLE IF NOT EXISTS envelopes(id INTEGER PRIMARY KEY AUTOINCREMENT, recipient TEXT NOT NULL,"
             " sender TEXT, body BLOB NOT NULL, created INTEGER NOT NULL DEFAULT (strftime('%s','now')))");
        exec("CREATE INDEX IF NOT EXISTS envelopes_recipient ON envelopes(recipient, id)");
        // Blob owners and sizes, for max_blob_storage_per_user (the files are in blobs/).
        exec("CREATE TABLE IF NOT EXISTS blobs(id TEXT PRIMARY KEY, user TEXT NOT NULL, bytes INTEGER NOT NULL)");
        exec("CREATE INDEX IF NOT EXISTS blobs_user ON blobs(user)");
    } catch (const StoreError& e) {
        sqlite3_close(db_);
        throw StoreError("database " + path + ": " + e.what());
    }
}

Store::~Store() { sqlite3_close(db_); }

void Store::exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err ? err : "?";
        sqlite3_free(err);
        throw StoreError(std::string("sqlite: ") + msg);
    }
}

Store::Created Store::create_account(const Account& a, std::size_t max_accounts) {
    std::lock_guard lock(mutex_);
    {
        Stmt q(db_, "SELECT noise_static FROM accounts WHERE user=?");
        q.text(1, a.user);
        if (q.step()) {
            const Bytes existing = q.col_blob(0);
            if (existing != Bytes(a.noise_static.begin(), a.noise_static.end())) return Created::name_taken;
        } else {
            Stmt n(db_, "SELECT COUNT(*) FROM accounts");
            n.step();
            if (static_cast<std::size_t>(n.col_int(0)) >= max_accounts) return Created::full;
        }
    }
    Stmt ins(db_, "INSERT OR REPLACE INTO accounts(user, noise_static, identity, spk_id, spk, spk_sig)"
                  " VALUES(?,?,?,?,?,?)");
    ins.text(1, a.user).blob(2, a.noise_static).blob(3, a.identity).integer(4, a.signed_prekey_id);
    ins.blob(5, a.signed_prekey).blob(6, a.signature);
    ins.step();
    return Created::ok;
}

std::optional<Account> Store::account(const std::string& user) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "SELECT noise_static, identity, spk_id, spk, spk_sig FROM accounts WHERE user=?");
    q.text(1, user);
    if (!q.step()) return std::nullopt;
    Account a;
    a.user = user;
    a.noise_static = crypto::to_key(q.col_blob(0));
    a.identity = crypto::to_key(q.col_blob(1));
    a.signed_prekey_id = static_cast<std::uint32_t>(q.col_int(2));
    a.signed_prekey = crypto::to_key(q.col_blob(3));
    a.signature = q.col_blob(4);
    return a;
}

void Store::set_signed_prekey(const std::string& user, std::uint32_t id, const Key32& spk, ByteView sig) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "UPDATE accounts SET spk_id=?, spk=?, spk_sig=? WHERE user=?");
    q.integer(1, id).blob(2, spk).blob(3, sig).text(4, user);
    q.step();
}

void Store::add_one_time_prekeys(const std::string& user, const std::vector<std::pair<std::uint32_t, Key32>>& keys) {
    std::lock_guard lock(mutex_);
    exec("BEGIN IMMEDIATE");
    try {
        for (const auto& [id, pub] : keys) {
            Stmt q(db_, "INSERT OR REPLACE INTO one_time_prekeys(user, id, pub) VALUES(?,?,?)");
            q.text(1, user).integer(2, id).blob(3, pub);
            q.step();
        }
        exec("COMMIT");
    } catch (...) {
        exec("ROLLBACK");
        throw;
    }
}

std::optional<std::pair<std::uint32_t, Key32>> Store::take_one_time_prekey(const std::string& user) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "SELECT id, pub FROM one_time_prekeys WHERE user=? ORDER BY id LIMIT 1");
    q.text(1, user);
    if (!q.step()) return std::nullopt;
    const auto id = q.col_int(0);
    const Key32 pub = crypto::to_key(q.col_blob(1));
    Stmt d(db_, "DELETE FROM one_time_prekeys WHERE user=? AND id=?");
    d.text(1, user).integer(2, id);
    d.step();
    return std::make_pair(static_cast<std::uint32_t>(id), pub);
}

std::size_t Store::one_time_prekey_count(const std::string& user) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "SELECT COUNT(*) FROM one_time_prekeys WHERE user=?");
    q.text(1, user);
    q.step();
    return static_cast<std::size_t>(q.col_int(0));
}

std::int64_t Store::store_envelope(const std::string& recipient, const std::optional<std::string>& sender,
                                   ByteView body) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "INSERT INTO envelopes(recipient, sender, body) VALUES(?,?,?)");
    q.text(1, recipient);
    if (sender) q.text(2, *sender);
    else q.null(2);
    q.blob(3, body);
    q.step();
    return sqlite3_last_insert_rowid(db_);
}

std::vector<Envelope> Store::pending(const std::string& recipient, std::size_t limit) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "SELECT id, sender, body FROM envelopes WHERE recipient=? ORDER BY id LIMIT ?");
    q.text(1, recipient).integer(2, static_cast<std::int64_t>(limit));
    std::vector<Envelope> out;
    while (q.step()) {
        Envelope e;
        e.id = q.col_int(0);
        e.recipient = recipient;
        if (!q.col_null(1)) e.sender = q.col_text(1);
        e.body = q.col_blob(2);
        out.push_back(std::move(e));
    }
    return out;
}

bool Store::delete_envelope(const std::string& recipient, std::int64_t id) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "DELETE FROM envelopes WHERE id=? AND recipient=?");
    q.integer(1, id).text(2, recipient);
    q.step();
    return sqlite3_changes(db_) > 0;
}

std::size_t Store::pending_count(const std::string& recipient) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "SELECT COUNT(*) FROM envelopes WHERE recipient=?");
    q.text(1, recipient);
    q.step();
    return static_cast<std::size_t>(q.col_int(0));
}

bool Store::reserve_blob(const std::string& id, const std::string& user, std::uint64_t bytes,
                         std::uint64_t max_bytes) {
    std::lock_guard lock(mutex_);
    const std::uint64_t used = blob_bytes_locked(user);
    if (used > max_bytes || bytes > max_bytes - used) return false;
    Stmt ins(db_, "INSERT INTO blobs(id, user, bytes) VALUES(?,?,?)");
    ins.text(1, id).text(2, user).integer(3, static_cast<std::int64_t>(bytes));
    ins.step();
    return true;
}

void Store::remove_blob(const std::string& id) {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "DELETE FROM blobs WHERE id=?");
    q.text(1, id);
    q.step();
}

std::uint64_t Store::blob_bytes(const std::string& user) {
    std::lock_guard lock(mutex_);
    return blob_bytes_locked(user);
}

std::uint64_t Store::blob_bytes_locked(const std::string& user) {
    Stmt q(db_, "SELECT COALESCE(SUM(bytes), 0) FROM blobs WHERE user=?");
    q.text(1, user);
    q.step();
    return static_cast<std::uint64_t>(q.col_int(0));
}

std::size_t Store::envelope_count() {
    std::lock_guard lock(mutex_);
    Stmt q(db_, "SELECT COUNT(*) FROM envelopes");
    q.step();
    return static_cast<std::size_t>(q.col_int(0));
}

} // namespace sealscope::e2ee::relay
