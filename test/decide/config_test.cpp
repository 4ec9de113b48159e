// Config: the JSON file, flags over it, and an error message naming the fault for each mistake.
#include "decide/config.hpp"
#include "decide/settings.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace flag_eval::decide {
namespace {

using namespace std::chrono_literals;

// A temporary directory for config files, removed with the fixture.
class ConfigTest : public ::testing::Test {
protected:
    void SetUp() override {
        char pattern[] = "/tmp/flag_decide_config_test.XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::string write_file(const std::string& name, const std::string& text) {
        const auto path = dir_ / name;
        std::ofstream(path) << text;
        return path.string();
    }

    std::filesystem::path dir_;
};

Config load(const std::vector<std::string>& args) {
    std::vector<std::string> storage{"flag-decide"};
    storage.insert(storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : storage) argv.push_back(arg.data());
    argv.push_back(nullptr);
    return load_config(static_cast<int>(storage.size()), argv.data());
}

// The ConfigError message of load(args); fails the test when it loads.
std::string error_of(const std::vector<std::string>& args) {
    try {
        load(args);
    } catch (const ConfigError& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected a ConfigError";
    return "";
}

#define EXPECT_CONTAINS(haystack, needle) \
    EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

const std::string kRoute = "--route=r1=replica=host=127.0.0.1 dbname=app";

constexpr const char* kFullFile = R"({
  // comments are allowed
  "listen_address": "0.0.0.0",
  "listen_port": 9000,
  "routes": [
    {"name": "bouncer", "role": "pooler", "conninfo": "host=127.0.0.1 port=6432 dbname=app",
     "backend": "replica1"},
    {"name": "replica1", "role": "replica", "conninfo": "host=10.0.0.2 dbname=app"},
    {"name": "primary", "role": "primary", "conninfo": "postgresql://10.0.0.1/app"},
  ],
  "request_deadline_ms": 40,
  "hedge_after_ms": 15,
  "refresh_interval_ms": 700,
  "snapshot_path": "/var/lib/flag-decide/snapshot.json",
  "max_replica_lag_ms": 3000,
  "max_body_bytes": 2048,
  "max_connections": 50,
  "probe_interval_ms": 100,
  "pool_size": 8
})";

TEST_F(ConfigTest, DefaultsWithOneRouteFlag) {
    const Config c = load({kRoute});
    EXPECT_EQ(c.listen_address, "127.0.0.1");
    EXPECT_EQ(c.listen_port, 8000);
    ASSERT_EQ(c.routes.size(), 1u);
    EXPECT_EQ(c.routes[0].name, "r1");
    EXPECT_EQ(c.routes[0].role, RouteRole::Replica);
    EXPECT_EQ(c.routes[0].conninfo, "host=127.0.0.1 dbname=app");
    EXPECT_EQ(c.request_deadline, 50ms);
    EXPECT_EQ(c.hedge_after, 10ms);
    EXPECT_EQ(c.refresh_interval, 500ms);
    EXPECT_EQ(c.definitions_stale_after, 30000ms);
    EXPECT_EQ(c.snapshot_path, "");
    EXPECT_EQ(c.max_replica_lag, 2000ms);
    EXPECT_EQ(c.max_body_bytes, 1u << 20);
    EXPECT_EQ(c.max_connections, 10000u);
    EXPECT_EQ(c.probe_interval, 250ms);
    EXPECT_EQ(c.pool_size, 0u);             // one per event-loop thread, at least 2 (main.cpp)
    EXPECT_EQ(c.threads, 0u);               // one per CPU
    EXPECT_EQ(c.rate_limit_per_token, 0u);  // no rate limits
    EXPECT_EQ(c.rate_limit_per_address, 0u);
    EXPECT_TRUE(c.trusted_proxies.empty());
    EXPECT_FALSE(c.help_requested);
}

