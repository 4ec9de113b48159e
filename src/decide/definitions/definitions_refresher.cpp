#include "decide/definitions/definitions_refresher.hpp"

#include "decide/definitions/snapshot.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <cstdio>
#include <exception>
#include <memory>
#include <type_traits>

namespace flag_eval::decide {
namespace {

namespace asio = boost::asio;

constexpr const char* kVersionQuery = "SELECT flag_eval.definitions_version()";
constexpr const char* kDefinitionsQuery = "SELECT flag_eval.service_definitions()::text";

// Runs a copy of job() on the worker thread; the awaiting coroutine resumes on its own executor
// (the loop). Deliberately not a coroutine taking `job` by value: GCC 12.2 destroys a lambda or
// aggregate passed by value to a coroutine once too often (its captured shared_ptrs with it).
template <class Job>
asio::awaitable<std::invoke_result_t<Job&>> on_worker(asio::thread_pool& worker, const Job& job) {
    using Result = std::invoke_result_t<Job&>;
    return asio::co_spawn(
        worker.get_executor(), [job]() mutable -> asio::awaitable<Result> { co_return job(); },
        asio::use_awaitable);
}

std::optional<std::int64_t> parse_version(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\n')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.remove_suffix(1);
    std::int64_t version = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return version;
}

}  // namespace

DefinitionsRefresher::DefinitionsRefresher(asio::any_io_executor loop, DefinitionsCache& cache,
                                           QueryText query, RefresherOptions options)
    : cache_(cache),
      query_(std::move(query)),
      options_(std::move(options)),
      timer_(std::move(loop)) {}

DefinitionsRefresher::~DefinitionsRefresher() {
    worker_.stop();
    worker_.join();
}

void DefinitionsRefresher::log(const std::string& line) const {
    if (options_.log)
        options_.log(line);
    else
        std::fprintf(stderr, "flag-decide: %s\n", line.c_str());
}

void DefinitionsRefresher::report(const ApplyReport& report, std::string_view source) {
    stats_.team_errors += report.team_errors.size();
    log("definitions version " + std::to_string(report.version) + " loaded from " +
        std::string(source) + ": " + std::to_string(report.teams) + " teams (" +
        std::to_string(report.teams_compiled) + " compiled), " +
        std::to_string(report.team_errors.size()) + " with errors");
    for (const auto& e : report.team_errors)
        log(e.message +
            (e.kept_previous ? " (still serving its previous definitions)" : " (not served)"));
}

bool DefinitionsRefresher::restore_from_snapshot() {
    if (options_.snapshot_path.empty()) return false;
    const SnapshotRead read = read_snapshot(options_.snapshot_path);
    if (!read.present) {
        log("no definitions snapshot at " + options_.snapshot_path.string());
        return false;
    }
    if (!read.text) {
        log("ignoring the definitions snapshot: " + read.error);
        return false;
    }
    const PreparedDefinitions prepared = prepare_definitions(*read.text, cache_.current());
    if (!prepared.report.ok) {
        log("ignoring the definitions snapshot " + options_.snapshot_path.string() + ": " +
            prepared.report.error);
        return false;
    }
    if (cache_.loaded() && prepared.report.version <= cache_.version())
        return true;  // already newer
    cache_.install(prepared);
    // Current when the snapshot was written, at least: that is when they were applied.
    std::error_code error;
    const auto written = std::filesystem::last_write_time(options_.snapshot_path, error);
    if (!error) cache_.freshness().confirm(std::chrono::file_clock::to_sys(written));
    report(prepared.report, "snapshot " + options_.snapshot_path.string());
    return true;
}

asio::awaitable<bool> DefinitionsRefresher::refresh_once() {
    bool current = false;
    std::string failure;
    try {
        current = co_await poll();
    } catch (const std::exception& e) {
        failure = e.what();
    } catch (...) {
        failure = "unknown exception";
    }
    if (!failure.empty()) {
        ++stats_.poll_failures;
        if (!failing_) log("definitions refresh failed: " + failure);
        failing_ = true;
    }
    co_return current;
}

// One poll; failures that are expected (a database down) are counted and logged once until the
// next success, so that an outage does not write a line per interval.
asio::awaitable<bool> DefinitionsRefresher::poll() {
    ++stats_.polls;
    bool current = false;
    std::string failure;

    // What the version read shows was the database's state at this moment, or earlier.
    const auto asked_at = std::chrono::system_clock::now();
    const std::optional<TextRead> version_read = co_await query_(kVersionQuery);
    const std::optional<std::string> version_text =
        version_read ? std::optional<std::string>(version_read->text) : std::nullopt;
    const std::optional<std::int64_t> reported =
        version_text ? parse_version(*version_text) : std::nullopt;
    const auto as_of = asked_at - (version_read ? version_read->staleness
                                                : std::chrono::system_clock::duration::zero());
    if (!version_text) {
        failure = "no database answered definitions_version()";
    } else if (!reported) {
        failure = "definitions_version() answered \"" + version_text->substr(0, 40) + "\"";
    } else if (cache_.loaded() && *reported <= cache_.version()) {
        if (*reported < cache_.version()) {
            // A replica behind the one the cache came from: never go back in time.
            ++stats_.lagging_versions;
            if (*reported != last_lagging_logged_)
                log("ignoring definitions version " + std::to_string(*reported) +
                    ", older than the cached " + std::to_string(cache_.version()) +
                    " (a lagging replica)");
            last_lagging_logged_ = *reported;
        } else {
            cache_.freshness().confirm(as_of);
        }
        current = true;
    } else {
        std::optional<TextRead> fetched = co_await query_(kDefinitionsQuery);
        if (fetched) {
            const auto text = std::make_shared<const std::string>(std::move(fetched->text));
            const std::shared_ptr<const DefinitionsGeneration> previous = cache_.current();
            const auto compile = [text, previous] { return prepare_definitions(*text, previous); };
            const PreparedDefinitions prepared = co_await on_worker(worker_, compile);
            if (!prepared.report.ok) {
                failure = "refused definitions: " + prepared.report.error;
            } else if (cache_.loaded() && prepared.report.version <= cache_.version()) {
                // The fetch reached another node than the version query, one further behind.
                if (prepared.report.version < cache_.version()) ++stats_.lagging_versions;
                current = cache_.version() >= *reported;
                if (!current)
                    failure = "the definitions fetched were older than the version reported";
                else if (cache_.version() == *reported)
                    cache_.freshness().confirm(as_of);
            } else {
                cache_.install(prepared);
                ++stats_.applied;
                report(prepared.report, "the database");
                current = true;
                if (prepared.report.version >= *reported) cache_.freshness().confirm(as_of);
                if (!options_.snapshot_path.empty()) {
                    const auto write = [path = options_.snapshot_path, text] {
                        return write_snapshot(path, *text);
                    };
                    const std::string error = co_await on_worker(worker_, write);
                    if (error.empty()) {
                        ++stats_.snapshot_writes;
                    } else {
                        ++stats_.snapshot_write_failures;
                        log("cannot write the definitions snapshot: " + error);
                    }
                }
            }
        } else {
            failure = "no database answered service_definitions()";
        }
    }

    if (current) {
        if (failing_)
            log("definitions refresh works again (version " + std::to_string(cache_.version()) +
                ")");
        failing_ = false;
        stats_.last_success = std::chrono::system_clock::now();
    } else {
        ++stats_.poll_failures;
        if (!failing_) log("definitions refresh failed: " + failure);
        failing_ = true;
    }
    co_return current;
}

asio::awaitable<void> DefinitionsRefresher::run() {
    while (!stopped_) {
        co_await refresh_once();
        if (stopped_) break;
        timer_.expires_after(options_.interval);
        boost::system::error_code ec;  // operation_aborted when stop() cancels the wait
        co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
}

void DefinitionsRefresher::stop() {
    stopped_ = true;
    timer_.cancel();
}

}  // namespace flag_eval::decide
