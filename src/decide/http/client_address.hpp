// Who a request comes from, for the per-address rate limit: the TCP peer's address, unless the
// peer is one of the operator's proxies (trusted_proxies), whose X-Forwarded-For is believed.
// That header is read from the right: each address a trusted proxy added names the hop before
// it, and the first hop that is not a trusted proxy is the client. Whatever lies further left was
// written by the client itself and is never read, so a client cannot choose its own address.
#pragma once

#include "decide/http/http_server.hpp"

#include <boost/asio/ip/address.hpp>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace flag_eval::decide {

class TrustedProxies {
public:
    // Each entry an address ("10.0.0.5", "::1") or a network ("10.0.0.0/8", "fd00::/8");
    // throws std::invalid_argument with trusted_proxy_problem() for a bad one.
    explicit TrustedProxies(const std::vector<std::string>& entries = {});

    bool contains(const boost::asio::ip::address& address) const;

    // The client's address: `peer` itself unless it is trusted.
    boost::asio::ip::address client_of(const Request& request,
                                       const boost::asio::ip::address& peer) const;

private:
    struct Network {
        std::array<unsigned char, 16> bytes;  // IPv4 as IPv4-mapped IPv6
        unsigned prefix;                      // leading bits that must match, 0-128
    };
    std::vector<Network> networks_;
};

// Why a trusted_proxies entry is not an address or network; empty when it is one.
std::string trusted_proxy_problem(std::string_view entry);

// What per-address limits count under: an IPv4 address (IPv4-mapped IPv6 included), or the /64
// network of an IPv6 address, since one host (one customer line) usually holds a whole /64.
std::string address_key(const boost::asio::ip::address& address);

}  // namespace flag_eval::decide
