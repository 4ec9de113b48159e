#include "decide/database/replica_lag.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace flag_eval::decide {

namespace {

std::optional<std::uint32_t> parse_hex32(std::string_view text) {
    if (text.empty() || text.size() > 8) return std::nullopt;
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

}  // namespace

std::optional<Lsn> parse_lsn(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    const auto high = parse_hex32(text.substr(0, slash));
    const auto low = parse_hex32(text.substr(slash + 1));
    if (!high || !low) return std::nullopt;
    return (Lsn{*high} << 32) | Lsn{*low};
}

std::string format_lsn(Lsn lsn) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%X/%X", static_cast<unsigned>(lsn >> 32),
                  static_cast<unsigned>(lsn & 0xFFFFFFFFu));
    return buffer;
}

WalProgressHistory::WalProgressHistory(Clock::duration retention, std::size_t max_entries)
    : retention_(retention), max_entries_(std::max<std::size_t>(2, max_entries)) {}

void WalProgressHistory::observe(Lsn lsn, Clock::time_point seen_at) {
    if (!entries_.empty()) {
        if (lsn <= entries_.back().lsn) return;
        // Keep times monotonic even if a caller hands in an older observation late.
        seen_at = std::max(seen_at, entries_.back().first_seen);
    }
    entries_.push_back({lsn, seen_at});
    trim(seen_at);
}

void WalProgressHistory::trim(Clock::time_point now) {
    // Drop the oldest entry only while the next one is also past retention: the kept oldest
    // entry is then the lower bound for anything behind it.
    while (entries_.size() > 1 && now - entries_[1].first_seen >= retention_) entries_.pop_front();
    while (entries_.size() > max_entries_) entries_.pop_front();
}

WalProgressHistory::Clock::duration WalProgressHistory::staleness(Lsn replayed,
                                                                  Clock::time_point now) const {
    if (entries_.empty() || replayed >= entries_.back().lsn) return Clock::duration::zero();
    // The first entry beyond `replayed`: when the reference passed it (or a lower bound of that,
    // if the entry that did was trimmed).
    const auto passed = std::upper_bound(entries_.begin(), entries_.end(), replayed,
                                         [](Lsn value, const Entry& e) { return value < e.lsn; });
    if (now <= passed->first_seen) return Clock::duration::zero();
    return now - passed->first_seen;
}

std::optional<Lsn> WalProgressHistory::highest() const {
    if (entries_.empty()) return std::nullopt;
    return entries_.back().lsn;
}

}  // namespace flag_eval::decide
