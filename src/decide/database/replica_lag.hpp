// LSN-based replica staleness. Probes report WAL positions; the highest position seen anywhere
// (the primary's current LSN, a standby's receive LSN) forms a reference history with the time
// each position was first seen. A standby that has replayed up to L is as stale as the time since
// the reference first went past L: zero when it has caught up, growing while it falls behind,
// and independent of clock skew between hosts (only this process's steady clock is used).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>

namespace flag_eval::decide {

using Lsn = std::uint64_t;

// "16/B374D848" (PostgreSQL's pg_lsn text: two hex halves) -> 0x16B374D848; nullopt if malformed.
std::optional<Lsn> parse_lsn(std::string_view text);
std::string format_lsn(Lsn lsn);

class WalProgressHistory {
public:
    using Clock = std::chrono::steady_clock;

    // Entries older than `retention` are dropped, but the newest of them is kept, so a standby
    // behind everything still retained is reported at least `retention` stale (never as fresh).
    explicit WalProgressHistory(Clock::duration retention = std::chrono::seconds(60),
                                std::size_t max_entries = 4096);

    // A WAL position known to exist at `seen_at`. Positions not above the highest are ignored.
    void observe(Lsn lsn, Clock::time_point seen_at);

    // How long ago the reference first passed `replayed` (zero when `replayed` is at or beyond
    // the highest position observed, or nothing was observed yet).
    Clock::duration staleness(Lsn replayed, Clock::time_point now) const;

    std::optional<Lsn> highest() const;
    std::size_t size() const { return entries_.size(); }

private:
    struct Entry {
        Lsn lsn;
        Clock::time_point first_seen;
    };
    void trim(Clock::time_point now);

    Clock::duration retention_;
    std::size_t max_entries_;
    std::deque<Entry> entries_;  // strictly increasing in lsn, non-decreasing in time
};

}  // namespace flag_eval::decide