TEST_F(ConfigTest, ReadsEveryKeyOfTheFile) {
    const Config c = load({"--config", write_file("full.json", kFullFile)});
    EXPECT_EQ(c.listen_address, "0.0.0.0");
    EXPECT_EQ(c.listen_port, 9000);
    ASSERT_EQ(c.routes.size(), 3u);
    EXPECT_EQ(c.routes[0].name, "bouncer");
    EXPECT_EQ(c.routes[0].role, RouteRole::Pooler);
    EXPECT_EQ(c.routes[0].backend_name(), "replica1");
    EXPECT_EQ(c.routes[1].backend_name(), "replica1") << "a route's own name by default";
    EXPECT_EQ(c.routes[2].role, RouteRole::Primary);
    EXPECT_EQ(c.routes[2].conninfo, "postgresql://10.0.0.1/app");
    EXPECT_EQ(c.request_deadline, 40ms);
    EXPECT_EQ(c.hedge_after, 15ms);
    EXPECT_EQ(c.refresh_interval, 700ms);
    EXPECT_EQ(c.snapshot_path, "/var/lib/flag-decide/snapshot.json");
    EXPECT_EQ(c.max_replica_lag, 3000ms);
    EXPECT_EQ(c.max_body_bytes, 2048u);
    EXPECT_EQ(c.max_connections, 50u);
    EXPECT_EQ(c.probe_interval, 100ms);
    EXPECT_EQ(c.pool_size, 8u);
}

TEST_F(ConfigTest, FlagsOverrideTheFileWhereverTheyStand) {
    const std::string file = write_file("full.json", kFullFile);
    const Config c =
        load({"--deadline-ms", "25", "--config", file, "--listen", "[::1]:0", "--refresh-ms=2000",
              "--snapshot", "/tmp/s.json", "--max-lag-ms", "0", "--max-body-bytes", "100",
              "--max-connections", "7", "--pool-size", "2", "--probe-ms", "50"});
    EXPECT_EQ(c.listen_address, "::1");
    EXPECT_EQ(c.listen_port, 0);
    EXPECT_EQ(c.request_deadline, 25ms);
    EXPECT_EQ(c.refresh_interval, 2000ms);
    EXPECT_EQ(c.snapshot_path, "/tmp/s.json");
    EXPECT_EQ(c.max_replica_lag, 0ms);
    EXPECT_EQ(c.max_body_bytes, 100u);
    EXPECT_EQ(c.max_connections, 7u);
    EXPECT_EQ(c.pool_size, 2u);
    EXPECT_EQ(c.probe_interval, 50ms);
    EXPECT_EQ(c.routes.size(), 3u) << "no --route: the file's routes stay";
}

TEST_F(ConfigTest, RouteFlagsReplaceTheFileRoutesInOrder) {
    const Config c = load({"--config", write_file("full.json", kFullFile), "--route",
                           "b=pooler=host=b port=6432", "--route", "p=primary=host=p"});
    ASSERT_EQ(c.routes.size(), 2u);
    EXPECT_EQ(c.routes[0].name, "b");
    EXPECT_EQ(c.routes[0].conninfo, "host=b port=6432");
    EXPECT_EQ(c.routes[1].name, "p");
    EXPECT_EQ(c.routes[1].role, RouteRole::Primary);
}

TEST_F(ConfigTest, HelpStopsBeforeValidation) {
    const Config c = load({"--help"});
    EXPECT_TRUE(c.help_requested);
    EXPECT_CONTAINS(config_usage(), "--route NAME=ROLE=CONNINFO");
}

TEST_F(ConfigTest, FlagMistakesNameTheFlag) {
    EXPECT_CONTAINS(error_of({"--bogus", "1"}), "unknown flag --bogus");
    EXPECT_CONTAINS(error_of({"stray"}), "unexpected argument \"stray\"");
    EXPECT_CONTAINS(error_of({kRoute, "--deadline-ms"}), "--deadline-ms needs a value");
    EXPECT_CONTAINS(error_of({kRoute, "--deadline-ms", "fast"}),
                    "--deadline-ms: \"fast\" is not a whole number");
    EXPECT_CONTAINS(error_of({kRoute, "--pool-size", "-1"}),
                    "--pool-size: \"-1\" is not a whole number");
    EXPECT_CONTAINS(error_of({kRoute, "--max-body-bytes", "12kb"}), "--max-body-bytes");
    EXPECT_CONTAINS(error_of({kRoute, "--listen", "8000"}), "--listen: expected HOST:PORT");
    EXPECT_CONTAINS(error_of({kRoute, "--listen", "[::1]8000"}), "--listen: expected HOST:PORT");
    EXPECT_CONTAINS(error_of({kRoute, "--listen", "127.0.0.1:70000"}), "--listen port");
    EXPECT_CONTAINS(error_of({kRoute, "--listen", "localhost:80"}),
                    "\"localhost\" is not an IPv4 or IPv6 address");
    EXPECT_CONTAINS(error_of({"--route", "r1=replica"}), "--route: expected NAME=ROLE=CONNINFO");
}

