// The settings table, and how each kind of value (a count, milliseconds, a path, the listen
// address, the routes) is read from the file and from a flag and checked.
#include "decide/settings.hpp"

#include "decide/api/cors_policy.hpp"
#include "decide/api/rate_limiter.hpp"
#include "decide/http/client_address.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/value.hpp>
#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>

namespace flag_eval::decide {

namespace {

constexpr std::uint64_t kMaxNumber = std::numeric_limits<std::int64_t>::max();
constexpr std::uint64_t kMaxRate = RateLimiter::kMaxRate;

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---- reading values: from the file (errors name the file and key) and from flags ----

[[noreturn]] void file_error(std::string_view origin, std::string_view key,
                             std::string_view problem) {
    throw ConfigError(std::string(origin) + ": " + quoted(key) + " " + std::string(problem));
}

std::string file_string(const boost::json::value& v, std::string_view key,
                        std::string_view origin) {
    if (!v.is_string()) file_error(origin, key, "must be a string");
    return std::string(v.get_string());
}

std::uint64_t file_number(const boost::json::value& v, std::string_view key,
                          std::string_view origin, std::uint64_t max) {
    std::optional<std::uint64_t> n;
    if (v.is_uint64()) n = v.get_uint64();
    if (v.is_int64() && v.get_int64() >= 0) n = static_cast<std::uint64_t>(v.get_int64());
    if (!n || *n > max)
        file_error(origin, key, "must be a whole number from 0 to " + std::to_string(max));
    return *n;
}

std::uint64_t flag_number(std::string_view flag, std::string_view text, std::uint64_t max) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || n > max) {
        throw ConfigError(std::string(flag) + ": " + quoted(text) +
                          " is not a whole number from 0 to " + std::to_string(max));
    }
    return n;
}

// Numbers are stored as counts or as milliseconds.
std::uint64_t as_number(std::size_t n) { return n; }
std::uint64_t as_number(std::chrono::milliseconds ms) {
    return static_cast<std::uint64_t>(ms.count());
}
template <typename T>
T from_number(std::uint64_t n) {
    if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
        return std::chrono::milliseconds(static_cast<std::int64_t>(n));
    } else {
        return static_cast<T>(n);
    }
}

// ---- kinds of setting ----

// A whole number (a count, or milliseconds) from `min` to `max`. `what` names it in errors.
template <typename T>
Setting number(std::string key, std::string flag, T Config::*field, std::uint64_t default_value,
               std::uint64_t min, std::string what, std::string help,
               std::uint64_t max = kMaxNumber) {
    Setting s;
    s.keys = {key};
    s.flag = flag;
    s.value_name = "N";
    s.help = std::move(help);
    s.default_text = std::to_string(default_value);
    const std::string bound = min == 1 ? "> 0" : ">= " + std::to_string(min);
    if (max < kMaxNumber)
        s.range_text = std::to_string(min) + "-" + std::to_string(max);
    else if (min > 0)
        s.range_text = bound;
    s.set_default = [field, default_value](Config& c) { c.*field = from_number<T>(default_value); };
    s.read_json = [field, max](Config& c, std::string_view k, const boost::json::value& v,
                               std::string_view origin) {
        c.*field = from_number<T>(file_number(v, k, origin, max));
    };
    s.read_flags = [field, flag, max](Config& c, const std::vector<std::string_view>& values) {
        for (std::string_view value : values)
            c.*field = from_number<T>(flag_number(flag, value, max));
    };
    s.validate = [field, min, message = what + " (" + key + " / " + flag + ") must be " + bound](
                     const Config& c) {
        if (as_number(c.*field) < min) throw ConfigError(message);
    };
    return s;
}

// Text taken as it is; "" is allowed and means none.
Setting text(std::string key, std::string flag, std::string value_name, std::string Config::*field,
             std::string help) {
    Setting s;
    s.keys = {key};
    s.flag = std::move(flag);
    s.value_name = std::move(value_name);
    s.help = std::move(help);
    s.default_text = "none";
    s.set_default = [field](Config& c) { (c.*field).clear(); };
    s.read_json = [field](Config& c, std::string_view k, const boost::json::value& v,
                          std::string_view origin) { c.*field = file_string(v, k, origin); };
    s.read_flags = [field](Config& c, const std::vector<std::string_view>& values) {
        for (std::string_view value : values) c.*field = std::string(value);
    };
    s.validate = [](const Config&) {};
    return s;
}

