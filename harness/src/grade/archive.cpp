#include "grade/archive.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "byte_diff.hpp"
#include "os/errors.hpp"
#include "os/unique_fd.hpp"

namespace labcheck {
namespace fs = std::filesystem;

namespace {

// The grader walks the unpacked tree by path afterwards: with the scratch folder in
// front, a longer name could pass PATH_MAX (4096) and fail there instead of here.
constexpr std::size_t kMaxNameBytes = 1024;
// How much of the archive libarchive reads at a time.
constexpr std::size_t kReadBlockBytes = 64 * 1024;

// What the archive's name promises; only that format is read, so a renamed file
// cannot reach a reader nobody meant to expose.
enum class Format { zip, tar_gz };

std::optional<Format> format_of(const fs::path& path) {
    std::string name = path.filename().string();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    if (name.ends_with(".zip")) return Format::zip;
    if (name.ends_with(".tar.gz") || name.ends_with(".tgz")) return Format::tar_gz;
    return std::nullopt;
}

// libarchive gives entries' names in the calling thread's locale. In the C locale
// labcheck runs in, a name it cannot convert (a zip's UTF-8 "r\xc3\xa9sum\xc3\xa9.md")
// comes back as nothing at all; in C.UTF-8 it comes back as its bytes. Per thread
// (uselocale), so submissions unpacked at once do not share it.
class Utf8Names {
  public:
    Utf8Names() : utf8_(::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{})) {
        if (utf8_ != locale_t{}) previous_ = ::uselocale(utf8_);
    }
    Utf8Names(const Utf8Names&) = delete;
    Utf8Names& operator=(const Utf8Names&) = delete;
    ~Utf8Names() {
        if (utf8_ == locale_t{}) return;  // no C.UTF-8 here: names as the locale allows
        ::uselocale(previous_);
        ::freelocale(utf8_);
    }

  private:
    locale_t utf8_;
    locale_t previous_{};
};

struct ReaderFree {
    void operator()(struct archive* reader) const noexcept { archive_read_free(reader); }
};
using Reader = std::unique_ptr<struct archive, ReaderFree>;

// "16 MiB", "4 KiB" or "1000 bytes": a limit as a person would write it.
std::string size_words(std::uintmax_t bytes) {
    constexpr std::uintmax_t kib = 1024;
    constexpr std::uintmax_t mib = 1024 * kib;
    if (bytes >= mib && bytes % mib == 0) return fmt::format("{} MiB", bytes / mib);
    if (bytes >= kib && bytes % kib == 0) return fmt::format("{} KiB", bytes / kib);
    return fmt::format("{} {}", bytes, bytes == 1 ? "byte" : "bytes");
}

// libarchive's own words for what went wrong, on one line (some end in a newline).
std::string reason_of(struct archive* reader) {
    const char* text = archive_error_string(reader);
    std::string_view reason = text != nullptr ? text : "no reason given";
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
        reason.remove_suffix(1);
    return escape_bytes(reason);
}

// Errors of openat/mkdirat that the entry's name causes, not the machine.
bool is_name_errno(int error) {
    return error == ENAMETOOLONG || error == EILSEQ || error == EINVAL;
}

// Before the first entry, libarchive cannot tell a damaged archive from something else.
std::string not_an_archive(Format format, struct archive* reader) {
    return fmt::format("is not a {} archive, or is damaged or cut short ({})",
                       format == Format::zip ? ".zip" : ".tar.gz", reason_of(reader));
}

void write_all(int fd, const void* data, std::size_t size, off_t offset, const std::string& what) {
    const char* bytes = static_cast<const char*>(data);
    while (size > 0) {
        ssize_t written = retry_on_eintr([&] { return ::pwrite(fd, bytes, size, offset); });
        if (written < 0) throw_errno("write " + what);
        bytes += written;
        size -= static_cast<std::size_t>(written);
        offset += written;
    }
}

// One pass over one archive: the entry being unpacked and the running counts.
class Unpacker {
  public:
    Unpacker(const fs::path& archive, Format format, int into, const UnpackLimits& limits)
        : archive_name_(escape_bytes(archive.filename().string())),
          format_(format),
          into_(into),
          limits_(limits) {}

