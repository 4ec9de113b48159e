#include "decide/database/route_config.hpp"

namespace flag_eval::decide {

std::string_view route_role_name(RouteRole role) {
    switch (role) {
        case RouteRole::Pooler: return "pooler";
        case RouteRole::Replica: return "replica";
        case RouteRole::Primary: return "primary";
    }
    return "unknown";
}

std::optional<RouteRole> route_role_from_name(std::string_view name) {
    if (name == "pooler") return RouteRole::Pooler;
    if (name == "replica") return RouteRole::Replica;
    if (name == "primary") return RouteRole::Primary;
    return std::nullopt;
}

}  // namespace flag_eval::decide