// HOST:PORT, or [IPv6]:PORT.
void read_listen_flag(Config& config, std::string_view text) {
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

// The address and port to listen on: two keys in the file, one flag.
Setting listen(std::string address, unsigned short port) {
    Setting s;
    s.keys = {"listen_address", "listen_port"};
    s.flag = "--listen";
    s.value_name = "HOST:PORT";
    s.help = "address to listen on ([v6addr]:PORT for IPv6; port 0: any free port)";
    s.default_text = address + ":" + std::to_string(port);
    s.range_text = "PORT 0-65535";
    s.set_default = [address, port](Config& c) {
        c.listen_address = address;
        c.listen_port = port;
    };
    s.read_json = [](Config& c, std::string_view k, const boost::json::value& v,
                     std::string_view origin) {
        if (k == "listen_address") {
            c.listen_address = file_string(v, k, origin);
        } else {
            c.listen_port = static_cast<unsigned short>(file_number(v, k, origin, 65535));
        }
    };
    s.read_flags = [](Config& c, const std::vector<std::string_view>& values) {
        for (std::string_view value : values) read_listen_flag(c, value);
    };
    s.validate = [](const Config& c) {
        boost::system::error_code ec;
        boost::asio::ip::make_address(c.listen_address, ec);
        if (ec) {
            throw ConfigError("listen address (listen_address / --listen): " +
                              quoted(c.listen_address) + " is not an IPv4 or IPv6 address");
        }
    };
    return s;
}

// The role a route's text names; the error names the route.
RouteRole route_role(std::string_view route_name, std::string_view text) {
    const std::optional<RouteRole> role = route_role_from_name(text);
    if (!role) {
        throw ConfigError("route " + quoted(route_name) + ": role " + quoted(text) +
                          " is not one of pooler, replica, primary");
    }
    return *role;
}

RouteConfig file_route(const boost::json::value& v, std::size_t index, std::string_view origin) {
    const std::string where = "routes[" + std::to_string(index) + "]";
    if (!v.is_object())
        file_error(origin, where,
                   "must be an object {\"name\", \"role\", \"conninfo\"[, \"backend\"]}");
    RouteConfig route;
    std::string role;
    for (const auto& [key, value] : v.get_object()) {
        const std::string path = where + "." + std::string(key);
        if (key == "name") {
            route.name = file_string(value, path, origin);
        } else if (key == "role") {
            role = file_string(value, path, origin);
        } else if (key == "conninfo") {
            route.conninfo = file_string(value, path, origin);
        } else if (key == "backend") {
            route.backend = file_string(value, path, origin);
        } else {
            file_error(origin, path, "is not a route key (name, role, conninfo, backend)");
        }
    }
    for (std::string_view required : {"name", "role", "conninfo"}) {
        if (!v.get_object().contains(required))
            file_error(origin, where, "is missing \"" + std::string(required) + "\"");
    }
    try {
        route.role = route_role(route.name, role);
    } catch (const ConfigError& e) {
        throw ConfigError(std::string(origin) + ": " + e.what());
    }
    return route;
}

RouteConfig flag_route(std::string_view text) {
    const auto first = text.find('=');
    const auto second = first == std::string_view::npos ? first : text.find('=', first + 1);
    if (second == std::string_view::npos) {
        throw ConfigError("--route: expected NAME=ROLE=CONNINFO, got " + quoted(text));
    }
    const std::string_view name = text.substr(0, first);
    return RouteConfig{std::string(name),
                       route_role(name, text.substr(first + 1, second - first - 1)),
                       std::string(text.substr(second + 1))};
}

// Roles were checked as they were read.
void validate_routes(const std::vector<RouteConfig>& routes) {
    if (routes.empty()) {
        throw ConfigError(
            "no routes configured: give \"routes\" in the config file or "
            "--route NAME=ROLE=CONNINFO");
    }
    std::set<std::string, std::less<>> names;
    for (const RouteConfig& route : routes) {
        if (route.name.empty()) throw ConfigError("route with an empty name (routes / --route)");
        const std::string which = "route " + quoted(route.name) + ": ";
        if (!names.insert(route.name).second) throw ConfigError(which + "the name is used twice");
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
}

// The database routes, in priority order. --route, when given at all, replaces the file's routes.
Setting routes() {
    Setting s;
    s.keys = {"routes"};
    s.flag = "--route";
    s.value_name = "NAME=ROLE=CONNINFO";
    s.help =
        "database route, ROLE one of pooler|replica|primary; repeat in\n"
        "priority order; replaces the file's routes. In the file:\n"
        "[{\"name\": NAME, \"role\": ROLE, \"conninfo\": CONNINFO}, ...], each with an\n"
        "optional \"backend\": the server behind a pooler (default: NAME)";
    s.default_text = "none";
    s.range_text = "at least one, names unique";
    s.set_default = [](Config& c) { c.routes.clear(); };
    s.read_json = [](Config& c, std::string_view k, const boost::json::value& v,
                     std::string_view origin) {
        if (!v.is_array())
            file_error(origin, k, "must be an array of {\"name\", \"role\", \"conninfo\"}");
        c.routes.clear();
        for (std::size_t i = 0; i < v.get_array().size(); ++i)
            c.routes.push_back(file_route(v.get_array()[i], i, origin));
    };
    s.read_flags = [](Config& c, const std::vector<std::string_view>& values) {
        if (values.empty()) return;
        c.routes.clear();
        for (std::string_view value : values) c.routes.push_back(flag_route(value));
    };
    s.validate = [](const Config& c) { validate_routes(c.routes); };
    return s;
}

// The items of a comma-separated flag value, spaces around them removed, empty ones dropped.
std::vector<std::string> comma_list(std::string_view value) {
    std::vector<std::string> items;
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (!item.empty()) items.emplace_back(item);
        value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    }
    return items;
}

// The origins whose pages may read the public endpoints. In the file a list of origins or "*";
// as a flag one comma-separated value ("" for none).
Setting cors_origins() {
    Setting s;
    s.keys = {"cors_allowed_origins"};
    s.flag = "--cors-origins";
    s.value_name = "ORIGINS";
    s.help =
        "origins whose web pages may call /flags, /decide and remote config\n"
        "(posthog-js): * for any, or scheme://host[:port],... ; \"\" for none.\n"
        "The feed and /metrics are never readable cross-origin";
    s.default_text = "*";
    s.set_default = [](Config& c) { c.cors_allowed_origins = {"*"}; };
    s.read_json = [](Config& c, std::string_view k, const boost::json::value& v,
                     std::string_view origin) {
        c.cors_allowed_origins.clear();
        if (v.is_string()) {
            c.cors_allowed_origins.push_back(std::string(v.get_string()));
            return;
        }
        if (!v.is_array()) file_error(origin, k, "must be \"*\" or an array of origins");
        for (const auto& entry : v.get_array())
            c.cors_allowed_origins.push_back(file_string(entry, k, origin));
    };
    s.read_flags = [](Config& c, const std::vector<std::string_view>& values) {
        for (std::string_view value : values) c.cors_allowed_origins = comma_list(value);
    };
    s.validate = [](const Config& c) {
        for (const std::string& origin : c.cors_allowed_origins)
            if (const std::string problem = origin_problem(origin); !problem.empty())
                throw ConfigError("CORS origin (cors_allowed_origins / --cors-origins) " +
                                  quoted(origin) + " " + problem);
    };
    return s;
}

// The proxies whose X-Forwarded-For names the client for the per-address limit. In the file a
// list; as a flag one comma-separated value ("" for none).
Setting trusted_proxies() {
    Setting s;
    s.keys = {"trusted_proxies"};
    s.flag = "--trusted-proxies";
    s.value_name = "ADDRESSES";
    s.help =
        "load balancers and proxies in front of the service (addresses or\n"
        "networks: 10.0.0.0/8,fd00::/8): the per-address limit counts the\n"
        "client their X-Forwarded-For names, not them; never list an address\n"
        "a client can send from";
    s.default_text = "none";
    s.set_default = [](Config& c) { c.trusted_proxies.clear(); };
    s.read_json = [](Config& c, std::string_view k, const boost::json::value& v,
                     std::string_view origin) {
        if (!v.is_array()) file_error(origin, k, "must be an array of addresses or networks");
        c.trusted_proxies.clear();
        for (const auto& entry : v.get_array())
            c.trusted_proxies.push_back(file_string(entry, k, origin));
    };
    s.read_flags = [](Config& c, const std::vector<std::string_view>& values) {
        for (std::string_view value : values) c.trusted_proxies = comma_list(value);
    };
    s.validate = [](const Config& c) {
        for (const std::string& entry : c.trusted_proxies)
            if (const std::string problem = trusted_proxy_problem(entry); !problem.empty())
                throw ConfigError("trusted proxy (trusted_proxies / --trusted-proxies) " +
                                  quoted(entry) + " " + problem);
    };
    return s;
}

}  // namespace

