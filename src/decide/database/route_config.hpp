// What configures one database route: its name, role, connection string and the server it
// reaches. A header of its own because both the configuration (decide/config.hpp) and the
// routes use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace flag_eval::decide {

enum class RouteRole { Pooler, Replica, Primary };

std::string_view route_role_name(RouteRole role);  // "pooler" / "replica" / "primary"
std::optional<RouteRole> route_role_from_name(std::string_view name);

struct RouteConfig {
    std::string name;
    RouteRole role = RouteRole::Replica;
    std::string conninfo;  // libpq connection string or URI
    // The database server behind the route when it is not the route itself: a PgBouncer's
    // standby. Empty: the route's name. A slow query is hedged on a route that shares neither.
    std::string backend;

    const std::string& backend_name() const { return backend.empty() ? name : backend; }

    bool operator==(const RouteConfig&) const = default;
};

}  // namespace flag_eval::decide
