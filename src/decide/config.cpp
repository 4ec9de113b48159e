#include "decide/config.hpp"

#include "decide/settings.hpp"

#include <boost/json/parse_options.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace flag_eval::decide {

namespace {

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---- the JSON file ----

std::string line_and_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

boost::json::value parse_json(std::string_view text, std::string_view origin) {
    boost::json::parse_options options;
    options.allow_comments = true;
    options.allow_trailing_commas = true;
    boost::json::stream_parser parser({}, options);
    boost::system::error_code ec;
    const std::size_t consumed = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
        throw ConfigError(std::string(origin) + ": invalid JSON at " +
                          line_and_column(text, consumed) + ": " + ec.message());
    }
    return parser.release();
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw ConfigError("--config " + path + ": cannot read the file: " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw ConfigError("--config " + path + ": cannot read the file");
    return std::move(text).str();
}

// ---- command-line flags ----

struct Flag {
    std::string_view name;
    std::optional<std::string_view> value;  // after '=' in the same argument
};

Flag split_flag(std::string_view arg) {
    const auto eq = arg.find('=');
    if (eq == std::string_view::npos) return {arg, std::nullopt};
    return {arg.substr(0, eq), arg.substr(eq + 1)};
}

// The setting a file key or a flag belongs to; nullptr when none does.
const Setting* setting_with_key(std::string_view key) {
    for (const Setting& s : settings()) {
        if (std::find(s.keys.begin(), s.keys.end(), key) != s.keys.end()) return &s;
    }
    return nullptr;
}

const Setting* setting_with_flag(std::string_view flag) {
    for (const Setting& s : settings()) {
        if (s.flag == flag) return &s;
    }
    return nullptr;
}

// --help's two columns: "  --flag VALUE" padded to this width, then the text.
constexpr std::size_t kHelpColumn = 29;

void help_entry(std::string& out, std::string_view left, std::string_view text) {
    std::string line = "  " + std::string(left);
    line.resize(std::max(kHelpColumn, line.size() + 1), ' ');
    std::size_t start = 0;
    while (true) {
        const std::size_t end = text.find('\n', start);
        out += line + std::string(text.substr(start, end - start)) + "\n";
        if (end == std::string_view::npos) break;
        start = end + 1;
        line.assign(kHelpColumn, ' ');
    }
}

}  // namespace

Config::Config() {
    for (const Setting& s : settings()) s.set_default(*this);
}

void apply_config_json(Config& config, std::string_view json_text, std::string_view origin) {
    const boost::json::value document = parse_json(json_text, origin);
    if (!document.is_object()) throw ConfigError(std::string(origin) + ": must hold a JSON object");
    for (const auto& [key, value] : document.get_object()) {
        const Setting* setting = setting_with_key(key);
        if (setting == nullptr) {
            throw ConfigError(std::string(origin) + ": " + quoted(key) +
                              " is not a configuration key (see flag-decide --help)");
        }
        setting->read_json(config, key, value, origin);
    }
}

void validate_config(const Config& config) {
    for (const Setting& s : settings()) s.validate(config);
}

Config load_config(int argc, char** argv) {
    // Gather each flag's values first, so --config is read before the flags that override it
    // wherever it appears.
    std::vector<std::string_view> config_files;
    std::map<const Setting*, std::vector<std::string_view>> flag_values;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (!arg.starts_with("--")) {
            throw ConfigError("unexpected argument " + quoted(arg) +
                              " (flags start with --; see --help)");
        }
        const Flag flag = split_flag(arg);
        if (flag.name == "--help") {
            Config config;
            config.help_requested = true;
            return config;
        }
        const Setting* setting = setting_with_flag(flag.name);
        if (setting == nullptr && flag.name != "--config") {
            throw ConfigError("unknown flag " + std::string(flag.name) + " (see --help)");
        }
        std::string_view value;
        if (flag.value) {
            value = *flag.value;
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw ConfigError(std::string(flag.name) + " needs a value");
        }
        if (setting == nullptr) {
            config_files.push_back(value);
        } else {
            flag_values[setting].push_back(value);
        }
    }

    Config config;
    for (std::string_view file : config_files) {
        const std::string path(file);
        apply_config_json(config, read_file(path), "config file " + path);
    }
    for (const auto& [setting, values] : flag_values) setting->read_flags(config, values);
    validate_config(config);
    return config;
}

std::string config_usage() {
    std::string out = R"(usage: flag-decide [--config FILE] [flags]

Answers PostHog SDKs (POST /flags?v=2) from PostgreSQL read replicas.
Every setting is a key of the JSON config file and a flag; flags override the file
(an example file: deploy/flag-decide.example.json).

)";
    help_entry(out, "--config FILE", "JSON configuration file");
    help_entry(out, "--help", "this text");
    out += "\nsettings (flag, then file key, default and range):\n";
    for (const Setting& s : settings()) {
        std::string keys;
        for (const std::string& key : s.keys) keys += (keys.empty() ? "" : ", ") + key;
        std::string details = "file: " + keys + "; default: " + s.default_text;
        if (!s.range_text.empty()) details += "; " + s.range_text;
        help_entry(out, s.flag + " " + s.value_name, s.help + "\n" + details);
    }
    return out;
}

}  // namespace flag_eval::decide
