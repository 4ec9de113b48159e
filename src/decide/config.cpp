#include "decide/config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/parse_options.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <set>
#include <sstream>

namespace flag_eval::decide {

namespace {

constexpr std::array<std::string_view, 3> kRoles = {"pooler", "replica", "primary"};

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---- the JSON file ----

std::string line_and_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

boost::json::value parse_json(std::string_view text, std::string_view origin) {
    boost::json::parse_options options;
    options.allow_comments = true;
    options.allow_trailing_commas = true;
    boost::json::stream_parser parser({}, options);
    boost::system::error_code ec;
    const std::size_t consumed = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        throw ConfigError(std::string(origin) + ": invalid JSON at " +
                          line_and_column(text, consumed) + ": " + ec.message());
    }
    return parser.release();
}

class FileReader {
public:
    explicit FileReader(std::string_view origin) : origin_(origin) {}

    [[noreturn]] void fail(std::string_view key, std::string_view problem) const {
        throw ConfigError(std::string(origin_) + ": " + quoted(key) + " " + std::string(problem));
    }

    std::string string(const boost::json::value& v, std::string_view key) const {
        if (!v.is_string()) fail(key, "must be a string");
        return std::string(v.get_string());
    }

    std::uint64_t non_negative(const boost::json::value& v, std::string_view key,
                               std::uint64_t max = std::numeric_limits<std::int64_t>::max()) const {
        std::optional<std::uint64_t> n;
        if (v.is_uint64()) n = v.get_uint64();
        if (v.is_int64() && v.get_int64() >= 0) n = static_cast<std::uint64_t>(v.get_int64());
        if (!n || *n > max) {
            fail(key, "must be a whole number from 0 to " + std::to_string(max));
        }
        return *n;
    }

    std::chrono::milliseconds millis(const boost::json::value& v, std::string_view key) const {
        return std::chrono::milliseconds(static_cast<std::int64_t>(non_negative(v, key)));
    }

    RouteConfigEntry route(const boost::json::value& v, std::size_t index) const {
        const std::string where = "routes[" + std::to_string(index) + "]";
        if (!v.is_object()) fail(where, "must be an object {\"name\", \"role\", \"conninfo\"}");
        RouteConfigEntry entry;
        for (const auto& [key, value] : v.get_object()) {
            const std::string path = where + "." + std::string(key);
            if (key == "name") {
                entry.name = string(value, path);
            } else if (key == "role") {
                entry.role = string(value, path);
            } else if (key == "conninfo") {
                entry.conninfo = string(value, path);
            } else {
                fail(path, "is not a route key (name, role, conninfo)");
            }
        }
        for (std::string_view required : {"name", "role", "conninfo"}) {
            if (!v.get_object().contains(required)) {
                fail(where, "is missing \"" + std::string(required) + "\"");
            }
        }
        return entry;
    }

private:
    std::string_view origin_;
};

// ---- command-line flags ----

std::uint64_t flag_number(std::string_view flag, std::string_view text,
                          std::uint64_t max = std::numeric_limits<std::int64_t>::max()) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n > max) {
        throw ConfigError(std::string(flag) + ": " + quoted(text) + " is not a whole number from 0 to " +
                          std::to_string(max));
    }
    return n;
}

std::chrono::milliseconds flag_millis(std::string_view flag, std::string_view text) {
    return std::chrono::milliseconds(static_cast<std::int64_t>(flag_number(flag, text)));
}

