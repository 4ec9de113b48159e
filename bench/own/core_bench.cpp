// Core evaluation benchmark (Google Benchmark): flag_eval::evaluate_flag over a JsonPropertySource,
// the way the decide service evaluates a flag, against a rotating set of precomputed persons.
//
// The flags are the JSON files of bench/inputs/flags/ (the same definitions the PostgreSQL scan
// uses); the directory is $FLAG_EVAL_BENCH_FLAGS (default: bench/inputs/flags, relative to the
// repository root). The persons follow the distributions of bench/inputs/sql/person_properties.sql,
// drawn from a different hash, so they are statistically alike, not the same rows.
//
// Baselines in the same binary: the bare property lookups a 3-filter evaluation can make, and
// the bucketing hash alone, so a ratio can be read off the same run.
//
// The field comparison (bench/field/field_eval.sh) uses four shapes: static, three_filters_50,
// regex and multivariate, with SHA-1 bucketing, the hash posthog-node uses (BM_Evaluate_*_Sha1 for
// the flags that do not name their bucketing). `core_bench --dump_field=DIR` writes those persons
// and flag_eval's answers for them, so node evaluates the same inputs and the answers can be
// compared.
#include "core/bucketing.hpp"
#include "core/evaluator.hpp"
#include "core/flag_parser.hpp"
#include "core/json_properties.hpp"

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace flag_eval;
namespace json = boost::json;

constexpr std::size_t kPersons = 1024;  // a power of two: the rotation is a mask

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

// A uniform pick in [0, n) for (id, seed), deterministic.
std::uint64_t pick(std::uint64_t id, std::uint64_t seed, std::uint64_t n) {
    return splitmix64(id * 0x100000001B3ULL + seed * 0x9E3779B97F4A7C15ULL) % n;
}

struct Person {
    std::string distinct_id;
    json::object properties;
};

// Same distributions as bench/inputs/sql/person_properties.sql.
Person make_person(std::uint64_t id) {
    static const std::array<const char*, 20> plans = {
        "free", "free", "free",    "free",       "free",       "free",    "free",
        "free", "free", "starter", "starter",    "starter",    "starter", "pro",
        "pro",  "Pro",  "PRO",     "enterprise", "Enterprise", "team"};
    static const std::array<const char*, 10> countries = {"US", "US", "us", "GB", "DE",
                                                          "FR", "IN", "BR", "CA", "JP"};
    static const std::array<const char*, 5> domains = {"example.com", "gmail.com", "posthog.com",
                                                       "yahoo.co.uk", "corp.example"};
    static const std::array<const char*, 6> tags = {"[]",
                                                    R"(["mobile"])",
                                                    R"(["web"])",
                                                    R"(["mobile","web"])",
                                                    R"(["newsletter","web"])",
                                                    R"(["api","mobile","web"])"};

    Person p;
    char uuid[40];
    const std::uint64_t a = splitmix64(id), b = splitmix64(id ^ 0xABCDEF);
    std::snprintf(uuid, sizeof uuid, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xFFFF), static_cast<unsigned>(a & 0xFFFF),
                  static_cast<unsigned>(b >> 48),
                  static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFULL));
    p.distinct_id = uuid;

    json::object& o = p.properties;
    o["plan"] = plans[pick(id, 1, plans.size())];
    o["country"] = countries[pick(id, 2, countries.size())];
    if (pick(id, 3, 10) != 0) o["age"] = static_cast<std::int64_t>(13 + pick(id, 4, 60));
    o["email"] = "user" + std::to_string(id) + "@" + domains[pick(id, 5, domains.size())];
    o["app_version"] = std::to_string(1 + pick(id, 6, 3)) + "." + std::to_string(pick(id, 7, 20)) +
                       "." + std::to_string(pick(id, 8, 10));
    const std::uint64_t seconds = pick(id, 9, 4ULL * 365 * 86400);
    char date[32];
    // 2020-01-01 plus `seconds`; a coarse calendar is enough for a property value.
    const std::uint64_t days = seconds / 86400, rem = seconds % 86400;
    std::snprintf(date, sizeof date, "%04llu-%02llu-%02lluT%02llu:%02llu:%02lluZ",
                  static_cast<unsigned long long>(2020 + days / 365),
                  static_cast<unsigned long long>(1 + (days % 365) / 31 % 12),
                  static_cast<unsigned long long>(1 + (days % 365) % 28),
                  static_cast<unsigned long long>(rem / 3600),
                  static_cast<unsigned long long>(rem / 60 % 60),
                  static_cast<unsigned long long>(rem % 60));
    o["signed_up_at"] = date;
    o["is_beta"] = pick(id, 10, 10) == 0;
    o["tags"] = json::parse(tags[pick(id, 11, tags.size())]);
    return p;
}

