// flag-decide's configuration: a JSON file, overridden by command-line flags.
//
// The file (--config FILE) is one JSON object; every key is optional except that, after flags
// are applied, at least one route must exist. Unknown keys are errors (a typo must not pass
// silently). Comments (// and /* */) and trailing commas are accepted.
//
//   {
//     "listen_address": "127.0.0.1",        // IPv4 or IPv6 address to bind
//     "listen_port": 8000,                  // 0 = any free port
//     "routes": [                           // tried in this order
//       {"name": "pgbouncer", "role": "pooler",  "conninfo": "host=127.0.0.1 port=6432 dbname=app"},
//       {"name": "replica1",  "role": "replica", "conninfo": "host=10.0.0.2 dbname=app"},
//       {"name": "primary",   "role": "primary", "conninfo": "host=10.0.0.1 dbname=app"}
//     ],
//     "request_deadline_ms": 50,            // database work allowed per request (> 0)
//     "refresh_interval_ms": 1000,          // definitions refresh period (> 0)
//     "snapshot_path": "/var/lib/flag-decide/definitions.json",   // "" = no snapshot
//     "max_replica_lag_ms": 2000,           // replicas lagging more are not used for person data
//     "max_body_bytes": 1048576,            // larger requests get 413 (> 0)
//     "max_connections": 10000,             // further connections are closed on accept (> 0)
//     "probe_interval_ms": 250,             // background probe of failed routes (> 0)
//     "pool_size": 4                        // connections per route (> 0)
//   }
//
// Roles: "pooler" (PgBouncer in front of replicas), "replica", "primary". Route names are unique
// and non-empty; conninfo is a libpq connection string, checked by libpq when loaded.
//
// Flags (each replaces the file's value; --route, when given at all, replaces all file routes):
//   --config FILE  --listen HOST:PORT ([v6addr]:PORT for IPv6)  --route NAME=ROLE=CONNINFO
//   --deadline-ms N  --refresh-ms N  --snapshot PATH  --max-lag-ms N  --max-body-bytes N
//   --max-connections N  --pool-size N  --probe-ms N  --help
// A flag's value follows it as the next argument or after '=' (--deadline-ms=40).
#pragma once

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

struct RouteConfigEntry {
    std::string name;
    std::string role;  // pooler | replica | primary
    std::string conninfo;
};

struct Config {
    std::string listen_address = "127.0.0.1";
    unsigned short listen_port = 8000;
    std::vector<RouteConfigEntry> routes;            // priority order
    std::chrono::milliseconds request_deadline{50};  // database work per request
    std::chrono::milliseconds refresh_interval{1000};
    std::string snapshot_path;                       // empty = no snapshot
    std::chrono::milliseconds max_replica_lag{2000};
    std::size_t max_body_bytes = 1 << 20;
    std::size_t max_connections = 10000;
    std::chrono::milliseconds probe_interval{250};
    std::size_t pool_size = 4;

    // --help was given: the caller prints config_usage() and exits; nothing else was checked.
    bool help_requested = false;
};

// Reads --config (if given), applies the other flags over it, validates the result.
// Throws ConfigError.
Config load_config(int argc, char** argv);

// The pieces of load_config, for callers and tests that have text rather than files.
// `origin` names the text in error messages (a file name).
void apply_config_json(Config& config, std::string_view json_text, std::string_view origin);
void validate_config(const Config& config);

// The --help text.
std::string config_usage();

}  // namespace flag_eval::decide