// HOST:PORT, or [IPv6]:PORT.
void apply_listen(Config& config, std::string_view text) {
    const auto bad = [&] {
        return ConfigError("--listen: expected HOST:PORT (or [IPv6]:PORT), got " + quoted(text));
    };
    std::string_view host, port;
    if (text.starts_with('[')) {
        const auto close = text.find("]:");
        if (close == std::string_view::npos) throw bad();
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw bad();
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (host.empty() || port.empty()) throw bad();
    config.listen_address = std::string(host);
    config.listen_port = static_cast<unsigned short>(flag_number("--listen port", port, 65535));
}

RouteConfigEntry parse_route_flag(std::string_view text) {
    const auto first = text.find('=');
    const auto second = first == std::string_view::npos ? first : text.find('=', first + 1);
    if (second == std::string_view::npos) {
        throw ConfigError("--route: expected NAME=ROLE=CONNINFO, got " + quoted(text));
    }
    return RouteConfigEntry{std::string(text.substr(0, first)),
                            std::string(text.substr(first + 1, second - first - 1)),
                            std::string(text.substr(second + 1))};
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError("--config " + path + ": cannot read the file: " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError("--config " + path + ": cannot read the file");
    return std::move(text).str();
}

struct Flag {
    std::string_view name;
    std::optional<std::string_view> value;  // after '=' in the same argument
};

Flag split_flag(std::string_view arg) {
    const auto eq = arg.find('=');
    if (eq == std::string_view::npos) return {arg, std::nullopt};
    return {arg.substr(0, eq), arg.substr(eq + 1)};
}

constexpr std::array<std::string_view, 11> kValueFlags = {
    "--config",     "--listen",     "--route",          "--deadline-ms",
    "--refresh-ms", "--snapshot",   "--max-lag-ms",     "--max-body-bytes",
    "--pool-size",  "--probe-ms",   "--max-connections"};

}  // namespace

void apply_config_json(Config& config, std::string_view json_text, std::string_view origin) {
    const boost::json::value document = parse_json(json_text, origin);
    if (!document.is_object()) throw ConfigError(std::string(origin) + ": must hold a JSON object");
    const FileReader file(origin);
    for (const auto& [key, value] : document.get_object()) {
        if (key == "listen_address") {
            config.listen_address = file.string(value, key);
        } else if (key == "listen_port") {
            config.listen_port = static_cast<unsigned short>(file.non_negative(value, key, 65535));
        } else if (key == "routes") {
            if (!value.is_array()) file.fail(key, "must be an array of {\"name\", \"role\", \"conninfo\"}");
            config.routes.clear();
            for (std::size_t i = 0; i < value.get_array().size(); ++i) {
                config.routes.push_back(file.route(value.get_array()[i], i));
            }
        } else if (key == "request_deadline_ms") {
            config.request_deadline = file.millis(value, key);
        } else if (key == "refresh_interval_ms") {
            config.refresh_interval = file.millis(value, key);
        } else if (key == "snapshot_path") {
            config.snapshot_path = file.string(value, key);
        } else if (key == "max_replica_lag_ms") {
            config.max_replica_lag = file.millis(value, key);
        } else if (key == "max_body_bytes") {
            config.max_body_bytes = file.non_negative(value, key);
        } else if (key == "max_connections") {
            config.max_connections = file.non_negative(value, key);
        } else if (key == "probe_interval_ms") {
            config.probe_interval = file.millis(value, key);
        } else if (key == "pool_size") {
            config.pool_size = file.non_negative(value, key);
        } else {
            file.fail(key, "is not a configuration key (see the comment atop src/decide/config.hpp)");
        }
    }
}

void validate_config(const Config& config) {
    boost::system::error_code ec;
    boost::asio::ip::make_address(config.listen_address, ec);
    if (ec) {
        throw ConfigError("listen address (listen_address / --listen): " +
                          quoted(config.listen_address) + " is not an IPv4 or IPv6 address");
    }
    if (config.routes.empty()) {
        throw ConfigError("no routes configured: give \"routes\" in the config file or "
                          "--route NAME=ROLE=CONNINFO");
    }
    std::set<std::string, std::less<>> names;
    for (const RouteConfigEntry& route : config.routes) {
        if (route.name.empty()) throw ConfigError("route with an empty name (routes / --route)");
        const std::string which = "route " + quoted(route.name) + ": ";
        if (!names.insert(route.name).second) throw ConfigError(which + "the name is used twice");
        if (std::find(kRoles.begin(), kRoles.end(), route.role) == kRoles.end()) {
            throw ConfigError(which + "role " + quoted(route.role) +
                              " is not one of pooler, replica, primary");
        }
        if (route.conninfo.empty()) throw ConfigError(which + "conninfo is empty");
        char* error = nullptr;
        PQconninfoOption* options = PQconninfoParse(route.conninfo.c_str(), &error);
        if (options == nullptr) {
            std::string detail = error ? error : "out of memory";
            PQfreemem(error);
            while (!detail.empty() && detail.back() == '\n') detail.pop_back();
            throw ConfigError(which + "conninfo is not a valid libpq connection string: " + detail);
        }
        PQconninfoFree(options);
    }
    using namespace std::chrono_literals;
    if (config.request_deadline <= 0ms) {
        throw ConfigError("request deadline (request_deadline_ms / --deadline-ms) must be > 0");
    }
    if (config.refresh_interval <= 0ms) {
        throw ConfigError("refresh interval (refresh_interval_ms / --refresh-ms) must be > 0");
    }
    if (config.probe_interval <= 0ms) {
        throw ConfigError("probe interval (probe_interval_ms / --probe-ms) must be > 0");
    }
    if (config.max_body_bytes == 0) {
        throw ConfigError("max body bytes (max_body_bytes / --max-body-bytes) must be > 0");
    }
    if (config.max_connections == 0) {
        throw ConfigError("max connections (max_connections / --max-connections) must be > 0");
    }
    if (config.pool_size == 0) throw ConfigError("pool size (pool_size / --pool-size) must be > 0");
}

Config load_config(int argc, char** argv) {
    // Split into (flag, value) pairs first, so --config is read before the flags that override it
    // wherever it appears.
    std::vector<std::pair<std::string_view, std::string_view>> flags;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!arg.starts_with("--")) {
            throw ConfigError("unexpected argument " + quoted(arg) + " (flags start with --; see --help)");
        }
        const Flag flag = split_flag(arg);
        if (flag.name == "--help") {
            Config config;
            config.help_requested = true;
            return config;
        }
        if (std::find(kValueFlags.begin(), kValueFlags.end(), flag.name) == kValueFlags.end()) {
            throw ConfigError("unknown flag " + std::string(flag.name) + " (see --help)");
        }
        if (flag.value) {
            flags.emplace_back(flag.name, *flag.value);
        } else if (i + 1 < argc) {
            flags.emplace_back(flag.name, argv[++i]);
        } else {
            throw ConfigError(std::string(flag.name) + " needs a value");
        }
    }

    Config config;
    for (const auto& [name, value] : flags) {
        if (name == "--config") {
            const std::string path(value);
            apply_config_json(config, read_file(path), "config file " + path);
        }
    }
    std::vector<RouteConfigEntry> flag_routes;
    for (const auto& [name, value] : flags) {
        if (name == "--listen") {
            apply_listen(config, value);
        } else if (name == "--route") {
            flag_routes.push_back(parse_route_flag(value));
        } else if (name == "--deadline-ms") {
            config.request_deadline = flag_millis(name, value);
        } else if (name == "--refresh-ms") {
            config.refresh_interval = flag_millis(name, value);
        } else if (name == "--snapshot") {
            config.snapshot_path = std::string(value);
        } else if (name == "--max-lag-ms") {
            config.max_replica_lag = flag_millis(name, value);
        } else if (name == "--max-body-bytes") {
            config.max_body_bytes = flag_number(name, value);
        } else if (name == "--max-connections") {
            config.max_connections = flag_number(name, value);
        } else if (name == "--pool-size") {
            config.pool_size = flag_number(name, value);
        } else if (name == "--probe-ms") {
            config.probe_interval = flag_millis(name, value);
        }
    }
    if (!flag_routes.empty()) config.routes = std::move(flag_routes);
    validate_config(config);
    return config;
}

std::string config_usage() {
    return R"(usage: flag-decide [--config FILE] [flags]

Answers PostHog SDKs (POST /flags?v=2) from PostgreSQL read replicas.
Flags override the config file (format: see deploy/flag-decide.example.json).

  --config FILE              JSON configuration file
  --listen HOST:PORT         address to listen on ([v6addr]:PORT for IPv6; default 127.0.0.1:8000)
  --route NAME=ROLE=CONNINFO database route, ROLE one of pooler|replica|primary; repeat in
                             priority order; replaces the file's routes
  --deadline-ms N            database work allowed per request (default 50)
  --refresh-ms N             definitions refresh period (default 1000)
  --snapshot PATH            definitions snapshot file (default: none)
  --max-lag-ms N             replicas lagging more are not used for person data (default 2000)
  --max-body-bytes N         larger request bodies get 413 (default 1048576)
  --max-connections N        connections beyond this are closed on accept (default 10000)
  --pool-size N              connections per route (default 4)
  --probe-ms N               probe period of failed routes (default 250)
  --help                     this text
)";
}

}  // namespace flag_eval::decide