// number<M> is milliseconds, number<N> a count; their columns: file key, flag, Config field,
// default, minimum (checked after the file and the flags), the name validation errors use, help,
// and a maximum where there is one (checked as the value is read).
const std::vector<Setting>& settings() {
    using M = std::chrono::milliseconds;
    using N = std::size_t;
    static const std::vector<Setting> table = {
        listen("127.0.0.1", 8000),
        routes(),
        number<M>("request_deadline_ms", "--deadline-ms", &Config::request_deadline, 50, 1,
                  "request deadline", "database work allowed per request"),
        number<M>("refresh_interval_ms", "--refresh-ms", &Config::refresh_interval, 500, 1,
                  "refresh interval", "definitions refresh period"),
        number<M>("definitions_stale_after_ms", "--stale-after-ms",
                  &Config::definitions_stale_after, 30000, 1, "definitions stale after",
                  "answers say the definitions are stale once unconfirmed this long"),
        text("snapshot_path", "--snapshot", "PATH", &Config::snapshot_path,
             "definitions snapshot file"),
        number<M>("max_replica_lag_ms", "--max-lag-ms", &Config::max_replica_lag, 2000, 0,
                  "max replica lag", "replicas lagging more are not used for person data"),
        number<N>("max_body_bytes", "--max-body-bytes", &Config::max_body_bytes, 1 << 20, 1,
                  "max body bytes", "larger request bodies get 413"),
        number<N>("max_connections", "--max-connections", &Config::max_connections, 10000, 1,
                  "max connections", "connections beyond this are closed on accept"),
        number<M>("hedge_after_ms", "--hedge-ms", &Config::hedge_after, 10, 1, "hedge after",
                  "a query unanswered this long is also sent on another route"),
        number<M>("probe_interval_ms", "--probe-ms", &Config::probe_interval, 250, 1,
                  "probe interval", "probe period of failed routes"),
        number<N>("pool_size", "--pool-size", &Config::pool_size, 0, 0, "pool size",
                  "connections per route, for the whole process (0: one per thread, at least 2)"),
        number<N>("threads", "--threads", &Config::threads, 0, 0, "threads",
                  "event-loop threads serving requests (0: one per CPU)"),
        cors_origins(),
        // Off by default: see docs/deployment.md (Rate limits).
        number<N>("rate_limit_per_token", "--rate-limit-per-token", &Config::rate_limit_per_token,
                  0, 0, "rate limit per token",
                  "requests a second per public token, on average (0: no limit)", kMaxRate),
        number<N>("rate_limit_per_token_burst", "--rate-limit-per-token-burst",
                  &Config::rate_limit_per_token_burst, 0, 0, "rate limit per token burst",
                  "requests per public token at once (0: ten seconds of the rate)", kMaxRate),
        number<N>("rate_limit_per_address", "--rate-limit-per-address",
                  &Config::rate_limit_per_address, 0, 0, "rate limit per address",
                  "requests a second per client address (IPv6: per /64), on average\n"
                  "(0: no limit)",
                  kMaxRate),
        number<N>("rate_limit_per_address_burst", "--rate-limit-per-address-burst",
                  &Config::rate_limit_per_address_burst, 0, 0, "rate limit per address burst",
                  "requests per client address at once (0: ten seconds of the rate)", kMaxRate),
        trusted_proxies(),
    };
    return table;
}

}  // namespace flag_eval::decide
