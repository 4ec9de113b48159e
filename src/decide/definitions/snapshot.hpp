// The snapshot file: the last service_definitions() text the service applied, so that a start
// with every database down still serves (docs/reference.md, Resilience contract).
//
// Format: one header line, then the text, byte for byte:
//   flag_eval-definitions-snapshot 1 <byte count> <XXH3-64 of the text, 16 hex digits>\n
// so that a truncated or damaged file is recognised and ignored rather than half-applied.
//
// Writes are atomic: a temporary file in the same directory (mode 0600: it holds secret
// tokens), written and fsync'ed, renamed over the snapshot, then the directory fsync'ed. A crash
// leaves either the old snapshot or the new one. Both functions block (file I/O): call them off the
// event loop, or before it runs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace flag_eval::decide {

// Empty on success, otherwise what failed (with the path and errno text). No temporary file is
// left behind on failure.
std::string write_snapshot(const std::filesystem::path& path, std::string_view definitions_text);

struct SnapshotRead {
    bool present = false;             // the file exists
    std::optional<std::string> text;  // the definitions text, when the file is whole
    std::string error;                // why the file was not usable (present but no text)
};

SnapshotRead read_snapshot(const std::filesystem::path& path);

}  // namespace flag_eval::decide
