// Date parsing for the is_date_* operators. Calendar arithmetic is proleptic Gregorian on
// days since 1970-01-01, so no time zone database or C library time functions are involved.
#include "dates.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>

namespace flag_eval {
namespace {

constexpr std::int64_t seconds_per_day = 86'400;
constexpr std::uint32_t nanos_per_second = 1'000'000'000;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

bool is_leap_year(std::int64_t y) { return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0); }

int days_in_month(std::int64_t year, int month) {
    static constexpr int lengths[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap_year(year) ? 29 : lengths[month - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (eras of 400 years, years starting in March).
std::int64_t days_from_civil(std::int64_t year, int month, int day) {
    const std::int64_t y = month <= 2 ? year - 1 : year;
    const std::int64_t era = floor_div(y, 400);
    const std::int64_t year_of_era = y - era * 400;
    const int shifted_month = month > 2 ? month - 3 : month + 9;
    const std::int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    const std::int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146'097 + day_of_era - 719'468;
}

struct CivilDate {
    std::int64_t year;
    int month;
    int day;
};

CivilDate civil_from_days(std::int64_t days) {
    const std::int64_t z = days + 719'468;
    const std::int64_t era = floor_div(z, 146'097);
    const std::int64_t day_of_era = z - era * 146'097;
    const std::int64_t year_of_era =
        (day_of_era - day_of_era / 1'460 + day_of_era / 36'524 - day_of_era / 146'096) / 365;
    const std::int64_t day_of_year =
        day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    const std::int64_t mp = (5 * day_of_year + 2) / 153;
    const int day = static_cast<int>(day_of_year - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    return {year_of_era + era * 400 + (month <= 2 ? 1 : 0), month, day};
}

// The reference's datetime type (chrono) spans years -262144 to 262143.
const std::int64_t earliest_second = days_from_civil(-262'144, 1, 1) * seconds_per_day;
const std::int64_t latest_second =
    days_from_civil(262'143, 12, 31) * seconds_per_day + seconds_per_day - 1;

bool in_supported_range(std::int64_t seconds) {
    return seconds >= earliest_second && seconds <= latest_second;
}

// A left-to-right reader over the text being parsed.
class Cursor {
public:
    explicit Cursor(std::string_view text) : text_(text) {}
    bool at_end() const { return pos_ == text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }
    bool eat(char c) {
        if (at_end() || text_[pos_] != c) return false;
        ++pos_;
        return true;
    }
    bool eat_word(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }
    void skip_spaces() {
        while (eat(' ')) {
        }
    }
    // Between min_digits and max_digits decimal digits.
    std::optional<int> number(std::size_t min_digits, std::size_t max_digits) {
        std::size_t start = pos_;
        int value = 0;
        while (pos_ - start < max_digits && !at_end() && peek() >= '0' && peek() <= '9')
            value = value * 10 + (text_[pos_++] - '0');
        if (pos_ - start < min_digits) return std::nullopt;
        return value;
    }
    // Fractional digits after the decimal point, as nanoseconds; digits past the ninth are
    // read and ignored, as the reference does.
    std::optional<std::uint32_t> fraction_nanos() {
        std::size_t start = pos_;
        std::uint32_t nanos = 0;
        std::uint32_t scale = 100'000'000;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            nanos += static_cast<std::uint32_t>(text_[pos_++] - '0') * scale;
            scale /= 10;
        }
        if (pos_ == start) return std::nullopt;
        return nanos;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

// Offset east of UTC in seconds: Z, UTC, GMT, ±HH, ±HHMM or ±HH:MM.
std::optional<std::int64_t> parse_utc_offset(Cursor& in) {
    if (in.eat('Z') || in.eat('z') || in.eat_word("UTC") || in.eat_word("GMT")) return 0;
    int sign = 0;
    if (in.eat('+'))
        sign = 1;
    else if (in.eat('-'))
        sign = -1;
    else
        return std::nullopt;
    std::optional<int> hours = in.number(2, 2);
    if (!hours || *hours > 23) return std::nullopt;
    int minutes = 0;
    const bool colon = in.eat(':');
    if (colon || !in.at_end()) {
        std::optional<int> m = in.number(2, 2);
        if (!m || *m > 59) return std::nullopt;
        minutes = *m;
    }
    return sign * (*hours * 3'600 + minutes * 60);
}

std::optional<Instant> parse_iso_datetime(std::string_view text) {
    Cursor in(text);
    std::optional<int> year = in.number(4, 4);
    if (!year || !in.eat('-')) return std::nullopt;
    std::optional<int> month = in.number(1, 2);
    if (!month || *month < 1 || *month > 12 || !in.eat('-')) return std::nullopt;
    std::optional<int> day = in.number(1, 2);
    if (!day || *day < 1 || *day > days_in_month(*year, *month)) return std::nullopt;
    const std::int64_t midnight = days_from_civil(*year, *month, *day) * seconds_per_day;
    if (in.at_end()) return Instant{midnight, 0};

    if (!(in.eat('T') || in.eat('t') || in.eat(' '))) return std::nullopt;
    std::optional<int> hour = in.number(1, 2);
    if (!hour || *hour > 23 || !in.eat(':')) return std::nullopt;
    std::optional<int> minute = in.number(1, 2);
    if (!minute || *minute > 59) return std::nullopt;
    int second = 0;
    std::uint32_t nanos = 0;
    if (in.eat(':')) {
        std::optional<int> s = in.number(1, 2);
        if (!s || *s > 60) return std::nullopt;
        second = *s;
        if (in.eat('.')) {
            std::optional<std::uint32_t> fraction = in.fraction_nanos();
            if (!fraction) return std::nullopt;
            nanos = *fraction;
        }
    }
    if (second == 60) {  // a leap second sorts after :59.999999999
        second = 59;
        nanos += nanos_per_second;
    }
    in.skip_spaces();
    std::int64_t offset = 0;
    if (!in.at_end()) {
        std::optional<std::int64_t> parsed = parse_utc_offset(in);
        if (!parsed || !in.at_end()) return std::nullopt;
        offset = *parsed;
    }
    return Instant{midnight + *hour * 3'600 + *minute * 60 + second - offset, nanos};
}

// The reference's fallback parser reads all-digit strings of 10, 13 or 19 digits as seconds,
// milliseconds or nanoseconds since the epoch.
std::optional<Instant> parse_unix_timestamp_digits(std::string_view text) {
    if (text.size() != 10 && text.size() != 13 && text.size() != 19) return std::nullopt;
    if (!std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    const std::int64_t per_second = text.size() == 10   ? 1
                                    : text.size() == 13 ? 1'000
                                                        : 1'000'000'000;
    const std::int64_t nanos_per_unit = 1'000'000'000 / per_second;
    return Instant{value / per_second,
                   static_cast<std::uint32_t>((value % per_second) * nanos_per_unit)};
}

std::optional<Instant> step_back_calendar(const RelativeDate& relative, Instant now) {
    const std::int64_t days = floor_div(now.seconds, seconds_per_day);
    const std::int64_t second_of_day = now.seconds - days * seconds_per_day;
    CivilDate date = civil_from_days(days);
    int remaining = relative.amount;
    if (relative.unit == RelativeDate::Unit::Month) {
        // Step one month at a time, clamping the day; once the day is 28 or less no month
        // clamps it further, so the rest is plain arithmetic.
        while (remaining > 0 && date.day > 28) {
            if (--date.month == 0) date.month = 12, --date.year;
            date.day = std::min(date.day, days_in_month(date.year, date.month));
            --remaining;
        }
        const std::int64_t months = date.year * 12 + (date.month - 1) - remaining;
        date.year = floor_div(months, 12);
        date.month = static_cast<int>(months - date.year * 12) + 1;
    } else {
        // Only 29 February is clamped (to the 28th) when stepping back a year.
        while (remaining > 0 && date.month == 2 && date.day == 29) {
            --date.year;
            date.day = std::min(date.day, days_in_month(date.year, 2));
            --remaining;
        }
        date.year -= remaining;
    }
    const std::int64_t seconds =
        days_from_civil(date.year, date.month, date.day) * seconds_per_day + second_of_day;
    if (!in_supported_range(seconds)) return std::nullopt;
    return Instant{seconds, now.nanos};
}

}  // namespace

Instant current_instant() {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    const std::int64_t nanos =
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
    const std::int64_t seconds = floor_div(nanos, nanos_per_second);
    return Instant{seconds, static_cast<std::uint32_t>(nanos - seconds * nanos_per_second)};
}

std::optional<RelativeDate> parse_relative_date(std::string_view text) {
    if (text.starts_with('-')) text.remove_prefix(1);
    if (text.size() < 2) return std::nullopt;
    const char unit = text.back();
    if (unit != 'h' && unit != 'd' && unit != 'w' && unit != 'm' && unit != 'y')
        return std::nullopt;
    const std::string_view digits = text.substr(0, text.size() - 1);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return std::nullopt;
    std::int64_t amount = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), amount);
    if (error != std::errc() || end != digits.data() + digits.size() || amount >= 10'000)
        return std::nullopt;
    return RelativeDate{static_cast<int>(amount), static_cast<RelativeDate::Unit>(unit)};
}

std::optional<Instant> resolve_relative_date(const RelativeDate& relative, Instant now) {
    std::int64_t unit_seconds = 0;
    switch (relative.unit) {
        case RelativeDate::Unit::Hour: unit_seconds = 3'600; break;
        case RelativeDate::Unit::Day: unit_seconds = seconds_per_day; break;
        case RelativeDate::Unit::Week: unit_seconds = 7 * seconds_per_day; break;
        case RelativeDate::Unit::Month:
        case RelativeDate::Unit::Year: return step_back_calendar(relative, now);
    }
    const std::int64_t seconds = now.seconds - relative.amount * unit_seconds;
    if (!in_supported_range(seconds)) return std::nullopt;
    return Instant{seconds, now.nanos};
}

std::optional<Instant> parse_absolute_date(std::string_view text) {
    if (std::optional<Instant> instant = parse_iso_datetime(text)) return instant;
    return parse_unix_timestamp_digits(text);
}

std::optional<Instant> parse_date_text(std::string_view text, Instant now) {
    if (std::optional<RelativeDate> relative = parse_relative_date(text))
        return resolve_relative_date(*relative, now);
    return parse_absolute_date(text);
}

std::optional<Instant> instant_from_epoch_seconds(double seconds) {
    if (!std::isfinite(seconds)) return std::nullopt;
    const double whole = std::floor(seconds);
    if (whole < static_cast<double>(earliest_second) || whole > static_cast<double>(latest_second))
        return std::nullopt;
    const auto whole_seconds = static_cast<std::int64_t>(whole);
    // fmod keeps the sign of a negative input; the reference's conversion to an unsigned
    // nanosecond count then makes that fraction 0.
    const double fraction = std::round(std::fmod(seconds, 1.0) * 1e9);
    const std::uint32_t nanos = fraction <= 0 ? 0 : static_cast<std::uint32_t>(fraction);
    if (nanos >= nanos_per_second && (whole_seconds % 60 + 60) % 60 != 59)
        return std::nullopt;  // a full second of fraction is only valid as a leap second
    return Instant{whole_seconds, nanos};
}

}  // namespace flag_eval
