#include <doctest/doctest.h>

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <clocale>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "grade/archive.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using namespace labcheck;

namespace {

// One entry of a test archive, written as given: the point is to write what a
// well-behaved archiver never would.
struct Entry {
    std::string path;
    mode_t type = AE_IFREG;
    std::string data;
    std::string link;  // a symlink's target, or the earlier entry a hard link names
    mode_t perm = 0644;
};

Entry file(std::string path, std::string data = "int main() {}\n") {
    return {std::move(path), AE_IFREG, std::move(data), "", 0644};
}

Entry folder(std::string path) {
    return {std::move(path), AE_IFDIR, "", "", 0755};
}

enum class Format { zip, tar_gz };

const char* name_of(Format format) {
    return format == Format::zip ? "zip" : "tar.gz";
}

struct WriterFree {
    void operator()(struct archive* writer) const noexcept { archive_write_free(writer); }
};
struct EntryFree {
    void operator()(struct archive_entry* entry) const noexcept { archive_entry_free(entry); }
};

void write_archive(const fs::path& where, Format format, const std::vector<Entry>& entries) {
    std::unique_ptr<struct archive, WriterFree> writer(archive_write_new());
    REQUIRE(writer);
    if (format == Format::zip) {
        REQUIRE(archive_write_set_format_zip(writer.get()) == ARCHIVE_OK);
    } else {
        REQUIRE(archive_write_set_format_pax_restricted(writer.get()) == ARCHIVE_OK);
        REQUIRE(archive_write_add_filter_gzip(writer.get()) == ARCHIVE_OK);
    }
    REQUIRE(archive_write_open_filename(writer.get(), where.c_str()) == ARCHIVE_OK);
    for (const Entry& entry : entries) {
        std::unique_ptr<struct archive_entry, EntryFree> header(archive_entry_new());
        archive_entry_set_pathname(header.get(), entry.path.c_str());
        archive_entry_set_filetype(header.get(), entry.type);
        archive_entry_set_perm(header.get(), entry.perm);
        if (entry.type == AE_IFLNK) archive_entry_set_symlink(header.get(), entry.link.c_str());
        if (entry.type == AE_IFREG && !entry.link.empty())
            archive_entry_set_hardlink(header.get(), entry.link.c_str());
        archive_entry_set_size(header.get(), static_cast<la_int64_t>(entry.data.size()));
        INFO("writing entry ", entry.path, ": ", archive_error_string(writer.get()));
        REQUIRE(archive_write_header(writer.get(), header.get()) == ARCHIVE_OK);
        if (!entry.data.empty())
            REQUIRE(archive_write_data(writer.get(), entry.data.data(), entry.data.size()) ==
                    static_cast<la_ssize_t>(entry.data.size()));
    }
    REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    REQUIRE(in);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& data) {
    std::ofstream out(path, std::ios::binary);
    out << data;
    REQUIRE(out);
}

// Bytes gzip and deflate cannot shrink, so a cut archive is cut inside the data.
std::string noise(std::size_t size, unsigned seed = 1) {
    std::mt19937 random(seed);
    std::string data(size, '\0');
    for (char& byte : data) byte = static_cast<char>(random() & 0xff);
    return data;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

// A submission's scratch space: archives in archives/, unpacked into outer/into, so
// that an entry climbing one or two folders up would land in outer/ or at the top,
// both watched.
class Scratch {
  public:
    Scratch() {
        fs::create_directories(into());
        fs::create_directories(archives());
    }
    fs::path into() const { return dir_.path() / "outer" / "into"; }
    fs::path archives() const { return dir_.path() / "archives"; }
    fs::path outer() const { return dir_.path() / "outer"; }

    // Everything outside into/ and archives/, relative to the top.
    std::vector<std::string> outside_into() const {
        std::vector<std::string> found;
        for (auto it = fs::recursive_directory_iterator(dir_.path());
             it != fs::recursive_directory_iterator(); ++it) {
            if (it->path() == into() || it->path() == archives()) {
                it.disable_recursion_pending();
                continue;
            }
            if (it->path() == outer()) continue;
            found.push_back(fs::relative(it->path(), dir_.path()).string());
        }
        return found;
    }

    // Every file and folder under into/, relative to it, folders with a trailing '/'.
    std::vector<std::string> unpacked() const {
        std::vector<std::string> found;
        for (const auto& item : fs::recursive_directory_iterator(into())) {
            std::string name = fs::relative(item.path(), into()).string();
            found.push_back(item.is_directory() ? name + "/" : name);
        }
        std::sort(found.begin(), found.end());
        return found;
    }

  private:
    TempDir dir_;
};

// The message unpack_archive throws for `archive`, or "" when it unpacks.
std::string refusal(const fs::path& archive, const fs::path& into,
                    const UnpackLimits& limits = {}) {
    try {
        unpack_archive(archive, into, limits);
    } catch (const ArchiveError& error) {
        return error.what();
    }
    return "";
}

// Writes `entries` as one archive of each format and returns each one's refusal.
std::map<Format, std::string> refusals_of(const std::vector<Entry>& entries,
                                          const UnpackLimits& limits = {}) {
    std::map<Format, std::string> found;
    for (Format format : {Format::zip, Format::tar_gz}) {
        Scratch scratch;
        fs::path archive = scratch.archives() / (std::string("submission.") + name_of(format));
        write_archive(archive, format, entries);
        found[format] = refusal(archive, scratch.into(), limits);
        CHECK(scratch.outside_into().empty());
    }
    return found;
}

// The archive's name first, then the entry, then what is wrong, on one line.
void check_refusal(const std::string& message, const std::string& archive_name,
                   const std::string& entry, const std::string& words) {
    INFO("message: ", message);
    CHECK(message.starts_with(archive_name + ": "));
    if (!entry.empty()) CHECK(contains(message, "entry '" + entry + "'"));
    CHECK(contains(message, words));
    CHECK(!contains(message, "\n"));
}

}  // namespace

TEST_CASE("archive: is_archive knows .zip, .tar.gz and .tgz, in any case, by name") {
    CHECK(is_archive("alice.zip"));
    CHECK(is_archive("/submissions/ALICE.ZIP"));
    CHECK(is_archive("bob.tar.gz"));
    CHECK(is_archive("bob.Tar.Gz"));
    CHECK(is_archive("carol.tgz"));
    CHECK(is_archive("carol.TGZ"));
    CHECK_FALSE(is_archive("dave.tar"));
    CHECK_FALSE(is_archive("server.cpp"));
    CHECK_FALSE(is_archive("notes.gz"));
    CHECK_FALSE(is_archive("zip"));
    CHECK_FALSE(is_archive("alice.zip/server.cpp"));

    Scratch scratch;
    fs::path other = scratch.archives() / "submission.rar";
    write_file(other, "Rar!");
    check_refusal(refusal(other, scratch.into()), "submission.rar", "",
                  "is not named .zip, .tar.gz or .tgz");
}

TEST_CASE("archive: a good .zip and .tar.gz unpack byte-exact, folders made as needed") {
    std::string all_bytes;
    for (int byte = 0; byte < 256; ++byte) all_bytes += static_cast<char>(byte);
    Entry executable = file("run.sh", "#!/bin/sh\necho hi\n");
    executable.perm = 04755;  // setuid and executable in the archive: not on disk
    Entry private_folder = folder("private/");
    private_folder.perm = 0700;
    const std::vector<Entry> entries = {
        folder("labs/"),
        folder("labs/03-fork-per-client/"),
        file("labs/03-fork-per-client/server.cpp", "#include <cstdio>\nint main() {}\n"),
        file("src/deep/nested/util.hpp", "#pragma once\n"),  // no folder entries at all
        file("bytes.bin", all_bytes),
        file("big.bin", noise(300 * 1024)),  // many data blocks
        file("empty.txt", ""),
        file("./dot/./file.txt", "dots\n"),
        file("twice//slashed.txt", "slashes\n"),
        file("..hidden", "not a parent\n"),
        file("x../...", "not a parent either\n"),
        private_folder,
        file("private/notes.txt", "notes\n"),
        folder("labs/"),  // a folder named again, after its files
        executable,
    };
    const std::map<std::string, std::string> expected = {
        {"labs/03-fork-per-client/server.cpp", "#include <cstdio>\nint main() {}\n"},
        {"src/deep/nested/util.hpp", "#pragma once\n"},
        {"bytes.bin", all_bytes},
        {"big.bin", noise(300 * 1024)},
        {"empty.txt", ""},
        {"dot/file.txt", "dots\n"},
        {"twice/slashed.txt", "slashes\n"},
        {"..hidden", "not a parent\n"},
        {"x../...", "not a parent either\n"},
        {"private/notes.txt", "notes\n"},
        {"run.sh", "#!/bin/sh\necho hi\n"},
    };
    for (Format format : {Format::zip, Format::tar_gz}) {
        INFO("format: ", name_of(format));
        Scratch scratch;
        fs::path archive = scratch.archives() / (std::string("good.") + name_of(format));
        write_archive(archive, format, entries);
        REQUIRE_NOTHROW(unpack_archive(archive, scratch.into()));

        CHECK(scratch.unpacked() == std::vector<std::string>{"..hidden",
                                                             "big.bin",
                                                             "bytes.bin",
                                                             "dot/",
                                                             "dot/file.txt",
                                                             "empty.txt",
                                                             "labs/",
                                                             "labs/03-fork-per-client/",
                                                             "labs/03-fork-per-client/server.cpp",
                                                             "private/",
                                                             "private/notes.txt",
                                                             "run.sh",
                                                             "src/",
                                                             "src/deep/",
                                                             "src/deep/nested/",
                                                             "src/deep/nested/util.hpp",
                                                             "twice/",
                                                             "twice/slashed.txt",
                                                             "x../",
                                                             "x../..."});
        for (const auto& [path, data] : expected) {
            INFO("file: ", path);
            CHECK(read_file(scratch.into() / path) == data);
        }
        // Modes are ours, not the archive's: 0644 files, 0755 folders.
        for (const auto& item : fs::recursive_directory_iterator(scratch.into())) {
            INFO("path: ", item.path().string());
            struct stat status {};
            REQUIRE(::lstat(item.path().c_str(), &status) == 0);
            CHECK((S_ISREG(status.st_mode) || S_ISDIR(status.st_mode)));
            CHECK((status.st_mode & 07777) == (S_ISDIR(status.st_mode) ? 0755u : 0644u));
        }
        CHECK(scratch.outside_into().empty());
    }
}

// Sets LC_CTYPE for as long as it lives: the archive writers store names by it.
class CtypeLocale {
  public:
    explicit CtypeLocale(const char* name) : before_(std::setlocale(LC_CTYPE, nullptr)) {
        REQUIRE(std::setlocale(LC_CTYPE, name) != nullptr);
    }
    CtypeLocale(const CtypeLocale&) = delete;
    CtypeLocale& operator=(const CtypeLocale&) = delete;
    ~CtypeLocale() { std::setlocale(LC_CTYPE, before_.c_str()); }

