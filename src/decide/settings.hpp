// The table of flag-decide's settings (settings.cpp): each setting is declared there once, with
// its key(s) in the config file, its command-line flag, its default, its allowed range and its
// help text. Everything else is derived from the table: Config's defaults, reading the file and
// the flags (config.cpp), --help, and the validation errors.
#pragma once

#include "decide/config.hpp"

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::json {
class value;
}

namespace flag_eval::decide {

struct Setting {
    std::vector<std::string> keys;  // in the config file; --listen sets two
    std::string flag;               // on the command line
    std::string value_name;         // what the flag takes, for --help ("N", "PATH")
    std::string help;               // what it does, for --help; may hold line breaks
    std::string default_text;       // the default as --help shows it
    std::string range_text;         // the allowed range as --help shows it; "" = anything readable

    std::function<void(Config&)> set_default;
    // `key` is one of `keys`; `origin` names the file in error messages.
    std::function<void(Config&, std::string_view key, const boost::json::value&,
                       std::string_view origin)>
        read_json;
    // Every value the flag was given, in command-line order (--route repeats; others: last wins).
    std::function<void(Config&, const std::vector<std::string_view>& values)> read_flags;
    // After the file and the flags: throws ConfigError naming the key and the flag.
    std::function<void(const Config&)> validate;
};

// In the order --help lists them and validation checks them.
const std::vector<Setting>& settings();

}  // namespace flag_eval::decide
