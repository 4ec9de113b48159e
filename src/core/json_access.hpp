// Typed reads of Boost.JSON values that report, by JSON path, what is wrong instead of throwing.
// Shared by the flag, cohort and context parsers.
#pragma once
#include "no_postgres.hpp"
#include "problems.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace flag_eval::json_access {

inline std::string field_path(const std::string& path, std::string_view key) {
    std::string p = path;
    p.append(".").append(key);
    return p;
}

inline std::string index_path(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

// The member `key` of `object`, or nullptr when absent or JSON null.
inline const boost::json::value* member(const boost::json::object& object, std::string_view key) {
    const boost::json::value* v = object.if_contains(key);
    return (v && !v->is_null()) ? v : nullptr;
}

inline std::optional<double> number(const boost::json::value& v) {
    if (v.is_double()) return v.get_double();
    if (v.is_int64()) return static_cast<double>(v.get_int64());
    if (v.is_uint64()) return static_cast<double>(v.get_uint64());
    return std::nullopt;
}

inline std::optional<std::int64_t> integer(const boost::json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
        return static_cast<std::int64_t>(v.get_uint64());
    if (v.is_double()) {
        const double d = v.get_double();  // range first: converting an out-of-range double is UB
        if (d > -9.2e18 && d < 9.2e18 && d == static_cast<double>(static_cast<std::int64_t>(d)))
            return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

// Each reader returns nullopt both when the member is absent and when it has the wrong type;
// only the latter is reported.
inline std::optional<bool> read_bool(const boost::json::object& o, std::string_view key,
                                     const std::string& path, Problems& problems) {
    const auto* v = member(o, key);
    if (!v) return std::nullopt;
    if (!v->is_bool()) {
        problems.invalid(field_path(path, key), "expected true or false");
        return std::nullopt;
    }
    return v->get_bool();
}

inline std::optional<std::string_view> read_string(const boost::json::object& o,
                                                   std::string_view key, const std::string& path,
                                                   Problems& problems) {
    const auto* v = member(o, key);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
        problems.invalid(field_path(path, key), "expected a string");
        return std::nullopt;
    }
    return std::string_view(v->get_string());
}

inline std::optional<std::int64_t> read_integer(const boost::json::object& o, std::string_view key,
                                                const std::string& path, Problems& problems) {
    const auto* v = member(o, key);
    if (!v) return std::nullopt;
    auto i = integer(*v);
    if (!i) problems.invalid(field_path(path, key), "expected an integer");
    return i;
}

inline std::optional<double> read_number(const boost::json::object& o, std::string_view key,
                                         const std::string& path, Problems& problems) {
    const auto* v = member(o, key);
    if (!v) return std::nullopt;
    auto d = number(*v);
    if (!d) problems.invalid(field_path(path, key), "expected a number or null");
    return d;
}

inline const boost::json::array* read_array(const boost::json::object& o, std::string_view key,
                                            const std::string& path, Problems& problems) {
    const auto* v = member(o, key);
    if (!v) return nullptr;
    if (!v->is_array()) {
        problems.invalid(field_path(path, key), "expected an array");
        return nullptr;
    }
    return &v->get_array();
}

inline const boost::json::object* read_object(const boost::json::object& o, std::string_view key,
                                              const std::string& path, Problems& problems) {
    const auto* v = member(o, key);
    if (!v) return nullptr;
    if (!v->is_object()) {
        problems.invalid(field_path(path, key), "expected an object");
        return nullptr;
    }
    return &v->get_object();
}

}  // namespace flag_eval::json_access