TEST_F(ConfigTest, ValidationMistakesNameTheSetting) {
    EXPECT_CONTAINS(error_of({}), "no routes configured");
    EXPECT_CONTAINS(error_of({"--route", "r1=leader=host=x"}),
                    "route \"r1\": role \"leader\" is not one of pooler, replica, primary");
    EXPECT_CONTAINS(error_of({"--route", "=replica=host=x"}), "route with an empty name");
    EXPECT_CONTAINS(error_of({"--route", "r1=replica=host=x", "--route", "r1=primary=host=y"}),
                    "route \"r1\": the name is used twice");
    EXPECT_CONTAINS(error_of({"--route", "r1=replica="}), "route \"r1\": conninfo is empty");
    EXPECT_CONTAINS(error_of({"--route", "r1=replica=host"}),
                    "route \"r1\": conninfo is not a valid libpq connection string");
    EXPECT_CONTAINS(error_of({"--route", "r1=replica=nosuchoption=1"}),
                    "route \"r1\": conninfo is not a valid libpq connection string");
    EXPECT_CONTAINS(error_of({kRoute, "--deadline-ms", "0"}),
                    "request deadline (request_deadline_ms / --deadline-ms) must be > 0");
    EXPECT_CONTAINS(error_of({kRoute, "--refresh-ms", "0"}), "refresh_interval_ms / --refresh-ms");
    EXPECT_CONTAINS(error_of({kRoute, "--probe-ms", "0"}), "probe_interval_ms / --probe-ms");
    EXPECT_CONTAINS(error_of({kRoute, "--max-body-bytes", "0"}),
                    "max_body_bytes / --max-body-bytes");
    EXPECT_CONTAINS(error_of({kRoute, "--max-connections", "0"}),
                    "max_connections / --max-connections");
}

TEST_F(ConfigTest, FileMistakesNameTheFileAndKey) {
    const auto error_for_file = [&](const std::string& text) {
        const std::string path = write_file("bad.json", text);
        const std::string message = error_of({"--config", path});
        EXPECT_CONTAINS(message, "config file " + path);
        return message;
    };
    EXPECT_CONTAINS(error_of({"--config", (dir_ / "missing.json").string()}),
                    "missing.json: cannot read the file: No such file or directory");
    EXPECT_CONTAINS(error_for_file("{\n  \"listen_port\": 80,\n  oops\n}"),
                    "invalid JSON at line 3");
    EXPECT_CONTAINS(error_for_file("[1, 2]"), "must hold a JSON object");
    EXPECT_CONTAINS(error_for_file(R"({"listen_prot": 80})"),
                    "\"listen_prot\" is not a configuration key");
    EXPECT_CONTAINS(error_for_file(R"({"listen_port": "80"})"),
                    "\"listen_port\" must be a whole number from 0 to 65535");
    EXPECT_CONTAINS(error_for_file(R"({"listen_port": 65536})"), "\"listen_port\" must be");
    EXPECT_CONTAINS(error_for_file(R"({"request_deadline_ms": -5})"),
                    "\"request_deadline_ms\" must be a whole number");
    EXPECT_CONTAINS(error_for_file(R"({"request_deadline_ms": 1.5})"), "\"request_deadline_ms\"");
    EXPECT_CONTAINS(error_for_file(R"({"snapshot_path": 3})"),
                    "\"snapshot_path\" must be a string");
    EXPECT_CONTAINS(error_for_file(R"({"routes": {}})"), "\"routes\" must be an array");
    EXPECT_CONTAINS(error_for_file(R"({"routes": ["r1"]})"), "\"routes[0]\" must be an object");
    EXPECT_CONTAINS(error_for_file(R"({"routes": [{"name": "a", "role": "replica"}]})"),
                    "\"routes[0]\" is missing \"conninfo\"");
    EXPECT_CONTAINS(
        error_for_file(R"({"routes": [{"name": "a", "role": "replica", "conninfo": "", "x": 1}]})"),
        "\"routes[0].x\" is not a route key");
    EXPECT_CONTAINS(
        error_for_file(R"({"routes": [{"name": 1, "role": "replica", "conninfo": ""}]})"),
        "\"routes[0].name\" must be a string");
    // Validation still applies to what the file gave.
    EXPECT_CONTAINS(error_of({"--config", write_file("roles.json",
                                                     R"({"routes": [{"name": "a", "role": "standby",
                                                         "conninfo": "host=x"}]})")}),
                    "route \"a\": role \"standby\"");
}