  private:
    std::string before_;
};

TEST_CASE("archive: names in UTF-8 unpack as their bytes in the C locale labcheck runs in") {
    // libarchive warns that it cannot convert such a name to the C locale (a pax
    // header's path); the name is still there, and as safe to check as any other.
    const std::string name = "caf\xc3\xa9/r\xc3\xa9sum\xc3\xa9.md";
    for (Format format : {Format::zip, Format::tar_gz}) {
        INFO("format: ", name_of(format));
        Scratch scratch;
        fs::path archive = scratch.archives() / (std::string("utf8.") + name_of(format));
        {
            CtypeLocale utf8("C.UTF-8");
            write_archive(archive, format, {file(name, "hello\n")});
        }
        REQUIRE(std::string(std::setlocale(LC_CTYPE, nullptr)) == "C");
        REQUIRE_NOTHROW(unpack_archive(archive, scratch.into()));
        CHECK(read_file(scratch.into() / name) == "hello\n");
    }
    // A zip that says its names are UTF-8, with one that is not: no name to check at all.
    Scratch scratch;
    fs::path archive = scratch.archives() / "bad-utf8.zip";
    {
        CtypeLocale utf8("C.UTF-8");
        write_archive(archive, Format::zip, {file("fine.md"), file("caf\xff.md")});
    }
    check_refusal(refusal(archive, scratch.into()), "bad-utf8.zip", "",
                  "entry 2 has a name that cannot be read (");
}

TEST_CASE("archive: absolute paths and '..' are refused, and nothing lands outside") {
    Scratch where;  // only for an absolute path that would land in a watched folder
    const std::string absolute = (where.outer() / "escaped.txt").string();
    for (const std::string& path :
         {std::string("../escaped.txt"), std::string("a/../../escaped.txt"),
          std::string("../../escaped.txt"), std::string("a/b/../../../escaped.txt"),
          std::string("./../escaped.txt"), std::string("a/..")}) {
        INFO("path: ", path);
        for (const auto& [format, message] : refusals_of({file("fine.cpp"), file(path)}))
            check_refusal(message, std::string("submission.") + name_of(format), path,
                          "climbs out of the folder it unpacks into (a '..' in its path)");
    }
    for (const auto& [format, message] : refusals_of({file(absolute)}))
        check_refusal(message, std::string("submission.") + name_of(format), absolute,
                      "has an absolute path: entries must be relative to the folder they "
                      "unpack into");
    CHECK(where.outside_into().empty());
    CHECK_FALSE(fs::exists(absolute));
    // '..' as a folder entry too.
    for (const auto& [format, message] : refusals_of({folder("../up/")}))
        check_refusal(message, std::string("submission.") + name_of(format), "../up/",
                      "climbs out");
}

TEST_CASE("archive: an empty name, or one naming no file, is refused") {
    // libarchive's zip writer will not write an empty name; its pax writer will.
    Scratch scratch;
    fs::path archive = scratch.archives() / "empty-name.tgz";
    write_archive(archive, Format::tar_gz, {file("")});
    check_refusal(refusal(archive, scratch.into()), "empty-name.tgz", "", "has an empty name");

    for (const auto& [format, message] : refusals_of({file(".")}))
        check_refusal(message, std::string("submission.") + name_of(format), ".",
                      "names no file: its path is only '.' and '/'");
    // The same path as a folder entry is the destination itself: fine.
    for (const auto& [format, message] : refusals_of({folder("./"), file("./a.cpp")}))
        CHECK(message == "");
}

TEST_CASE("archive: names too long for the grader or the file system are refused") {
    const std::string long_part(300, 'n');
    for (const auto& [format, message] : refusals_of({file("src/" + long_part + ".cpp")}))
        check_refusal(message, std::string("submission.") + name_of(format),
                      "src/" + long_part + ".cpp",
                      "has a name this file system cannot store (File name too long)");
    std::string deep;
    for (int i = 0; i < 6; ++i) deep += std::string(200, 'd') + "/";
    for (const auto& [format, message] : refusals_of({file(deep + "x.cpp")}))
        check_refusal(message, std::string("submission.") + name_of(format), deep + "x.cpp",
                      "has a name longer than 1024 bytes");
    // Long, but within both limits.
    std::string fine;
    for (int i = 0; i < 4; ++i) fine += std::string(250, 'f') + "/";
    for (const auto& [format, message] : refusals_of({file(fine + "x.cpp")})) CHECK(message == "");
}

TEST_CASE("archive: symlinks, hard links, devices and FIFOs are refused") {
    Entry symlink{"link", AE_IFLNK, "", "/etc/passwd", 0777};
    for (const auto& [format, message] : refusals_of({file("a.cpp"), symlink})) {
        check_refusal(message, std::string("submission.") + name_of(format), "link",
                      "is a symbolic link (to '/etc/passwd'); only files and folders are "
                      "unpacked");
    }
    // A name with a newline stays on one line in the message.
    Entry odd_symlink{"odd\nname", AE_IFLNK, "", "elsewhere", 0777};
    for (const auto& [format, message] : refusals_of({odd_symlink}))
        check_refusal(message, std::string("submission.") + name_of(format), "odd\\nname",
                      "is a symbolic link (to 'elsewhere')");

    // Zip has no hard links, devices or FIFOs: tar only.
    const std::vector<std::pair<Entry, std::string>> cases = {
        {{"b.cpp", AE_IFREG, "", "a.cpp", 0644},
         "is a hard link (to 'a.cpp'); only files and folders are unpacked"},
        {{"tty", AE_IFCHR, "", "", 0666}, "is a device; only files and folders are unpacked"},
        {{"disk", AE_IFBLK, "", "", 0666}, "is a device; only files and folders are unpacked"},
        {{"pipe", AE_IFIFO, "", "", 0644},
         "is a FIFO (named pipe); only files and folders are unpacked"},
    };
    for (const auto& [entry, words] : cases) {
        INFO("entry: ", entry.path);
        Scratch scratch;
        fs::path archive = scratch.archives() / "odd.tar.gz";
        write_archive(archive, Format::tar_gz, {file("a.cpp"), entry});
        check_refusal(refusal(archive, scratch.into()), "odd.tar.gz", entry.path, words);
        CHECK_FALSE(fs::exists(fs::symlink_status(scratch.into() / entry.path)));
    }
}

TEST_CASE("archive: nothing is written through or over what is already there") {
    for (const auto& [format, message] : refusals_of({file("a"), file("a/b.cpp")}))
        check_refusal(message, std::string("submission.") + name_of(format), "a/b.cpp",
                      "would be written through 'a', which is a file or a link, not a folder");
    for (const auto& [format, message] : refusals_of({file("a", "first"), file("a", "second")}))
        check_refusal(message, std::string("submission.") + name_of(format), "a",
                      "would be written over 'a', which is already there");
    for (const auto& [format, message] : refusals_of({file("a"), folder("a/")}))
        check_refusal(message, std::string("submission.") + name_of(format), "a/",
                      "would be written over 'a', which is already there and is not a folder");
    for (const auto& [format, message] : refusals_of({folder("a/"), file("a")}))
        check_refusal(message, std::string("submission.") + name_of(format), "a",
                      "would be written over 'a', which is already there");

    for (Format format : {Format::zip, Format::tar_gz}) {
        INFO("format: ", name_of(format));
        // Symlinks already in the destination (the archive cannot make any): neither
        // gone through to a folder elsewhere nor written over to a file elsewhere.
        Scratch scratch;
        fs::create_directory(scratch.outer() / "elsewhere");
        write_file(scratch.outer() / "target.txt", "untouched");
        fs::create_directory_symlink(scratch.outer() / "elsewhere", scratch.into() / "dir-link");
        fs::create_symlink(scratch.outer() / "target.txt", scratch.into() / "file-link");
        const std::string name = std::string("links.") + name_of(format);
        fs::path through = scratch.archives() / ("through-" + name);
        write_archive(through, format, {file("dir-link/evil.txt")});
        check_refusal(
            refusal(through, scratch.into()), "through-" + name, "dir-link/evil.txt",
            "would be written through 'dir-link', which is a file or a link, not a folder");
        fs::path over = scratch.archives() / ("over-" + name);
        write_archive(over, format, {file("file-link", "changed")});
        check_refusal(refusal(over, scratch.into()), "over-" + name, "file-link",
                      "would be written over 'file-link', which is already there");
        CHECK(fs::is_empty(scratch.outer() / "elsewhere"));
        CHECK(read_file(scratch.outer() / "target.txt") == "untouched");
    }
}

TEST_CASE("archive: the limits on one file, all files and the entries are kept") {
    UnpackLimits limits;
    limits.max_file_bytes = 1000;
    limits.max_total_bytes = 1500;
    limits.max_entries = 3;

    // At the limits: unpacks.
    for (const auto& [format, message] :
         refusals_of({file("one", std::string(1000, 'x')), file("two", std::string(500, 'y')),
                      folder("f/")},
                     limits))
        CHECK(message == "");
    // One byte over each.
    for (const auto& [format, message] : refusals_of({file("big", std::string(1001, 'x'))}, limits))
        check_refusal(message, std::string("submission.") + name_of(format), "big",
                      "is larger than the limit of 1000 bytes for one file");
    for (const auto& [format, message] : refusals_of(
             {file("one", std::string(1000, 'x')), file("two", std::string(501, 'y'))}, limits))
        check_refusal(message, std::string("submission.") + name_of(format), "two",
                      "takes the archive over the limit of 1500 bytes for all its files together");
    // Folders count as entries.
    for (const auto& [format, message] :
         refusals_of({folder("f/"), file("f/a"), file("f/b"), file("f/c")}, limits))
        check_refusal(message, std::string("submission.") + name_of(format), "",
                      "holds more than 3 entries (files and folders), the limit for one "
                      "archive; the first one over is 'f/c'");

    // The defaults, and their wording.
    const UnpackLimits defaults;
    CHECK(defaults.max_file_bytes == 16ull * 1024 * 1024);
    CHECK(defaults.max_total_bytes == 64ull * 1024 * 1024);
    CHECK(defaults.max_entries == 10000);
    limits.max_file_bytes = 16ull * 1024 * 1024;
    limits.max_total_bytes = 4 * 1024;
    for (const auto& [format, message] : refusals_of({file("big", noise(5000))}, limits))
        check_refusal(message, std::string("submission.") + name_of(format), "big",
                      "takes the archive over the limit of 4 KiB for all its files together");
}

// The three places a zip states an entry's uncompressed size (local header, data
// descriptor, central directory), set to `size`.
void claim_size(std::string& zip, std::uint32_t size) {
    const std::pair<std::string, std::size_t> fields[] = {{std::string("PK\x03\x04", 4), 22},
                                                          {std::string("PK\x07\x08", 4), 12},
                                                          {std::string("PK\x01\x02", 4), 24}};
    for (const auto& [signature, offset] : fields) {
        std::size_t at = zip.find(signature);
        REQUIRE(at != std::string::npos);
        for (std::size_t i = 0; i < 4; ++i)
            zip[at + offset + i] = static_cast<char>((size >> (8 * i)) & 0xff);
    }
}

TEST_CASE("archive: a zip whose header understates a file's size is held to the bytes read") {
    // libarchive's writer keeps the header true (it cuts the data to the stated size), so
    // the lie is written into the bytes afterwards. A tar cannot lie this way: its reader
    // reads exactly the stated size, and the rest is garbage where a header should be.
    Scratch scratch;
    const std::string data(100000, 'a');  // deflates to a few hundred bytes
    fs::path honest = scratch.archives() / "honest.zip";
    write_archive(honest, Format::zip, {file("bomb.txt", data)});
    std::string zip = read_file(honest);
    claim_size(zip, 10);
    fs::path lying = scratch.archives() / "lying.zip";
    write_file(lying, zip);

    UnpackLimits limits;
    limits.max_file_bytes = 1000;
    check_refusal(refusal(lying, scratch.into(), limits), "lying.zip", "bomb.txt",
                  "is larger than the limit of 1000 bytes for one file");
    CHECK(fs::file_size(scratch.into() / "bomb.txt") <= 1000);
    // Within the limits, the mismatch itself is refused.
    fs::remove_all(scratch.into());
    fs::create_directory(scratch.into());
    check_refusal(refusal(lying, scratch.into()), "lying.zip", "bomb.txt", "is damaged (");
    // The same archive told the truth: unpacks.
    fs::remove_all(scratch.into());
    fs::create_directory(scratch.into());
    limits.max_file_bytes = data.size();
    CHECK(refusal(honest, scratch.into(), limits) == "");
    CHECK(read_file(scratch.into() / "bomb.txt") == data);
}

TEST_CASE("archive: cut short, damaged or not an archive at all is refused with its name") {
    const std::vector<Entry> entries = {file("a.cpp", noise(20000, 1)),
                                        file("b.cpp", noise(20000, 2))};
    for (Format format : {Format::zip, Format::tar_gz}) {
        INFO("format: ", name_of(format));
        Scratch scratch;
        const std::string whole_name = std::string("whole.") + name_of(format);
        write_archive(scratch.archives() / whole_name, format, entries);
        const std::string bytes = read_file(scratch.archives() / whole_name);
        // Cut in the first file, in the second, and just before the end of the data (a zip
        // cut only in its directory at the end still holds every file whole).
        std::size_t data_end = bytes.size() - 100;
        if (format == Format::zip) data_end = bytes.find(std::string("PK\x01\x02", 4)) - 20;
        for (std::size_t keep : {bytes.size() / 4, bytes.size() * 3 / 4, data_end}) {
            INFO("kept ", keep, " of ", bytes.size(), " bytes");
            const std::string name = std::string("cut.") + name_of(format);
            write_file(scratch.archives() / name, bytes.substr(0, keep));
            fs::remove_all(scratch.into());
            fs::create_directory(scratch.into());
            check_refusal(refusal(scratch.archives() / name, scratch.into()), name, "", "damaged");
        }
        // One byte changed in a file's data: a zip's CRC catches it. (libarchive 3.6 does not
        // check a gzip stream's CRC, and a tar has none over the data: not tried there.)
        if (format != Format::zip) continue;
        std::string flipped = bytes;
        flipped[bytes.size() / 3] = static_cast<char>(flipped[bytes.size() / 3] ^ 0x55);
        const std::string flipped_name = std::string("flipped.") + name_of(format);
        write_file(scratch.archives() / flipped_name, flipped);
        fs::remove_all(scratch.into());
        fs::create_directory(scratch.into());
        check_refusal(refusal(scratch.archives() / flipped_name, scratch.into()), flipped_name, "",
                      "damaged");
    }
    for (std::string name : {"x.zip", "x.tar.gz", "x.tgz"}) {
        Scratch scratch;
        write_file(scratch.archives() / name, "This is my server, I forgot to zip it.\n");
        check_refusal(refusal(scratch.archives() / name, scratch.into()), name, "",
                      std::string("is not a ") + (name == "x.zip" ? ".zip" : ".tar.gz") +
                          " archive, or is damaged or cut short (");
        write_file(scratch.archives() / name, "");
        check_refusal(refusal(scratch.archives() / name, scratch.into()), name, "", "is not a");
    }
    // A real archive of the other kind than its name says.
    Scratch scratch;
    write_archive(scratch.archives() / "renamed.zip", Format::tar_gz, {file("a.cpp")});
    check_refusal(refusal(scratch.archives() / "renamed.zip", scratch.into()), "renamed.zip", "",
                  "is not a .zip archive, or is damaged or cut short (");
}

TEST_CASE("archive: a password-protected zip is refused as such") {
    Scratch scratch;
    fs::path archive = scratch.archives() / "locked.zip";
    {
        std::unique_ptr<struct archive, WriterFree> writer(archive_write_new());
        REQUIRE(archive_write_set_format_zip(writer.get()) == ARCHIVE_OK);
        REQUIRE(archive_write_set_options(writer.get(), "zip:encryption=zipcrypt") == ARCHIVE_OK);
        REQUIRE(archive_write_set_passphrase(writer.get(), "secret") == ARCHIVE_OK);
        REQUIRE(archive_write_open_filename(writer.get(), archive.c_str()) == ARCHIVE_OK);
        std::unique_ptr<struct archive_entry, EntryFree> header(archive_entry_new());
        archive_entry_set_pathname(header.get(), "server.cpp");
        archive_entry_set_filetype(header.get(), AE_IFREG);
        archive_entry_set_perm(header.get(), 0644);
        archive_entry_set_size(header.get(), 5);
        REQUIRE(archive_write_header(writer.get(), header.get()) == ARCHIVE_OK);
        REQUIRE(archive_write_data(writer.get(), "hello", 5) == 5);
        REQUIRE(archive_write_close(writer.get()) == ARCHIVE_OK);
    }
    check_refusal(refusal(archive, scratch.into()), "locked.zip", "server.cpp",
                  "is encrypted: submit the archive without a password");
    CHECK_FALSE(fs::exists(scratch.into() / "server.cpp"));
}

TEST_CASE("archive: a missing archive or destination is the machine's error, not the archive's") {
    Scratch scratch;
    CHECK_THROWS_AS(unpack_archive(scratch.archives() / "missing.zip", scratch.into()),
                    std::system_error);
    write_archive(scratch.archives() / "fine.zip", Format::zip, {file("a.cpp")});
    CHECK_THROWS_AS(unpack_archive(scratch.archives() / "fine.zip", scratch.into() / "missing"),
                    std::system_error);
}
