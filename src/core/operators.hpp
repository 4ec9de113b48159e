// Property filter operators (docs/reference.md, Property operators). A filter's value is compiled
// once (lower-cased strings, parsed numbers, RE2 programs, semver bounds, dates) and matched many
// times.
#pragma once
#include "no_postgres.hpp"
#include "problems.hpp"
#include "property_value.hpp"

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace flag_eval {

enum class Operator {
    Exact,
    IsNot,
    Icontains,
    NotIcontains,
    IcontainsMulti,
    NotIcontainsMulti,
    StartsWith,
    NotStartsWith,
    EndsWith,
    NotEndsWith,
    Regex,
    NotRegex,
    Gt,
    Gte,
    Lt,
    Lte,
    Between,  // [min, max], inclusive
    NotBetween,
    SemverGt,
    SemverGte,
    SemverLt,
    SemverLte,
    SemverEq,
    SemverNeq,
    SemverTilde,
    SemverCaret,
    SemverWildcard,
    IsSet,
    IsNotSet,
    IsDateBefore,
    IsDateAfter,
    IsDateExact,
    In,
    NotIn,            // cohort membership
    FlagEvaluatesTo,  // flag dependency
};

// The operator named `name`, or nullopt when it is none of those (docs/reference.md, Property
// operators).
std::optional<Operator> operator_from_name(std::string_view name);
std::string_view operator_name(Operator op);

// How exact and is_not compare (a team's property_matching_version). Legacy (1, PostHog's
// default) compares truthiness when the filter is boolean-like; Explicit (2) compares the string
// forms, except for an empty list, which keeps the truthiness rule.
enum class PropertyMatching { Legacy, Explicit };

// One property operator with its filter value compiled. Cohort and flag operators are not
// ValueMatchers: the evaluator resolves them.
class ValueMatcher {
public:
    // Compiles `value` for `op`. Structural problems (a value of the wrong shape) are reported as
    // invalid, semantic ones (a regex RE2 rejects) as warnings; both at `path`.
    static ValueMatcher compile(Operator op, const boost::json::value& value,
                                const std::string& path, Problems& problems,
                                PropertyMatching matching = PropertyMatching::Legacy);

    // Whether a property holding `value` (Missing when the key is absent) satisfies the filter.
    bool matches(const PropertyValue& value) const;

    Operator op() const { return op_; }

    ValueMatcher(ValueMatcher&&) noexcept;
    ValueMatcher& operator=(ValueMatcher&&) noexcept;
    ~ValueMatcher();

    struct Compiled;  // operator-specific prepared data, private to operators.cpp

private:
    ValueMatcher(Operator op, std::unique_ptr<Compiled> compiled);
    Operator op_;
    std::unique_ptr<Compiled> compiled_;
};

}  // namespace flag_eval