TEST_F(ConfigTest, TheExampleFileLoads) {
    // The example shipped in deploy/ must stay a valid configuration.
    const std::filesystem::path example =
        std::filesystem::path(__FILE__).parent_path() / "../../deploy/flag-decide.example.json";
    ASSERT_TRUE(std::filesystem::exists(example)) << example;
    const Config c = load({"--config", example.string()});
    EXPECT_GE(c.routes.size(), 1u);
}

TEST_F(ConfigTest, CorsOriginsAreAnyByDefaultAndCheckedWhenListed) {
    EXPECT_EQ(load({kRoute}).cors_allowed_origins, std::vector<std::string>{"*"});
    EXPECT_TRUE(load({kRoute, "--cors-origins="}).cors_allowed_origins.empty());
    EXPECT_EQ(
        load({"--config", write_file("star.json", R"({"cors_allowed_origins": "*"})"), kRoute})
            .cors_allowed_origins,
        std::vector<std::string>{"*"});
    EXPECT_CONTAINS(error_of({kRoute, "--cors-origins=https://app.example/"}),
                    "\"https://app.example/\" must be scheme://host[:port] alone");
    EXPECT_CONTAINS(error_of({kRoute, "--cors-origins=app.example"}),
                    "must be \"*\" or start with http:// or https://");
    EXPECT_CONTAINS(
        error_of({"--config", write_file("bad.json", R"({"cors_allowed_origins": 3})"), kRoute}),
        "\"cors_allowed_origins\" must be \"*\" or an array of origins");
}

TEST_F(ConfigTest, RateLimitsAreOffByDefaultAndBoundedWhenSet) {
    const Config c =
        load({kRoute, "--rate-limit-per-token=50", "--rate-limit-per-address=20",
              "--rate-limit-per-address-burst=100", "--trusted-proxies=10.0.0.0/8, 2001:db8::7"});
    EXPECT_EQ(c.rate_limit_per_token, 50u);
    EXPECT_EQ(c.rate_limit_per_token_burst, 0u) << "ten seconds of the rate, later";
    EXPECT_EQ(c.rate_limit_per_address, 20u);
    EXPECT_EQ(c.rate_limit_per_address_burst, 100u);
    EXPECT_EQ(c.trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "2001:db8::7"}));
    EXPECT_CONTAINS(error_of({kRoute, "--rate-limit-per-token=1000000001"}),
                    "--rate-limit-per-token: \"1000000001\" is not a whole number from 0 to "
                    "1000000000");
    EXPECT_CONTAINS(
        error_of({"--config",
                  write_file("big.json", R"({"rate_limit_per_address_burst": 2000000000})"),
                  kRoute}),
        "\"rate_limit_per_address_burst\" must be a whole number from 0 to 1000000000");
    EXPECT_CONTAINS(error_of({kRoute, "--trusted-proxies=10.0.0.0/33"}),
                    "trusted proxy (trusted_proxies / --trusted-proxies) \"10.0.0.0/33\" has a "
                    "prefix length that is not 0-32");
    EXPECT_CONTAINS(error_of({kRoute, "--trusted-proxies=proxy.internal"}),
                    "\"proxy.internal\" is not an IPv4 or IPv6 address or network");
    EXPECT_CONTAINS(
        error_of(
            {"--config", write_file("bad.json", R"({"trusted_proxies": "10.0.0.1"})"), kRoute}),
        "\"trusted_proxies\" must be an array of addresses or networks");
}

// ---- each setting is declared once, in the table of settings.cpp ----

TEST_F(ConfigTest, HelpListsEverySettingWithItsFlagKeysAndDefault) {
    const std::string help = config_usage();
    for (const Setting& s : settings()) {
        EXPECT_CONTAINS(help, "  " + s.flag + " " + s.value_name + " ");
        for (const std::string& key : s.keys) EXPECT_CONTAINS(help, key);
        EXPECT_CONTAINS(help, "default: " + s.default_text);
    }
    EXPECT_CONTAINS(help, "--pool-size N");
    EXPECT_CONTAINS(help, "file: pool_size; default: 0");
    EXPECT_CONTAINS(help, "file: listen_address, listen_port; default: 127.0.0.1:8000");
}

