#include "decide/definitions/snapshot.hpp"

#include <xxhash.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace flag_eval::decide {
namespace {

constexpr std::string_view kMagic = "flag_eval-definitions-snapshot";
constexpr std::string_view kFormatVersion = "1";
// A header longer than this is not ours.
constexpr std::size_t kMaxHeader = 128;

std::string errno_text(const std::string& what, const std::filesystem::path& path, int err) {
    return what + " " + path.string() + ": " + std::strerror(err);
}

std::string hex64(std::uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

std::string header_for(std::string_view text) {
    return std::string(kMagic) + " " + std::string(kFormatVersion) + " " +
           std::to_string(text.size()) + " " + hex64(XXH3_64bits(text.data(), text.size())) + "\n";
}

bool write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

// Closes a descriptor on every path out.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
    int release() {
        const int f = fd;
        fd = -1;
        return f;
    }
};

// Unique within the process and across processes sharing the directory.
std::filesystem::path temp_path_for(const std::filesystem::path& path) {
    static std::atomic<unsigned> counter{0};
    std::filesystem::path temp = path;
    temp += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    return temp;
}

}  // namespace

std::string write_snapshot(const std::filesystem::path& path, std::string_view definitions_text) {
    if (path.empty()) return "no snapshot path";
    const std::filesystem::path temp = temp_path_for(path);
    std::filesystem::path directory = path.parent_path();
    if (directory.empty()) directory = ".";

    Fd file{::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (file.fd < 0) return errno_text("cannot create", temp, errno);
    auto fail = [&](const std::string& what, const std::filesystem::path& where) {
        const int err = errno;
        if (file.fd >= 0) ::close(file.release());
        ::unlink(temp.c_str());
        return errno_text(what, where, err);
    };
    if (!write_all(file.fd, header_for(definitions_text)) || !write_all(file.fd, definitions_text))
        return fail("cannot write", temp);
    if (::fsync(file.fd) != 0) return fail("cannot fsync", temp);
    if (::close(file.release()) != 0) return fail("cannot close", temp);
    if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename onto", path);

    // The rename is durable once the directory is: until then a crash may bring the old file back.
    Fd dir{::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.fd < 0) return errno_text("cannot open directory", directory, errno);
    if (::fsync(dir.fd) != 0) return errno_text("cannot fsync directory", directory, errno);
    return {};
}

SnapshotRead read_snapshot(const std::filesystem::path& path) {
    SnapshotRead result;
    Fd file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (file.fd < 0) {
        if (errno != ENOENT) {
            result.present = true;
            result.error = errno_text("cannot open", path, errno);
        }
        return result;
    }
    result.present = true;
    struct stat st {};
    if (::fstat(file.fd, &st) != 0) {
        result.error = errno_text("cannot stat", path, errno);
        return result;
    }
    if (!S_ISREG(st.st_mode)) {
        result.error = path.string() + " is not a regular file";
        return result;
    }
    std::string content(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t got = 0;
    while (got < content.size()) {
        const ssize_t n = ::read(file.fd, content.data() + got, content.size() - got);
        if (n < 0) {
            if (errno == EINTR) continue;
            result.error = errno_text("cannot read", path, errno);
            return result;
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    content.resize(got);

    auto corrupt = [&](const std::string& why) {
        result.error = path.string() + " is not a whole snapshot (" + why + ")";
        return result;
    };
    const std::size_t newline = content.find('\n');
    if (newline == std::string::npos || newline > kMaxHeader) return corrupt("no header line");
    const std::string_view header(content.data(), newline);
    // <magic> <format> <length> <hash>
    std::string_view fields[4];
    std::size_t count = 0;
    for (std::string_view rest = header; !rest.empty() && count < 4; ++count) {
        const std::size_t space = rest.find(' ');
        fields[count] = rest.substr(0, space);
        rest.remove_prefix(space == std::string_view::npos ? rest.size() : space + 1);
        if (count == 3 && !rest.empty()) return corrupt("unexpected header");
    }
    if (count != 4 || fields[0] != kMagic) return corrupt("unexpected header");
    if (fields[1] != kFormatVersion)
        return corrupt("format " + std::string(fields[1]) + " is not known");
    std::size_t length = 0;
    const auto [end, ec] =
        std::from_chars(fields[2].data(), fields[2].data() + fields[2].size(), length);
    if (ec != std::errc() || end != fields[2].data() + fields[2].size())
        return corrupt("bad length");
    const std::string_view text(content.data() + newline + 1, content.size() - newline - 1);
    if (text.size() != length)
        return corrupt(std::to_string(text.size()) + " bytes where the header says " +
                       std::to_string(length));
    if (fields[3] != hex64(XXH3_64bits(text.data(), text.size())))
        return corrupt("checksum mismatch");
    result.text = std::string(text);
    return result;
}

}  // namespace flag_eval::decide
