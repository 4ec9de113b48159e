// TrustedProxies and address_key: whose address a request counts under, and that a client
// cannot pick it through X-Forwarded-For.
#include "decide/http/client_address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace flag_eval::decide {
namespace {

namespace http = boost::beast::http;
using boost::asio::ip::address;
using boost::asio::ip::make_address;

Request with_forwarded_for(std::vector<std::string> values) {
    Request request{http::verb::post, "/flags", 11};
    for (const std::string& value : values) request.insert("X-Forwarded-For", value);
    return request;
}

std::string client(const TrustedProxies& proxies, std::vector<std::string> forwarded_for,
                   std::string_view peer) {
    return proxies.client_of(with_forwarded_for(std::move(forwarded_for)), make_address(peer))
        .to_string();
}

TEST(TrustedProxies, WithoutProxiesThePeerIsTheClientWhateverTheHeaderSays) {
    const TrustedProxies none;
    EXPECT_EQ(client(none, {"203.0.113.7"}, "10.0.0.2"), "10.0.0.2");
    EXPECT_EQ(client(none, {}, "10.0.0.2"), "10.0.0.2");
}

TEST(TrustedProxies, AnUntrustedPeerCannotNameAnotherAddress) {
    const TrustedProxies proxies({"10.0.0.2"});
    EXPECT_EQ(client(proxies, {"203.0.113.7"}, "198.51.100.1"), "198.51.100.1");
}

TEST(TrustedProxies, ATrustedProxyNamesTheHopBeforeIt) {
    const TrustedProxies proxies({"10.0.0.0/24", "fd00::/8"});
    EXPECT_EQ(client(proxies, {"203.0.113.7"}, "10.0.0.2"), "203.0.113.7");
    EXPECT_EQ(client(proxies, {}, "10.0.0.2"), "10.0.0.2") << "no header: the proxy's own";
    // Read from the right: the client wrote the left part itself.
    EXPECT_EQ(client(proxies, {"1.1.1.1, 203.0.113.7"}, "10.0.0.2"), "203.0.113.7");
    // Trusted hops are passed over, to the first one that is not a proxy of ours.
    EXPECT_EQ(client(proxies, {"1.1.1.1, 203.0.113.7, 10.0.0.9, fd00::5"}, "10.0.0.2"),
              "203.0.113.7");
    // Several fields are one list.
    EXPECT_EQ(client(proxies, {"1.1.1.1", "203.0.113.8"}, "10.0.0.2"), "203.0.113.8");
    // Only proxies: the farthest one.
    EXPECT_EQ(client(proxies, {"10.0.0.3"}, "10.0.0.2"), "10.0.0.3");
}

TEST(TrustedProxies, PortsAndBracketsAreRead) {
    const TrustedProxies proxies({"10.0.0.2"});
    EXPECT_EQ(client(proxies, {"203.0.113.7:4711"}, "10.0.0.2"), "203.0.113.7");
    EXPECT_EQ(client(proxies, {"[2001:db8::1]:4711"}, "10.0.0.2"), "2001:db8::1");
    EXPECT_EQ(client(proxies, {"[2001:db8::1]"}, "10.0.0.2"), "2001:db8::1");
    EXPECT_EQ(client(proxies, {" 2001:db8::2 "}, "10.0.0.2"), "2001:db8::2");
}

TEST(TrustedProxies, AHopThatIsNotAnAddressStopsAtTheLastTrustedOne) {
    const TrustedProxies proxies({"10.0.0.0/24"});
    EXPECT_EQ(client(proxies, {"unknown"}, "10.0.0.2"), "10.0.0.2");
    EXPECT_EQ(client(proxies, {"203.0.113.7, 10.0.0.5, garbage"}, "10.0.0.2"), "10.0.0.2");
    EXPECT_EQ(client(proxies, {"garbage, 10.0.0.5"}, "10.0.0.2"), "10.0.0.5");
}

TEST(TrustedProxies, NetworksMatchByPrefixAndIpv4MappedPeersAsIpv4) {
    const TrustedProxies proxies({"10.0.0.0/8", "192.168.1.128/25", "2001:db8:aa::/48"});
    EXPECT_TRUE(proxies.contains(make_address("10.255.0.1")));
    EXPECT_FALSE(proxies.contains(make_address("11.0.0.1")));
    EXPECT_TRUE(proxies.contains(make_address("192.168.1.200")));
    EXPECT_FALSE(proxies.contains(make_address("192.168.1.100")));
    EXPECT_TRUE(proxies.contains(make_address("::ffff:10.1.2.3"))) << "a dual-stack socket's peer";
    EXPECT_TRUE(proxies.contains(make_address("2001:db8:aa:1::9")));
    EXPECT_FALSE(proxies.contains(make_address("2001:db8:ab::9")));
    EXPECT_FALSE(TrustedProxies({"0.0.0.0/0"}).contains(make_address("::1")))
        << "an IPv4 network holds no IPv6 address";
    EXPECT_TRUE(TrustedProxies({"0.0.0.0/0"}).contains(make_address("8.8.8.8")));
}

TEST(TrustedProxies, BadEntriesAreNamed) {
    EXPECT_EQ(trusted_proxy_problem("10.0.0.0/8"), "");
    EXPECT_EQ(trusted_proxy_problem("::1"), "");
    EXPECT_NE(trusted_proxy_problem("proxy.internal"), "");
    EXPECT_NE(trusted_proxy_problem("10.0.0.0/33"), "");
    EXPECT_NE(trusted_proxy_problem("fd00::/129"), "");
    EXPECT_NE(trusted_proxy_problem("10.0.0.0/"), "");
    EXPECT_NE(trusted_proxy_problem("10.0.0.0/x"), "");
    EXPECT_THROW(TrustedProxies({"10.0.0.1", "nope"}), std::invalid_argument);
}

TEST(AddressKey, Ipv4AloneAndIpv6ByItsSlash64) {
    EXPECT_EQ(address_key(make_address("203.0.113.7")),
              address_key(make_address("::ffff:203.0.113.7")));
    EXPECT_NE(address_key(make_address("203.0.113.7")), address_key(make_address("203.0.113.8")));
    EXPECT_EQ(address_key(make_address("2001:db8:1:2::1")),
              address_key(make_address("2001:db8:1:2:ffff:ffff:ffff:ffff")));
    EXPECT_NE(address_key(make_address("2001:db8:1:2::1")),
              address_key(make_address("2001:db8:1:3::1")));
    EXPECT_NE(address_key(make_address("0.0.0.1")), address_key(make_address("::1")));
}

}  // namespace
}  // namespace flag_eval::decide
