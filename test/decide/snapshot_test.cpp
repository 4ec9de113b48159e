// The snapshot file: round trip, atomic replacement, and damaged files recognised.
#include "decide/definitions/snapshot.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace flag_eval::decide;
namespace fs = std::filesystem;

namespace {

class SnapshotFile : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern =
            (fs::temp_directory_path() / "flag_eval_snapshot_test.XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        path_ = dir_ / "definitions.snapshot";
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::vector<std::string> files() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(dir_))
            names.push_back(e.path().filename().string());
        return names;
    }
    std::string raw() const {
        std::ifstream in(path_, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), {}};
    }
    void overwrite(const std::string& content) const {
        std::ofstream out(path_, std::ios::binary | std::ios::trunc);
        out << content;
    }

    fs::path dir_;
    fs::path path_;
};

const std::string kText = R"({"version": 12, "teams": [{"id": 1, "api_token": "phc_é"}]})";

}  // namespace

TEST_F(SnapshotFile, RoundTrip) {
    ASSERT_EQ(write_snapshot(path_, kText), "");
    const SnapshotRead read = read_snapshot(path_);
    EXPECT_TRUE(read.present);
    ASSERT_TRUE(read.text) << read.error;
    EXPECT_EQ(*read.text, kText);
    // It holds secret tokens: readable by its owner only.
    EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(SnapshotFile, EmptyTextRoundTrips) {
    ASSERT_EQ(write_snapshot(path_, ""), "");
    const SnapshotRead read = read_snapshot(path_);
    ASSERT_TRUE(read.text) << read.error;
    EXPECT_EQ(*read.text, "");
}

TEST_F(SnapshotFile, ReplacesAtomicallyAndLeavesNoTemporaryFile) {
    ASSERT_EQ(write_snapshot(path_, kText), "");
    const std::string second = R"({"version": 13, "teams": []})";
    ASSERT_EQ(write_snapshot(path_, second), "");
    EXPECT_EQ(files(), std::vector<std::string>{"definitions.snapshot"});
    const SnapshotRead read = read_snapshot(path_);
    ASSERT_TRUE(read.text) << read.error;
    EXPECT_EQ(*read.text, second);
}

TEST_F(SnapshotFile, MissingFileIsNotAnError) {
    const SnapshotRead read = read_snapshot(path_);
    EXPECT_FALSE(read.present);
    EXPECT_FALSE(read.text);
    EXPECT_EQ(read.error, "");
}

TEST_F(SnapshotFile, TruncatedFileIsRecognised) {
    ASSERT_EQ(write_snapshot(path_, kText), "");
    const std::string whole = raw();
    for (std::size_t keep : {whole.size() - 1, whole.size() / 2, std::size_t{5}, std::size_t{0}}) {
        SCOPED_TRACE(keep);
        overwrite(whole.substr(0, keep));
        const SnapshotRead read = read_snapshot(path_);
        EXPECT_TRUE(read.present);
        EXPECT_FALSE(read.text);
        EXPECT_NE(read.error.find("not a whole snapshot"), std::string::npos) << read.error;
    }
}

TEST_F(SnapshotFile, DamagedTextIsRecognised) {
    ASSERT_EQ(write_snapshot(path_, kText), "");
    std::string content = raw();
    content[content.size() - 3] ^= 0x01;  // same length, one bit off
    overwrite(content);
    const SnapshotRead read = read_snapshot(path_);
    EXPECT_FALSE(read.text);
    EXPECT_NE(read.error.find("checksum"), std::string::npos) << read.error;
}

TEST_F(SnapshotFile, ForeignFilesAreRecognised) {
    for (const std::string& content :
         {std::string(kText), std::string("flag_eval-definitions-snapshot 2 3 0\n{}}"),
          std::string("flag_eval-definitions-snapshot 1 x 0\n"),
          std::string("flag_eval-definitions-snapshot 1 2 0000000000000000 extra\n{}"),
          std::string(1000, '\n'), std::string(1000, 'x')}) {
        SCOPED_TRACE(content.substr(0, 60));
        overwrite(content);
        const SnapshotRead read = read_snapshot(path_);
        EXPECT_TRUE(read.present);
        EXPECT_FALSE(read.text);
        EXPECT_NE(read.error, "");
    }
}

TEST_F(SnapshotFile, ADirectoryIsNotASnapshot) {
    fs::create_directory(path_);
    const SnapshotRead read = read_snapshot(path_);
    EXPECT_TRUE(read.present);
    EXPECT_FALSE(read.text);
    EXPECT_NE(read.error, "");
}

TEST_F(SnapshotFile, WriteFailureIsReportedAndLeavesNothing) {
    const fs::path nowhere = dir_ / "missing" / "definitions.snapshot";
    const std::string error = write_snapshot(nowhere, kText);
    EXPECT_NE(error.find("missing"), std::string::npos) << error;
    EXPECT_TRUE(files().empty());

    // The snapshot path is a directory: the rename fails; the temporary file is removed.
    fs::create_directory(path_);
    fs::create_directory(path_ / "occupied");
    EXPECT_NE(write_snapshot(path_, kText), "");
    EXPECT_EQ(files(), std::vector<std::string>{"definitions.snapshot"});
}
