// The runtime of a /flags request that declares none, from its headers, as PostHog's /flags
// infers it (its user-agent parser's cases).
#include "decide/api/request_runtime.hpp"

#include <gtest/gtest.h>

using namespace flag_eval;
using namespace flag_eval::decide;

namespace {

RequestRuntime from_user_agent(std::string_view ua, bool browser_headers = false) {
    return runtime_from_headers({ua, browser_headers});
}

TEST(RequestRuntime, PostHogSdksByName) {
    for (const char* ua :
         {"posthog-python/3.0.0", "posthog-node/5.70.0", "posthog-ruby/2.0.0", "posthog-go/1.0.0",
          "posthog-php/3.1.0", "posthog-java/1.1.0", "posthog-dotnet/1.0.0", "posthog-elixir/0.2.0",
          "posthog-server/3.2.1 (Android SDK)", "posthog-python/3.0.0 (Linux; Python 3.11)"})
        EXPECT_EQ(from_user_agent(ua, true), RequestRuntime::Server) << ua;
    for (const char* ua : {"posthog-js/1.88.0", "posthog-android/3.0.0", "posthog-ios/3.0.0",
                           "posthog-react-native/2.5.0", "posthog-flutter/4.0.0"})
        EXPECT_EQ(from_user_agent(ua), RequestRuntime::Client) << ua;
}

TEST(RequestRuntime, BrowsersAreClientsAndHttpLibrariesServers) {
    for (const char* ua :
         {"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "HeadlessChrome/120.0.0.0 Safari/537.36",
          "Mozilla/5.0 (X11; Linux x86_64) Firefox/89.0", "Chrome/120.0.0.0 Safari/537.36"})
        EXPECT_EQ(from_user_agent(ua), RequestRuntime::Client) << ua;
    EXPECT_EQ(from_user_agent("curl/7.88.1"), RequestRuntime::Server);
    EXPECT_EQ(from_user_agent("python-requests/2.28.0"), RequestRuntime::Server);
}

TEST(RequestRuntime, OtherwiseBrowserHeadersMeanClientElseUnknown) {
    EXPECT_EQ(from_user_agent(""), RequestRuntime::Unknown);
    EXPECT_EQ(from_user_agent("custom-client/1.0"), RequestRuntime::Unknown);
    EXPECT_EQ(from_user_agent("custom-client/1.0", true), RequestRuntime::Client);
    // A malformed or unknown PostHog SDK name is not a browser, whatever follows.
    for (const char* ua :
         {"posthog-python", "posthog-python/", "posthog-/1.0.0", "posthog-unity/1.0 Mozilla/5.0"}) {
        EXPECT_EQ(from_user_agent(ua), RequestRuntime::Unknown) << ua;
        EXPECT_EQ(from_user_agent(ua, true), RequestRuntime::Client) << ua;
    }
}

}  // namespace
