// Deterministic bucketing (docs/reference.md, Bucketing). Frozen once released: a change of
// output is a new bucketing name, never an edit of an existing one.
#pragma once
#include "no_postgres.hpp"

#include <optional>
#include <string_view>

namespace flag_eval {

enum class Bucketing { Xxh3, Sha1 };

std::optional<Bucketing> bucketing_from_name(std::string_view name);
std::string_view bucketing_name(Bucketing b);

// hash01 in [0, 1] of UTF-8(prefix + identifier + salt), the identifier cut to its first 200
// Unicode scalar values.
double hash01(Bucketing bucketing, std::string_view prefix, std::string_view identifier,
              std::string_view salt);

// The identifier cut to its first 200 Unicode scalar values (a byte-prefix of the input).
std::string_view truncate_identifier(std::string_view identifier);

}  // namespace flag_eval
