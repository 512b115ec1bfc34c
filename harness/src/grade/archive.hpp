#pragma once
// Unpacking a student's .zip or .tar.gz submission: untrusted input, so nothing in
// the archive may choose where a file lands or what it is. Only plain files (mode
// 0644, whatever the archive says) and folders (0755) are made, each written by us
// beneath the destination, and the sizes counted are the bytes really written.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>

namespace labcheck {

// Limits on what one submission may unpack to.
struct UnpackLimits {
    std::uintmax_t max_total_bytes = 64ull * 1024 * 1024;  // the sum of all files' sizes
    std::uintmax_t max_file_bytes = 16ull * 1024 * 1024;
    std::size_t max_entries = 10000;
};

// What is wrong with an archive, in one line a student or instructor can act on
// ("submission.zip: entry '../../etc/passwd' climbs out of the folder it unpacks into").
class ArchiveError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// .zip, .tar.gz or .tgz (by name, case-insensitive).
bool is_archive(const std::filesystem::path& path);

// Unpacks `archive` into the folder `into`, which must exist. Regular files and folders only.
// Throws ArchiveError, naming the archive and the entry, when: an entry's path is absolute, or
// has a ".." component, or is empty; an entry is a symlink, hard link, device, FIFO or socket;
// a file would be written through or over something already there; the archive holds more than
// the limits (count the real bytes written, not only the header's size: headers can lie); the
// archive is corrupt or not an archive at all. Also when a name is longer than 1024 bytes or
// one this file system cannot store (the grader walks the unpacked tree by path afterwards).
// A .zip is read as zip only, a .tar.gz/.tgz as (gzipped) tar only.
// Throws std::system_error when the archive or `into` cannot be opened, or writing fails for
// a reason of the machine's (a full disk). On a throw, what was unpacked so far may remain
// (the caller removes the folder).
void unpack_archive(const std::filesystem::path& archive, const std::filesystem::path& into,
                    const UnpackLimits& limits = {});

}  // namespace labcheck