const std::vector<Person>& persons() {
    static const std::vector<Person> all = [] {
        std::vector<Person> v;
        v.reserve(kPersons);
        for (std::uint64_t id = 1; id <= kPersons; ++id) v.push_back(make_person(id));
        return v;
    }();
    return all;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The flag bench/inputs/flags/<name>.json compiled with `team_bucketing` as the team default (a
// flag that names its own bucketing keeps it).
const Flag& flag(const std::string& name, Bucketing team_bucketing = Bucketing::Xxh3) {
    static std::vector<std::pair<std::string, std::unique_ptr<Flag>>> flags;
    const std::string cache_key = name + "/" + std::string(bucketing_name(team_bucketing));
    for (const auto& [n, f] : flags)
        if (n == cache_key) return *f;
    const char* dir = std::getenv("FLAG_EVAL_BENCH_FLAGS");
    const std::string path =
        std::string(dir && *dir ? dir : "bench/inputs/flags") + "/" + name + ".json";
    flags.emplace_back(cache_key, compile_flag(json::parse(read_file(path)), team_bucketing));
    return *flags.back().second;
}

FlagResult evaluate_person(const Flag& f, const Person& p) {
    JsonPropertySource source(&p.properties);
    EvaluationContext context;
    context.distinct_id = p.distinct_id;
    context.person_properties = &source;
    return evaluate_flag(f, context, nullptr, nullptr);
}

// evaluate_flag for the rotating persons; the source and context are built per evaluation, as a
// host does per request or per row.
void evaluate(benchmark::State& state, const std::string& flag_name,
              Bucketing team_bucketing = Bucketing::Xxh3) {
    const Flag& f = flag(flag_name, team_bucketing);
    const auto& people = persons();
    std::size_t i = 0, enabled = 0, variants = 0;
    for (auto _ : state) {
        const FlagResult r = evaluate_person(f, people[i++ & (kPersons - 1)]);
        benchmark::DoNotOptimize(r.enabled);
        benchmark::DoNotOptimize(r.variant);
        enabled += r.enabled;
        variants += r.variant != nullptr;
    }
    state.counters["enabled_share"] =
        benchmark::Counter(static_cast<double>(enabled) / static_cast<double>(i));
    if (variants)
        state.counters["variant_share"] =
            benchmark::Counter(static_cast<double>(variants) / static_cast<double>(i));
}

void BM_Evaluate_3Filters_50pct(benchmark::State& state) { evaluate(state, "three_filters_50"); }
void BM_Evaluate_3Filters_100pct(benchmark::State& state) { evaluate(state, "three_filters_100"); }
void BM_Evaluate_Rollout_50pct(benchmark::State& state) { evaluate(state, "rollout_50"); }
void BM_Evaluate_Multivariate(benchmark::State& state) { evaluate(state, "multivariate"); }
// The field comparison's shapes (bench/field/field_eval.sh): static and regex name their bucketing
// (sha1).
void BM_Evaluate_Static(benchmark::State& state) { evaluate(state, "static"); }
void BM_Evaluate_Regex(benchmark::State& state) { evaluate(state, "regex"); }
void BM_Evaluate_3Filters_50pct_Sha1(benchmark::State& state) {
    evaluate(state, "three_filters_50", Bucketing::Sha1);
}
void BM_Evaluate_Multivariate_Sha1(benchmark::State& state) {
    evaluate(state, "multivariate", Bucketing::Sha1);
}

// Baseline: the three lookups of the 3-filter flag (plan, country, age) on a fresh source, with
// nothing matched — the floor of property access that any evaluation of that flag can approach.
void BM_Baseline_3Lookups(benchmark::State& state) {
    const auto& people = persons();
    std::size_t i = 0;
    for (auto _ : state) {
        const Person& p = people[i++ & (kPersons - 1)];
        JsonPropertySource source(&p.properties);
        PropertyValue plan = source.get("plan");
        PropertyValue country = source.get("country");
        PropertyValue age = source.get("age");
        benchmark::DoNotOptimize(plan);
        benchmark::DoNotOptimize(country);
        benchmark::DoNotOptimize(age);
    }
}

// Baseline: the lookups a 3-filter evaluation actually makes (it stops at the first filter that
// fails): plan always, country when plan is pro/enterprise, age when country is US too.
void BM_Baseline_ShortCircuitLookups(benchmark::State& state) {
    const auto& people = persons();
    std::size_t i = 0;
    auto ieq = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t k = 0; k < a.size(); ++k)
            if ((a[k] | 0x20) != (b[k] | 0x20)) return false;
        return true;
    };
    for (auto _ : state) {
        const Person& p = people[i++ & (kPersons - 1)];
        JsonPropertySource source(&p.properties);
        PropertyValue plan = source.get("plan");
        benchmark::DoNotOptimize(plan);
        if (ieq(plan.text, "pro") || ieq(plan.text, "enterprise")) {
            PropertyValue country = source.get("country");
            benchmark::DoNotOptimize(country);
            if (ieq(country.text, "us")) {
                PropertyValue age = source.get("age");
                benchmark::DoNotOptimize(age);
            }
        }
    }
}

