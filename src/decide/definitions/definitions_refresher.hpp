// Keeps the definitions cache current: every refresh interval it asks a database for
// flag_eval.definitions_version() (one cheap, parameterless statement: fine through PgBouncer in
// transaction pooling, on a hot standby), and only when that differs from the cache's (is greater,
// or the cache is empty) fetches flag_eval.service_definitions(), applies it and writes the
// snapshot file. A version lower than the cache's comes from a lagging replica and is ignored.
//
// The database is reached only through the injected QueryText, so routes, breakers and
// deadlines stay the caller's business. Compiling the definitions and writing the snapshot run on
// a worker thread of the refresher's own, never on the event loop; the cache is only touched on
// the event loop. A poll that leaves the cache current confirms its freshness (the version
// read's time, less the answering server's lag); a restored snapshot counts from its file time.
#pragma once
#include "decide/config.hpp"
#include "decide/definitions/definitions_cache.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace flag_eval::decide {

// The first column of the first row as text, and how far the server that answered was behind
// the primary (zero on the primary, or when unknown).
struct TextRead {
    std::string text;
    std::chrono::system_clock::duration staleness{};
};

// Runs `sql` somewhere reachable; nullopt on any failure (no route, timeout, SQL error, NULL).
using QueryText = std::function<boost::asio::awaitable<std::optional<TextRead>>(std::string sql)>;

// The interval and the snapshot file are settings, taken from the configuration.
struct RefresherOptions {
    explicit RefresherOptions(const Config& config)
        : interval(config.refresh_interval), snapshot_path(config.snapshot_path) {}

    std::chrono::milliseconds interval;
    std::filesystem::path snapshot_path;        // empty: no snapshot file
    std::function<void(std::string_view)> log;  // one line per event; default: stderr
};

// Counters for /metrics and tests (read on the event loop).
struct RefresherStats {
    std::uint64_t polls = 0;             // version queries attempted
    std::uint64_t poll_failures = 0;     // version query or fetch failed, or a refused document
    std::uint64_t applied = 0;           // new versions applied
    std::uint64_t lagging_versions = 0;  // a version lower than the cache's, ignored
    std::uint64_t team_errors = 0;       // teams that did not compile, over all applies
    std::uint64_t snapshot_writes = 0;
    std::uint64_t snapshot_write_failures = 0;
    std::optional<std::chrono::system_clock::time_point>
        last_success;  // last poll that left the cache current
};

class DefinitionsRefresher {
public:
    DefinitionsRefresher(boost::asio::any_io_executor loop, DefinitionsCache& cache,
                         QueryText query, RefresherOptions options);
    ~DefinitionsRefresher();
    DefinitionsRefresher(const DefinitionsRefresher&) = delete;
    DefinitionsRefresher& operator=(const DefinitionsRefresher&) = delete;

    // At start, before the event loop serves: loads the snapshot file into the empty cache.
    // True when definitions were loaded; a missing, corrupt or unusable snapshot is logged and
    // ignored. Blocking file I/O.
    bool restore_from_snapshot();

    // One poll: true when the cache holds the version the database reported (or a newer one)
    // afterwards, false when the database could not be read or its document was refused.
    // Never throws.
    boost::asio::awaitable<bool> refresh_once();

    // refresh_once() every interval until stop(). Never throws; co_spawn it detached.
    boost::asio::awaitable<void> run();
    void stop();

    const RefresherStats& stats() const { return stats_; }

private:
    boost::asio::awaitable<bool> poll();
    void log(const std::string& line) const;
    void report(const ApplyReport& report, std::string_view source);

    DefinitionsCache& cache_;
    QueryText query_;
    RefresherOptions options_;
    boost::asio::steady_timer timer_;
    boost::asio::thread_pool worker_{1};
    bool stopped_ = false;
    bool failing_ = false;  // the last poll failed: log the next failure only after a success
    std::int64_t last_lagging_logged_ = 0;  // log each lagging version once
    RefresherStats stats_;
};

}  // namespace flag_eval::decide
