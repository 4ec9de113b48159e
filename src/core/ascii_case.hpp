// ASCII case folding, locale-independent: what PostHog's to_ascii_lowercase comparisons do, and
// what names compared "in any case" (operators, runtimes, origins) need.
#pragma once
#include "no_postgres.hpp"

#include <string>
#include <string_view>

namespace flag_eval {

inline char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lowered(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

// `a` equals `lowered_b` (already lower case) ignoring ASCII case.
inline bool ascii_iequals(std::string_view a, std::string_view lowered_b) {
    if (a.size() != lowered_b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != lowered_b[i]) return false;
    return true;
}

}  // namespace flag_eval
