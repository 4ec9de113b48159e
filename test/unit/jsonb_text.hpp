// What PostgreSQL's jsonb_out prints for a document, written independently of the code under
// test: keys sorted as jsonb sorts them (jsonb_util.c, lengthCompareJsonbString: shorter first,
// then bytewise), jsonb's spacing (JsonbToCString: `{"a": 1, "b": [1, 2]}`) and its escapes
// (json.c, escape_json). Integers only: the answers hold no other numbers.
#pragma once
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::testing_support {

inline void jsonb_escape(std::string& out, std::string_view s) {
    out += '"';
    for (const char ch : s) {
        switch (ch) {
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            default:
                if (static_cast<unsigned char>(ch) < ' ') {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(ch));
                    out += buf;
                } else {
                    out += ch;
                }
        }
    }
    out += '"';
}

inline void jsonb_text(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null: out += "null"; break;
        case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; break;
        case boost::json::kind::int64: out += std::to_string(v.get_int64()); break;
        case boost::json::kind::uint64: out += std::to_string(v.get_uint64()); break;
        case boost::json::kind::double_: throw std::invalid_argument("jsonb_text: no doubles");
        case boost::json::kind::string: jsonb_escape(out, v.get_string()); break;
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) out += ", ";
                first = false;
                jsonb_text(out, e);
            }
            out += ']';
            break;
        }
        case boost::json::kind::object: {
            std::vector<const boost::json::key_value_pair*> members;
            for (const auto& m : v.get_object()) members.push_back(&m);
            std::sort(members.begin(), members.end(), [](const auto* a, const auto* b) {
                const std::string_view x = a->key(), y = b->key();
                return x.size() != y.size() ? x.size() < y.size() : x < y;
            });
            out += '{';
            bool first = true;
            for (const auto* m : members) {
                if (!first) out += ", ";
                first = false;
                jsonb_escape(out, m->key());
                out += ": ";
                jsonb_text(out, m->value());
            }
            out += '}';
            break;
        }
    }
}

inline std::string jsonb_text(const boost::json::value& v) {
    std::string out;
    jsonb_text(out, v);
    return out;
}

}  // namespace flag_eval::testing_support
