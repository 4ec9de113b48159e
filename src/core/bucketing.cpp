#include "bucketing.hpp"

#include <openssl/sha.h>
#include <xxhash.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace flag_eval {
namespace {

constexpr std::uint64_t kMax60 = 0xFFFFFFFFFFFFFFFULL;  // 2^60 - 1
constexpr std::size_t kMaxIdentifierScalars = 200;

// Top 60 bits of a big-endian digest prefix: the first 15 hex digits.
std::uint64_t top60_sha1(std::string_view input) {
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    std::uint64_t n = 0;
    for (int i = 0; i < 8; ++i) n = (n << 8) | digest[i];
    return n >> 4;
}

std::uint64_t top60_xxh3(std::string_view input) { return XXH3_64bits(input.data(), input.size()) >> 4; }

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

double hash01(Bucketing bucketing, std::string_view prefix, std::string_view identifier, std::string_view salt) {
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
    std::memcpy(buffer, prefix.data(), prefix.size());
    std::memcpy(buffer + prefix.size(), id.data(), id.size());
    std::memcpy(buffer + prefix.size() + id.size(), salt.data(), salt.size());
    const std::string_view input(buffer, size);
    const std::uint64_t n = bucketing == Bucketing::Sha1 ? top60_sha1(input) : top60_xxh3(input);
    return static_cast<double>(n) / static_cast<double>(kMax60);
}

}  // namespace flag_eval
