// flag-decide's configuration: a JSON file, overridden by command-line flags.
//
// Each setting (its file key, flag, default, range and help) is declared once, in the table of
// settings.cpp; `flag-decide --help` lists them all and deploy/flag-decide.example.json gives
// every key. The file (--config FILE) is one JSON object; every key is optional except that,
// after flags are applied, at least one route must exist. Unknown keys are errors (a typo must
// not pass silently). Comments (// and /* */) and trailing commas are accepted. A flag's value
// follows it as the next argument or after '=' (--deadline-ms=40).
#pragma once

#include "decide/database/route_config.hpp"

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

// A configuration that cannot be used; what() names the file key or flag at fault.
class ConfigError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// The values of the settings; what each means, and its default, is in the settings table.
struct Config {
    Config();  // every setting at its default

    std::string listen_address;
    unsigned short listen_port;
    std::vector<RouteConfig> routes;  // priority order
    std::chrono::milliseconds request_deadline;
    std::chrono::milliseconds hedge_after;
    std::chrono::milliseconds refresh_interval;
    std::chrono::milliseconds definitions_stale_after;
    std::string snapshot_path;  // empty = no snapshot
    std::chrono::milliseconds max_replica_lag;
    std::size_t max_body_bytes;
    std::size_t max_connections;
    std::chrono::milliseconds probe_interval;
    std::size_t pool_size;
    std::size_t threads;  // event-loop threads; 0: one per CPU the process may run on
    std::vector<std::string> cors_allowed_origins;  // "*" for any; empty: none
    // Requests a second and burst per public token and per client address; a rate of 0 is no
    // limit, a burst of 0 ten seconds of the rate.
    std::size_t rate_limit_per_token;
    std::size_t rate_limit_per_token_burst;
    std::size_t rate_limit_per_address;
    std::size_t rate_limit_per_address_burst;
    std::vector<std::string> trusted_proxies;  // addresses or networks whose X-Forwarded-For counts

    // --help was given: the caller prints config_usage() and exits; nothing else was checked.
    bool help_requested = false;

    bool operator==(const Config&) const = default;
};

// Reads --config (if given), applies the other flags over it, validates the result.
// Throws ConfigError.
Config load_config(int argc, char** argv);

// The pieces of load_config, for callers and tests that have text rather than files.
// `origin` names the text in error messages (a file name).
void apply_config_json(Config& config, std::string_view json_text, std::string_view origin);
void validate_config(const Config& config);

// The --help text: every setting of the table with its flag, file key(s) and default.
std::string config_usage();

}  // namespace flag_eval::decide