    void unpack(struct archive* reader) {
        for (;;) {
            struct archive_entry* entry = nullptr;
            int status = archive_read_next_header(reader, &entry);
            if (status == ARCHIVE_EOF) return;
            // A warning leaves the entry usable (a name in another character set); every
            // name is checked below anyway.
            if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
                if (entries_ == 0) refuse(not_an_archive(format_, reader));
                refuse(fmt::format("is damaged or cut short after entry '{}' ({})", entry_,
                                   reason_of(reader)));
            }
            unpack_entry(reader, entry);
        }
    }

  private:
    [[noreturn]] void refuse(const std::string& problem) const {
        throw ArchiveError(fmt::format("{}: {}", archive_name_, problem));
    }
    [[noreturn]] void refuse_entry(const std::string& problem) const {
        refuse(fmt::format("entry '{}' {}", entry_, problem));
    }

    void unpack_entry(struct archive* reader, struct archive_entry* entry) {
        const char* pathname = archive_entry_pathname(entry);
        if (pathname == nullptr) pathname = archive_entry_pathname_utf8(entry);
        if (pathname == nullptr)
            refuse(fmt::format("entry {} has a name that cannot be read ({})", entries_ + 1,
                               reason_of(reader)));
        std::string name = pathname;
        entry_ = escape_bytes(name);
        if (++entries_ > limits_.max_entries)
            refuse(fmt::format(
                "holds more than {} entries (files and folders), the limit for one archive; "
                "the first one over is '{}'",
                limits_.max_entries, entry_));
        std::vector<std::string> parts = parts_of(name);
        refuse_unless_file_or_folder(entry);
        // libarchive would only say it cannot decrypt it.
        if (archive_entry_is_encrypted(entry))
            refuse_entry("is encrypted: submit the archive without a password");
        if (archive_entry_filetype(entry) == AE_IFDIR) {
            open_folder(parts, parts.size(), true);
            return;
        }
        if (parts.empty()) refuse_entry("names no file: its path is only '.' and '/'");
        write_file(reader, entry, parts);
    }

    // The folders and file name an entry's path walks through, refused when it could
    // lead anywhere but beneath the destination. "." and empty parts ("a//b") are dropped.
    std::vector<std::string> parts_of(const std::string& name) const {
        if (name.empty()) refuse_entry("has an empty name");
        if (name.size() > kMaxNameBytes)
            refuse_entry(fmt::format("has a name longer than {} bytes", kMaxNameBytes));
        if (name.front() == '/')
            refuse_entry(
                "has an absolute path: entries must be relative to the folder they unpack into");
        std::vector<std::string> parts;
        std::size_t start = 0;
        while (start <= name.size()) {
            std::size_t end = std::min(name.find('/', start), name.size());
            std::string part = name.substr(start, end - start);
            if (part == "..")
                refuse_entry("climbs out of the folder it unpacks into (a '..' in its path)");
            if (!part.empty() && part != ".") parts.push_back(std::move(part));
            start = end + 1;
        }
        return parts;
    }

    void refuse_unless_file_or_folder(struct archive_entry* entry) const {
        constexpr std::string_view only = "; only files and folders are unpacked";
        if (const char* target = archive_entry_hardlink(entry))
            refuse_entry(fmt::format("is a hard link (to '{}'){}", escape_bytes(target), only));
        switch (archive_entry_filetype(entry)) {
            case AE_IFREG:
            case AE_IFDIR:
                return;
            case AE_IFLNK: {
                const char* target = archive_entry_symlink(entry);
                refuse_entry(fmt::format("is a symbolic link (to '{}'){}",
                                         escape_bytes(target != nullptr ? target : ""), only));
            }
            case AE_IFCHR:
            case AE_IFBLK:
                refuse_entry(fmt::format("is a device{}", only));
            case AE_IFIFO:
                refuse_entry(fmt::format("is a FIFO (named pipe){}", only));
            case AE_IFSOCK:
                refuse_entry(fmt::format("is a socket{}", only));
            default:
                refuse_entry(fmt::format("is neither a file nor a folder{}", only));
        }
    }

