#include "bucketing.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

namespace flag_eval {
namespace {

constexpr std::uint64_t kMax60 = 0xFFFFFFFFFFFFFFFULL;  // 2^60 - 1
constexpr std::size_t kMaxIdentifierScalars = 200;

// OpenSSL 3's one-shot SHA1() looks the algorithm up on every call (~300 ns, five times the hash
// itself): fetch it once and reuse one digest context per thread.
struct Sha1Context {
    EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Sha1Context() {
        EVP_MD_CTX_free(ctx);
        EVP_MD_free(md);
    }
};

// Top 60 bits of a big-endian digest prefix: the first 15 hex digits.
std::uint64_t top60_sha1(std::string_view input) {
    thread_local Sha1Context sha1;
    unsigned char digest[EVP_MAX_MD_SIZE];
    if (sha1.md == nullptr || sha1.ctx == nullptr ||
        !EVP_DigestInit_ex2(sha1.ctx, sha1.md, nullptr) ||
        !EVP_DigestUpdate(sha1.ctx, input.data(), input.size()) ||
        !EVP_DigestFinal_ex(sha1.ctx, digest, nullptr)) {
        // Only when OpenSSL cannot allocate: the slow one-shot path still gives the same digest.
        SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    }
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | digest[i];
    return n >> 4;
}

std::uint64_t top60_xxh3(std::string_view input) {
    return XXH3_64bits(input.data(), input.size()) >> 4;
}

}  // namespace

std::optional<Bucketing> bucketing_from_name(std::string_view name) {
    if (name == "xxh3") return Bucketing::Xxh3;
    if (name == "sha1") return Bucketing::Sha1;
    return std::nullopt;
}

std::string_view bucketing_name(Bucketing b) { return b == Bucketing::Sha1 ? "sha1" : "xxh3"; }

std::string_view truncate_identifier(std::string_view identifier) {
    // Every scalar value takes at least one byte: short identifiers need no walk.
    if (identifier.size() <= kMaxIdentifierScalars) return identifier;
    std::size_t scalars = 0;
    for (std::size_t i = 0; i < identifier.size(); ++i) {
        // A scalar value starts at every byte that is not a UTF-8 continuation byte.
        if ((static_cast<unsigned char>(identifier[i]) & 0xC0) != 0x80) {
            if (scalars == kMaxIdentifierScalars) return identifier.substr(0, i);
            ++scalars;
        }
    }
    return identifier;
}

double hash01(Bucketing bucketing, std::string_view prefix, std::string_view identifier,
              std::string_view salt) {
    const std::string_view id = truncate_identifier(identifier);
    const std::size_t size = prefix.size() + id.size() + salt.size();
    // Most inputs fit on the stack; bucketing runs per row, so avoid the heap when we can.
    char stack_buffer[512];
    std::string heap_buffer;
    char* buffer = stack_buffer;
    if (size > sizeof stack_buffer) {
        heap_buffer.resize(size);
        buffer = heap_buffer.data();
    }
    // std::copy, not memcpy: an empty view may hold a null pointer, which memcpy must not get.
    char* end = std::copy(prefix.begin(), prefix.end(), buffer);
    end = std::copy(id.begin(), id.end(), end);
    std::copy(salt.begin(), salt.end(), end);
    const std::string_view input(buffer, size);
    const std::uint64_t n = bucketing == Bucketing::Sha1 ? top60_sha1(input) : top60_xxh3(input);
    return static_cast<double>(n) / static_cast<double>(kMax60);
}

}  // namespace flag_eval