// Baseline: the rollout hash alone (xxh3 of "<key>." + distinct_id).
void BM_Baseline_Hash01(benchmark::State& state) {
    const auto& people = persons();
    std::size_t i = 0;
    for (auto _ : state) {
        const Person& p = people[i++ & (kPersons - 1)];
        double h = hash01(Bucketing::Xxh3, "bench-3-filters.", p.distinct_id, "");
        benchmark::DoNotOptimize(h);
    }
}

// ---- --dump_field=DIR: the inputs and flag_eval's answers for bench/field/field_eval.sh ----

constexpr std::array<const char*, 4> kFieldShapes = {"static", "three_filters_50", "regex",
                                                     "multivariate"};

void write_json(const std::string& path, const json::value& v) {
    std::ofstream out(path);
    out << json::serialize(v) << '\n';
    if (!out) throw std::runtime_error("cannot write " + path);
}

// DIR/persons.json: [{distinct_id, properties}]; DIR/flag_eval_answers.json: {bucketing, shapes:
// {shape: [{enabled, variant, reason}] in person order}}, SHA-1 as the team default.
void dump_field(const std::string& dir) {
    json::array people;
    for (const Person& p : persons())
        people.push_back(
            json::object{{"distinct_id", p.distinct_id}, {"properties", p.properties}});
    json::object shapes;
    for (const char* shape : kFieldShapes) {
        const Flag& f = flag(shape, Bucketing::Sha1);
        json::array answers;
        for (const Person& p : persons()) {
            const FlagResult r = evaluate_person(f, p);
            json::value variant = r.variant ? json::value(*r.variant) : json::value(nullptr);
            answers.push_back(json::object{{"enabled", r.enabled},
                                           {"variant", variant},
                                           {"reason", std::string(reason_code(r.reason))}});
        }
        shapes[shape] = std::move(answers);
    }
    write_json(dir + "/persons.json", people);
    write_json(dir + "/flag_eval_answers.json",
               json::object{{"bucketing", "sha1"}, {"shapes", std::move(shapes)}});
}

}  // namespace

BENCHMARK(BM_Evaluate_3Filters_50pct);
BENCHMARK(BM_Evaluate_3Filters_100pct);
BENCHMARK(BM_Evaluate_Rollout_50pct);
BENCHMARK(BM_Evaluate_Multivariate);
BENCHMARK(BM_Evaluate_Static);
BENCHMARK(BM_Evaluate_Regex);
BENCHMARK(BM_Evaluate_3Filters_50pct_Sha1);
BENCHMARK(BM_Evaluate_Multivariate_Sha1);
BENCHMARK(BM_Baseline_3Lookups);
BENCHMARK(BM_Baseline_ShortCircuitLookups);
BENCHMARK(BM_Baseline_Hash01);

// Google Benchmark's main, plus --dump_field=DIR (which runs no benchmark).
int main(int argc, char** argv) {
    constexpr const char* kDump = "--dump_field=";
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], kDump, std::strlen(kDump)) != 0) continue;
        try {
            dump_field(argv[i] + std::strlen(kDump));
            return 0;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "core_bench: %s\n", e.what());
            return 1;
        }
    }
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
