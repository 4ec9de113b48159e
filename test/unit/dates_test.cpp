// Date parsing and relative-date arithmetic, with the fixed-clock cases of the reference's
// relative_date.rs tests.
#include "core/dates.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace flag_eval {
namespace {

// 2020-01-01T12:01:20.134Z, the reference tests' fixed "now".
const Instant reference_now{1'577'880'080, 134'000'000};

Instant at(std::string_view iso) {
    std::optional<Instant> instant = parse_absolute_date(iso);
    EXPECT_TRUE(instant) << iso;
    return instant.value_or(Instant{});
}

Instant ago(std::string_view relative, Instant now) {
    std::optional<RelativeDate> parsed = parse_relative_date(relative);
    EXPECT_TRUE(parsed) << relative;
    if (!parsed) return {};
    std::optional<Instant> instant = resolve_relative_date(*parsed, now);
    EXPECT_TRUE(instant) << relative;
    return instant.value_or(Instant{});
}

TEST(DatesParse, IsoForms) {
    EXPECT_EQ(at("1970-01-01"), (Instant{0, 0}));
    EXPECT_EQ(at("2024-03-21"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-21T00:00:00Z"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-21t00:00:00z"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-21 00:00:00"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-21T00:00"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-3-5"), at("2024-03-05"));
    EXPECT_EQ(at("2024-03-21T02:00:00+02:00"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-21T02:00:00+0200"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-20T19:00:00-05"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-21 00:00:00 UTC"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("2024-03-21T00:00:00.5Z"), (Instant{1'710'979'200, 500'000'000}));
    EXPECT_EQ(at("2024-03-21T00:00:00.123456789123Z"), (Instant{1'710'979'200, 123'456'789}));
    EXPECT_EQ(at("2025-12-19T00:00:00.12"), (Instant{1'766'102'400, 120'000'000}));
    EXPECT_EQ(at("1969-12-31T23:59:59Z"), (Instant{-1, 0}));
    EXPECT_EQ(at("0000-01-01"), (Instant{-62'167'219'200, 0}));
    EXPECT_EQ(at("2024-02-29"), (Instant{1'709'164'800, 0}));
}

TEST(DatesParse, LeapSecondSortsBetweenTheMinutes) {
    const Instant leap = at("2016-12-31T23:59:60Z");
    EXPECT_LT(at("2016-12-31T23:59:59.999Z"), leap);
    EXPECT_LT(leap, at("2017-01-01T00:00:00Z"));
}

TEST(DatesParse, UnixTimestampDigits) {
    EXPECT_EQ(at("1710979200"), (Instant{1'710'979'200, 0}));
    EXPECT_EQ(at("1710979200123"), (Instant{1'710'979'200, 123'000'000}));
    EXPECT_EQ(at("1710979200123456789"), (Instant{1'710'979'200, 123'456'789}));
    EXPECT_FALSE(parse_absolute_date("171097920"));    // 9 digits
    EXPECT_FALSE(parse_absolute_date("17109792001"));  // 11 digits
}

TEST(DatesParse, Rejects) {
    for (const char* text : {"",
                             "invalid-date",
                             "2023-02-29",
                             "2024-13-01",
                             "2024-00-10",
                             "2024-01-32",
                             "24-01-01",
                             "2024-01-01T24:00:00Z",
                             "2024-01-01T10:60:00Z",
                             "2024-01-01T10:00:61Z",
                             "2024-01-01T10:00:00+24:00",
                             "2024-01-01T10:00:00+05:60",
                             "2024-01-01T10:00:00.Z",
                             "2024-01-01T10",
                             "2024-01-01X10:00",
                             "2024-01-01T10:00:00 PST",
                             "2024-01-01Z",
                             " 2024-01-01",
                             "2024-01-01 ",
                             "2024/01/01",
                             "-3d"})
        EXPECT_FALSE(parse_absolute_date(text)) << '"' << text << '"';
}

TEST(DatesRelative, ParseAcceptsOptionalMinusAndLimits) {
    for (const char* text :
         {"-3d", "3d", "-3h", "3h", "-3w", "3w", "-3m", "3m", "-3y", "3y", "000h", "9999d"})
        EXPECT_TRUE(parse_relative_date(text)) << text;
    for (const char* text : {"invalid",
                             "3x",
                             "1",
                             "1x",
                             "1.2y",
                             "1z",
                             "1s",
                             "bazinga",
                             "000bello",
                             "-",
                             "d",
                             "-d",
                             "+3d",
                             "--3d",
                             "3D",
                             " 3d",
                             "3d ",
                             "10000d",
                             "100000d",
                             "1000000h",
                             "100000000000000000y",
                             "99999999999999999999999d"})
        EXPECT_FALSE(parse_relative_date(text)) << text;
    std::optional<RelativeDate> parsed = parse_relative_date("-14w");
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->amount, 14);
    EXPECT_EQ(parsed->unit, RelativeDate::Unit::Week);
}

TEST(DatesRelative, FixedDurations) {
    EXPECT_EQ(ago("1h", reference_now), (Instant{reference_now.seconds - 3'600, 134'000'000}));
    EXPECT_EQ(ago("24h", reference_now), ago("1d", reference_now));
    EXPECT_EQ(ago("48h", reference_now), ago("2d", reference_now));
    EXPECT_EQ(ago("30h", reference_now), at("2019-12-31T06:01:20.134Z"));
    EXPECT_EQ(ago("7d", reference_now), at("2019-12-25T12:01:20.134Z"));
    EXPECT_EQ(ago("30d", reference_now), at("2019-12-02T12:01:20.134Z"));
    EXPECT_EQ(ago("1w", reference_now), ago("7d", reference_now));
    EXPECT_EQ(ago("8w", reference_now), at("2019-11-06T12:01:20.134Z"));
    EXPECT_EQ(ago("-8w", reference_now), ago("8w", reference_now));
}

TEST(DatesRelative, CalendarMonthsAndYears) {
    EXPECT_EQ(ago("1m", reference_now), at("2019-12-01T12:01:20.134Z"));
    EXPECT_EQ(ago("2m", reference_now), at("2019-11-01T12:01:20.134Z"));
    EXPECT_EQ(ago("8m", reference_now), at("2019-05-01T12:01:20.134Z"));
    EXPECT_EQ(ago("1y", reference_now), at("2019-01-01T12:01:20.134Z"));
    EXPECT_EQ(ago("12m", reference_now), ago("1y", reference_now));
    EXPECT_NE(ago("4w", reference_now), ago("1m", reference_now));

    const Instant april = at("2020-04-03T00:00:00Z");
    EXPECT_EQ(ago("1m", april), at("2020-03-03"));
    EXPECT_EQ(ago("2m", april), at("2020-02-03"));
    EXPECT_EQ(ago("4m", april), at("2019-12-03"));
    EXPECT_EQ(ago("8m", april), at("2019-08-03"));
    EXPECT_EQ(ago("9999m", april), at("1187-01-03"));

    // The day is clamped month by month, and stays clamped, as in the reference.
    const Instant march_end = at("2020-03-31T08:00:00Z");
    EXPECT_EQ(ago("1m", march_end), at("2020-02-29T08:00:00Z"));
    EXPECT_EQ(ago("2m", march_end), at("2020-01-29T08:00:00Z"));
    EXPECT_EQ(ago("13m", march_end), at("2019-02-28T08:00:00Z"));
    EXPECT_EQ(ago("1m", at("2021-07-31")), at("2021-06-30"));
    EXPECT_EQ(ago("2m", at("2021-07-31")), at("2021-05-30"));

    const Instant leap_day = at("2020-02-29T10:00:00Z");
    EXPECT_EQ(ago("1y", leap_day), at("2019-02-28T10:00:00Z"));
    EXPECT_EQ(ago("4y", leap_day), at("2016-02-28T10:00:00Z"));
    EXPECT_EQ(ago("1y", at("2024-05-31")), at("2023-05-31"));
}

TEST(DatesEpoch, SecondsWithFractions) {
    EXPECT_EQ(instant_from_epoch_seconds(1836277747), (Instant{1'836'277'747, 0}));
    // The reference's own expectation for 1836277747.86753 (binary64 rounding included).
    EXPECT_EQ(instant_from_epoch_seconds(1836277747.86753), (Instant{1'836'277'747, 867'530'107}));
    EXPECT_EQ(instant_from_epoch_seconds(-1.5), (Instant{-2, 0}));
    EXPECT_EQ(instant_from_epoch_seconds(0.0), (Instant{0, 0}));
    EXPECT_FALSE(instant_from_epoch_seconds(std::nan("")));
    EXPECT_FALSE(instant_from_epoch_seconds(HUGE_VAL));
    EXPECT_FALSE(instant_from_epoch_seconds(1e300));
    EXPECT_TRUE(instant_from_epoch_seconds(8e12));
    EXPECT_FALSE(instant_from_epoch_seconds(9e12));
}

TEST(DatesText, RelativeBeforeAbsolute) {
    EXPECT_EQ(parse_date_text("-7d", reference_now), ago("7d", reference_now));
    EXPECT_EQ(parse_date_text("2020-01-01", reference_now), at("2020-01-01"));
    EXPECT_FALSE(parse_date_text("soon", reference_now));
}

TEST(DatesClock, CurrentInstantIsNow) {
    const Instant now = current_instant();
    EXPECT_GT(now.seconds, 1'700'000'000);  // after 2023-11
    EXPECT_LT(now.nanos, 1'000'000'000u);
}

}  // namespace
}  // namespace flag_eval
