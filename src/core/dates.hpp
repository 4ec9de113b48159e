// Dates for the is_date_before / is_date_after / is_date_exact operators: ISO 8601 dates and
// datetimes (naive ones are UTC), relative dates ("-7d", "6h", "2w", "3m", "1y": that long ago)
// and epoch seconds, read the way the reference reads them.
#pragma once
#include "no_postgres.hpp"

#include <compare>
#include <cstdint>
#include <optional>
#include <string_view>

namespace flag_eval {

// A point in time, UTC. `nanos` reaches past 999'999'999 only inside a leap second
// (":60"), which keeps leap seconds ordered between :59 and the next minute.
struct Instant {
    std::int64_t seconds = 0;  // since 1970-01-01T00:00:00Z
    std::uint32_t nanos = 0;
    friend auto operator<=>(const Instant&, const Instant&) = default;
};

// "that long ago": `amount` hours, days, weeks, months or years.
struct RelativeDate {
    enum class Unit : char { Hour = 'h', Day = 'd', Week = 'w', Month = 'm', Year = 'y' };
    int amount = 0;  // 0..9999, as the reference accepts
    Unit unit = Unit::Day;
};

Instant current_instant();

// "-7d" or "7d" (both mean seven days ago); nullopt for anything else.
std::optional<RelativeDate> parse_relative_date(std::string_view text);

// `relative` counted back from `now`. Months and years step back one calendar month (year) at a
// time, clamping the day to the month's length, as the reference does. Nullopt out of range.
std::optional<Instant> resolve_relative_date(const RelativeDate& relative, Instant now);

// ISO 8601 / RFC 3339 dates and datetimes ("2024-03-21", "2024-03-21T10:00:00.5+02:00",
// "2024-03-21 10:00", offsets Z, ±HH, ±HHMM, ±HH:MM, UTC, GMT), naive ones read as UTC, and the
// all-digit unix timestamps the reference's fallback parser takes (10 digits: seconds, 13:
// milliseconds, 19: nanoseconds).
std::optional<Instant> parse_absolute_date(std::string_view text);

// A relative date resolved against `now`, else an absolute one.
std::optional<Instant> parse_date_text(std::string_view text, Instant now);

// Epoch seconds with a fraction, as the reference converts them (whole seconds rounded down,
// the fraction to the nearest nanosecond). Nullopt when not finite or out of range.
std::optional<Instant> instant_from_epoch_seconds(double seconds);

}  // namespace flag_eval
