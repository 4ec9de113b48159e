// Semantic versions and version requirements for the semver_* operators. Behaves like the Rust
// `semver` crate that the reference uses, including the reference's normalisation of what SDKs
// send: "v1.2.3", " 3.08 " and "3.10" are read as 1.2.3, 3.8.0 and 3.10.0.
#pragma once
#include "no_postgres.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval {

// A parsed version. `pre` and `build` are views into the text it was parsed from, so parsing a
// property value at match time does not allocate.
struct SemanticVersion {
    std::uint64_t major = 0;
    std::uint64_t minor = 0;
    std::uint64_t patch = 0;
    std::string_view pre;    // pre-release identifiers ("alpha.1"), empty for a release
    std::string_view build;  // build metadata, empty when absent
};

// Reads a version as the reference reads property and filter values: one leading "v" and
// surrounding whitespace are dropped, missing minor/patch components become 0, and leading
// zeros of numeric components are ignored. Everything else must be strict SemVer 2.0.0.
std::optional<SemanticVersion> parse_lenient_version(std::string_view text);

// The semver crate's total order: precedence first, then build metadata, so 1.0.0+a and 1.0.0+b
// are different versions (semver_eq is false, semver_neq true).
int compare_versions(const SemanticVersion& a, const SemanticVersion& b);

enum class RangeOperator { Tilde, Caret, Wildcard };

// A version requirement (the semver crate's VersionReq): comparators that must all hold.
class VersionRequirement {
public:
    // The requirement a semver_tilde / semver_caret / semver_wildcard filter value stands for
    // ("1.2.3" → "~1.2.3" / "^1.2.3"; "1.2.*" → "1.2.x"), or nullopt when it is not one.
    static std::optional<VersionRequirement> from_filter(RangeOperator op,
                                                         std::string_view filter_value);

    // Requirement syntax: "^1.2.3", "~1.2", ">=1.2, <2", "1.2.x", "*". Nullopt when invalid.
    static std::optional<VersionRequirement> parse(std::string_view text);

    bool matches(const SemanticVersion& version) const;

private:
    enum class Kind { Exact, Greater, GreaterEq, Less, LessEq, Tilde, Caret, Wildcard };
    struct Comparator {
        Kind kind = Kind::Caret;
        std::uint64_t major = 0;
        std::optional<std::uint64_t> minor;
        std::optional<std::uint64_t> patch;
        std::string pre;
    };
    static bool comparator_matches(const Comparator& c, const SemanticVersion& v);
    static std::optional<Comparator> parse_comparator(std::string_view& text);

    std::vector<Comparator> comparators_;  // empty: "*", any release
};

}  // namespace flag_eval