TEST_F(ConfigTest, KeysAndFlagsAreUniqueAcrossTheTable) {
    std::set<std::string> keys, flags;
    for (const Setting& s : settings()) {
        EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
        for (const std::string& key : s.keys) EXPECT_TRUE(keys.insert(key).second) << key;
    }
}

TEST_F(ConfigTest, EverySettingIsReadFromTheFileAndAsAFlag) {
    // A value other than the default for every setting of the table, as the file gives it and as
    // its flag gives it; a setting added to the table without one here fails this test.
    struct Example {
        std::string file;
        std::string flag_value;
    };
    const std::map<std::string, Example> examples = {
        {"--listen", {R"({"listen_address": "::1", "listen_port": 9})", "[::1]:9"}},
        {"--route",
         {R"({"routes": [{"name": "p", "role": "primary", "conninfo": "host=p"}]})",
          "p=primary=host=p"}},
        {"--deadline-ms", {R"({"request_deadline_ms": 7})", "7"}},
        {"--hedge-ms", {R"({"hedge_after_ms": 7})", "7"}},
        {"--refresh-ms", {R"({"refresh_interval_ms": 7})", "7"}},
        {"--stale-after-ms", {R"({"definitions_stale_after_ms": 7})", "7"}},
        {"--snapshot", {R"({"snapshot_path": "/tmp/s.json"})", "/tmp/s.json"}},
        {"--max-lag-ms", {R"({"max_replica_lag_ms": 7})", "7"}},
        {"--max-body-bytes", {R"({"max_body_bytes": 7})", "7"}},
        {"--max-connections", {R"({"max_connections": 7})", "7"}},
        {"--probe-ms", {R"({"probe_interval_ms": 7})", "7"}},
        {"--pool-size", {R"({"pool_size": 7})", "7"}},
        {"--threads", {R"({"threads": 3})", "3"}},
        {"--rate-limit-per-token", {R"({"rate_limit_per_token": 7})", "7"}},
        {"--rate-limit-per-token-burst", {R"({"rate_limit_per_token_burst": 7})", "7"}},
        {"--rate-limit-per-address", {R"({"rate_limit_per_address": 7})", "7"}},
        {"--rate-limit-per-address-burst", {R"({"rate_limit_per_address_burst": 7})", "7"}},
        {"--trusted-proxies",
         {R"({"trusted_proxies": ["10.1.2.3", "fd00::/8"]})", "10.1.2.3, fd00::/8"}},
        {"--cors-origins",
         {R"({"cors_allowed_origins": ["https://a.example", "http://localhost:3000"]})",
          "https://a.example, http://localhost:3000"}},
    };
    const Config defaults = load({kRoute});
    for (const Setting& s : settings()) {
        SCOPED_TRACE(s.flag);
        const auto example = examples.find(s.flag);
        ASSERT_NE(example, examples.end()) << "no example for " << s.flag;
        const boost::json::value file = boost::json::parse(example->second.file);
        for (const auto& [key, value] : file.as_object()) {
            EXPECT_NE(std::find(s.keys.begin(), s.keys.end(), key), s.keys.end()) << key;
        }
        std::vector<std::string> from_file{"--config",
                                           write_file("one.json", example->second.file)};
        std::vector<std::string> from_flag{s.flag + "=" + example->second.flag_value};
        if (s.flag != "--route") {
            from_file.push_back(kRoute);
            from_flag.push_back(kRoute);
        }
        const Config by_file = load(from_file);
        EXPECT_EQ(by_file, load(from_flag));
        EXPECT_FALSE(by_file == defaults) << "the example is the default";
        // Only this setting moved away from its default.
        Config expected = defaults;
        s.read_flags(expected, {example->second.flag_value});
        EXPECT_EQ(by_file, expected);
    }
}

TEST_F(ConfigTest, TheExampleFileGivesEveryKey) {
    const std::filesystem::path example =
        std::filesystem::path(__FILE__).parent_path() / "../../deploy/flag-decide.example.json";
    std::ifstream in(example);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const boost::json::object file = boost::json::parse(text).as_object();
    for (const Setting& s : settings()) {
        for (const std::string& key : s.keys) EXPECT_TRUE(file.contains(key)) << key;
    }
}

}  // namespace
}  // namespace flag_eval::decide
