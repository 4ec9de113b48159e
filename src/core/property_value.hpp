// A read-only view of one property value, and the interface through which the engine reads
// properties. Hosts implement PropertySource over their own storage (jsonb in place inside
// PostgreSQL, Boost.JSON in the service) so that no host converts properties before evaluation.
#pragma once
#include "no_postgres.hpp"

#include <cstdint>
#include <string_view>

namespace flag_eval {

enum class ValueKind : std::uint8_t { Missing, Null, Bool, Number, String, Array, Object };

// Views stay valid as long as the PropertySource that produced them.
struct PropertyValue {
    ValueKind kind = ValueKind::Missing;
    bool boolean = false;  // Bool
    double number = 0.0;   // Number
    // String: the string itself. Number: its digits when it is an integer that fits 64 bits,
    // else empty, and the engine prints `number` as the reference does (1.50 -> "1.5").
    // Array / Object: the value serialised as JSON text.
    std::string_view text;

    bool missing() const { return kind == ValueKind::Missing; }
    static PropertyValue make_missing() { return {}; }
    static PropertyValue make_null() { return {ValueKind::Null, false, 0.0, {}}; }
    static PropertyValue make_bool(bool b) { return {ValueKind::Bool, b, 0.0, {}}; }
    static PropertyValue make_number(double n, std::string_view t) {
        return {ValueKind::Number, false, n, t};
    }
    static PropertyValue make_string(std::string_view s) {
        return {ValueKind::String, false, 0.0, s};
    }
};

class PropertySource {
public:
    virtual ~PropertySource() = default;
    // The value stored under key, or a Missing value.
    virtual PropertyValue get(std::string_view key) const = 0;
};

class EmptyPropertySource final : public PropertySource {
public:
    PropertyValue get(std::string_view) const override { return {}; }
};

// Request properties over stored ones: a key present in `top` wins.
class OverlayPropertySource final : public PropertySource {
public:
    OverlayPropertySource(const PropertySource& top, const PropertySource& bottom)
        : top_(top), bottom_(bottom) {}
    PropertyValue get(std::string_view key) const override {
        PropertyValue v = top_.get(key);
        return v.missing() ? bottom_.get(key) : v;
    }

private:
    const PropertySource& top_;
    const PropertySource& bottom_;
};

}  // namespace flag_eval
