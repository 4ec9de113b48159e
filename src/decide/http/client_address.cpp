#include "decide/http/client_address.hpp"

#include <boost/asio/ip/address_v6.hpp>

#include <algorithm>
#include <charconv>
#include <optional>
#include <stdexcept>

namespace flag_eval::decide {
namespace {

namespace asio = boost::asio;

std::array<unsigned char, 16> as_v6_bytes(const asio::ip::address& address) {
    if (address.is_v4())
        return asio::ip::make_address_v6(asio::ip::v4_mapped, address.to_v4()).to_bytes();
    return address.to_v6().to_bytes();
}

bool is_v4(const asio::ip::address& address) {
    return address.is_v4() || address.to_v6().is_v4_mapped();
}

std::optional<asio::ip::address> parse_address(std::string_view text) {
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(text, ec);
    if (ec) return std::nullopt;
    return address;
}

std::string_view trimmed(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// One X-Forwarded-For element: an address, "[v6]" or "[v6]:port", or "v4:port" (some gateways
// add the port).
std::optional<asio::ip::address> forwarded_address(std::string_view element) {
    element = trimmed(element);
    if (element.starts_with('[')) {
        const auto close = element.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        const std::string_view rest = element.substr(close + 1);
        if (!rest.empty() && !rest.starts_with(':')) return std::nullopt;
        return parse_address(element.substr(1, close - 1));
    }
    const auto colon = element.find(':');
    if (colon != std::string_view::npos && element.find(':', colon + 1) == std::string_view::npos)
        element = element.substr(0, colon);  // v4:port; an IPv6 address has several colons
    return parse_address(element);
}

struct ParsedNetwork {
    asio::ip::address address;
    unsigned prefix;
};

std::optional<ParsedNetwork> parse_network(std::string_view entry, std::string& problem) {
    const auto slash = entry.find('/');
    const auto address = parse_address(entry.substr(0, slash));
    if (!address) {
        problem = "is not an IPv4 or IPv6 address or network (10.0.0.0/8, fd00::/8)";
        return std::nullopt;
    }
    const unsigned bits = address->is_v4() ? 32 : 128;
    unsigned prefix = bits;
    if (slash != std::string_view::npos) {
        const std::string_view digits = entry.substr(slash + 1);
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || ec != std::errc{} || end != digits.data() + digits.size() ||
            prefix > bits) {
            problem = "has a prefix length that is not 0-" + std::to_string(bits);
            return std::nullopt;
        }
    }
    return ParsedNetwork{*address, prefix};
}

}  // namespace

std::string trusted_proxy_problem(std::string_view entry) {
    std::string problem;
    parse_network(entry, problem);
    return problem;
}

TrustedProxies::TrustedProxies(const std::vector<std::string>& entries) {
    for (const std::string& entry : entries) {
        std::string problem;
        const auto network = parse_network(entry, problem);
        if (!network) throw std::invalid_argument("\"" + entry + "\" " + problem);
        networks_.push_back(Network{as_v6_bytes(network->address),
                                    network->prefix + (network->address.is_v4() ? 96 : 0)});
    }
}

bool TrustedProxies::contains(const asio::ip::address& address) const {
    const auto bytes = as_v6_bytes(address);
    for (const Network& network : networks_) {
        const unsigned whole = network.prefix / 8, rest = network.prefix % 8;
        bool match = std::equal(bytes.begin(), bytes.begin() + whole, network.bytes.begin());
        if (match && rest > 0) {
            const unsigned char mask = static_cast<unsigned char>(0xff00 >> rest);
            match = (bytes[whole] & mask) == (network.bytes[whole] & mask);
        }
        if (match) return true;
    }
    return false;
}

asio::ip::address TrustedProxies::client_of(const Request& request,
                                            const asio::ip::address& peer) const {
    if (networks_.empty() || !contains(peer)) return peer;
    // Every X-Forwarded-For field, in order, is one list.
    std::vector<std::string_view> elements;
    const auto [first, last] = request.equal_range("X-Forwarded-For");
    for (auto field = first; field != last; ++field) {
        std::string_view value(field->value().data(), field->value().size());
        while (true) {
            const auto comma = value.find(',');
            elements.push_back(value.substr(0, comma));
            if (comma == std::string_view::npos) break;
            value.remove_prefix(comma + 1);
        }
    }
    asio::ip::address client = peer;
    for (auto element = elements.rbegin(); element != elements.rend(); ++element) {
        if (!contains(client)) break;
        const auto hop = forwarded_address(*element);
        if (!hop) break;  // not written by a proxy we trust: the last trusted hop answers for it
        client = *hop;
    }
    return client;
}

std::string address_key(const asio::ip::address& address) {
    const auto bytes = as_v6_bytes(address);
    if (is_v4(address)) return std::string("4") + std::string(bytes.begin() + 12, bytes.end());
    return std::string("6") + std::string(bytes.begin(), bytes.begin() + 8);
}

}  // namespace flag_eval::decide