    // A failed openat/mkdirat of `shown` (a path under the destination): the name's
    // fault is the archive's, anything else the machine's.
    [[noreturn]] void fail_at(const std::string& shown) const {
        int error = errno;
        if (is_name_errno(error))
            refuse_entry(fmt::format("has a name this file system cannot store ({})",
                                     std::generic_category().message(error)));
        throw std::system_error(
            error, std::generic_category(),
            fmt::format("{}: creating '{}' for entry '{}'", archive_name_, shown, entry_));
    }

    static std::string joined(const std::vector<std::string>& parts, std::size_t count) {
        std::string path;
        for (std::size_t i = 0; i < count; ++i) {
            if (i > 0) path += '/';
            path += parts[i];
        }
        return escape_bytes(path);
    }

    // Opens the folder made of the first `count` parts beneath the destination, making
    // those missing (0755). Each part is opened on its own with O_NOFOLLOW, so neither a
    // symlink nor a file already there is ever gone through. `is_entry` when the last
    // part is the entry itself (a folder entry), for the wording.
    UniqueFd open_folder(const std::vector<std::string>& parts, std::size_t count, bool is_entry) {
        UniqueFd folder(::fcntl(into_, F_DUPFD_CLOEXEC, 0));
        if (!folder) throw_errno("fcntl F_DUPFD_CLOEXEC");
        for (std::size_t i = 0; i < count; ++i) {
            const char* part = parts[i].c_str();
            std::string shown = joined(parts, i + 1);
            // Empty when the part does not exist yet.
            auto open_part = [&] {
                UniqueFd next(retry_on_eintr([&] {
                    return ::openat(folder.get(), part,
                                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                }));
                if (next || errno == ENOENT) return next;
                if (errno != ENOTDIR && errno != ELOOP) fail_at(shown);
                if (is_entry && i + 1 == count)
                    refuse_entry(fmt::format(
                        "would be written over '{}', which is already there and is not a folder",
                        shown));
                refuse_entry(fmt::format(
                    "would be written through '{}', which is a file or a link, not a folder",
                    shown));
            };
            UniqueFd next = open_part();
            if (!next) {
                if (::mkdirat(folder.get(), part, 0755) != 0) fail_at(shown);
                next = open_part();
                if (!next) fail_at(shown);
                // Exactly 0755 whatever the umask, so a grader running as another user can
                // read it.
                if (::fchmod(next.get(), 0755) != 0)
                    throw_errno(archive_name_ + ": fchmod " + shown);
            }
            folder = std::move(next);
        }
        return folder;
    }

    // Refuses a file of `file_bytes` that breaks a limit, given the files before it.
    void check_size(std::uintmax_t file_bytes) const {
        if (file_bytes > limits_.max_file_bytes)
            refuse_entry(fmt::format("is larger than the limit of {} for one file",
                                     size_words(limits_.max_file_bytes)));
        if (file_bytes > limits_.max_total_bytes - total_)
            refuse_entry(
                fmt::format("takes the archive over the limit of {} for all its files together",
                            size_words(limits_.max_total_bytes)));
    }

    void write_file(struct archive* reader, struct archive_entry* entry,
                    const std::vector<std::string>& parts) {
        // The header's size refuses a big file before a byte is written; the bytes really
        // read are counted below all the same, since a header can lie.
        if (archive_entry_size_is_set(entry) && archive_entry_size(entry) > 0)
            check_size(static_cast<std::uintmax_t>(archive_entry_size(entry)));
        UniqueFd folder = open_folder(parts, parts.size() - 1, false);
        std::string shown = joined(parts, parts.size());
        UniqueFd file(retry_on_eintr([&] {
            return ::openat(folder.get(), parts.back().c_str(),
                            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        }));
        if (!file) {
            if (errno == EEXIST)
                refuse_entry(
                    fmt::format("would be written over '{}', which is already there", shown));
            fail_at(shown);
        }
        // 0644 whatever the archive or the umask say: never executable, setuid or private.
        if (::fchmod(file.get(), 0644) != 0) throw_errno(archive_name_ + ": fchmod " + shown);

        std::uintmax_t size = 0;  // where the data written so far ends
        for (;;) {
            const void* block = nullptr;
            std::size_t block_bytes = 0;
            la_int64_t offset = 0;
            int status = archive_read_data_block(reader, &block, &block_bytes, &offset);
            if (status == ARCHIVE_EOF) break;
            if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
                refuse_entry(fmt::format("is damaged or cut short ({})", reason_of(reader)));
            // Blocks after a hole (a sparse file) start further on, never further back.
            if (offset < 0 || static_cast<std::uintmax_t>(offset) < size)
                refuse_entry("is damaged: its data goes back over itself");
            std::uintmax_t end = static_cast<std::uintmax_t>(offset) + block_bytes;
            check_size(end);
            // A warning on data is a size or checksum that does not match: corrupt.
            if (status == ARCHIVE_WARN)
                refuse_entry(fmt::format("is damaged ({})", reason_of(reader)));
            write_all(file.get(), block, block_bytes, static_cast<off_t>(offset), shown);
            size = end;
        }
        // A sparse file may end in a hole, which no block writes.
        if (::ftruncate(file.get(), static_cast<off_t>(size)) != 0)
            throw_errno(archive_name_ + ": ftruncate " + shown);
        total_ += size;
    }

    std::string archive_name_;
    Format format_;
    int into_;
    UnpackLimits limits_;
    std::string entry_;         // the entry being unpacked, escaped for messages
    std::size_t entries_ = 0;   // entries seen so far, this one included
    std::uintmax_t total_ = 0;  // bytes of the files unpacked so far
};

Reader open_reader(const fs::path& archive, Format format, int fd) {
    Reader reader(archive_read_new());
    if (!reader) throw std::bad_alloc();
    // The status is below ARCHIVE_WARN only when this libarchive cannot read the format.
    auto require = [&](int status, const char* what) {
        if (status < ARCHIVE_WARN)
            throw std::runtime_error(
                fmt::format("libarchive cannot read {}: {}", what, reason_of(reader.get())));
    };
    if (format == Format::zip) {
        require(archive_read_support_format_zip(reader.get()), "zip");
    } else {
        require(archive_read_support_filter_gzip(reader.get()), "gzip");
        require(archive_read_support_format_tar(reader.get()), "tar");
    }
    if (archive_read_open_fd(reader.get(), fd, kReadBlockBytes) != ARCHIVE_OK)
        throw ArchiveError(fmt::format("{}: {}", escape_bytes(archive.filename().string()),
                                       not_an_archive(format, reader.get())));
    return reader;
}

}  // namespace

bool is_archive(const fs::path& path) {
    return format_of(path).has_value();
}

void unpack_archive(const fs::path& archive, const fs::path& into, const UnpackLimits& limits) {
    Utf8Names utf8_names;  // first, so the reader is freed while it holds
    std::optional<Format> format = format_of(archive);
    if (!format)
        throw ArchiveError(fmt::format("{}: is not named .zip, .tar.gz or .tgz",
                                       escape_bytes(archive.filename().string())));
    UniqueFd destination(
        retry_on_eintr([&] { return ::open(into.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); }));
    if (!destination) throw_errno("open " + into.string());
    UniqueFd file(retry_on_eintr([&] { return ::open(archive.c_str(), O_RDONLY | O_CLOEXEC); }));
    if (!file) throw_errno("open " + archive.string());
    // Declared after `file`, so freed before it is closed.
    Reader reader = open_reader(archive, *format, file.get());
    Unpacker(archive, *format, destination.get(), limits).unpack(reader.get());
}

}  // namespace labcheck
