#include "save_watcher.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "lab_catalog.hpp"
#include "os/errors.hpp"

namespace labcheck {
namespace {

constexpr std::uint32_t kSaves = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE;
constexpr std::uint32_t kFolderGone = IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED;

// However busy the folder stays, a save is acted on after this long.
constexpr Millis kLongestBurst{2000};

}  // namespace

SaveWatcher::SaveWatcher(const std::filesystem::path& folder, std::string file_name, Millis quiet)
    : folder_(folder),
      file_name_(std::move(file_name)),
      quiet_(quiet),
      inotify_(inotify_init1(IN_CLOEXEC | IN_NONBLOCK)) {
    if (!inotify_) throw_errno("inotify_init1");
    if (inotify_add_watch(inotify_.get(), folder_.c_str(), kSaves | IN_DELETE_SELF | IN_MOVE_SELF) <
        0)
        throw_errno("watch " + folder_.string() + " for saves (inotify_add_watch)");
}

bool SaveWatcher::read_events() {
    bool saved = false;
    // Aligned for the struct at its start; events follow one another, each with its name.
    alignas(inotify_event) char buffer[16 * (sizeof(inotify_event) + NAME_MAX + 1)];
    for (;;) {
        ssize_t n = retry_on_eintr([&] { return ::read(inotify_.get(), buffer, sizeof buffer); });
        if (n < 0) {
            if (errno == EAGAIN) return saved;
            throw_errno("read inotify events");
        }
        for (ssize_t at = 0; at < n;) {
            inotify_event event;
            std::memcpy(&event, buffer + at, sizeof event);
            const char* name = buffer + at + sizeof event;
            if (event.mask & kFolderGone)
                throw UsageError(fmt::format("{} was deleted or moved away: nothing left to watch",
                                             folder_.string()));
            // An overflowed queue lost events, perhaps the save: treat it as one.
            if (event.mask & IN_Q_OVERFLOW) saved = true;
            if ((event.mask & kSaves) && event.len > 0 && file_name_ == name) saved = true;
            at += static_cast<ssize_t>(sizeof event + event.len);
        }
    }
}

void SaveWatcher::wait_for_save() {
    pollfd entry{inotify_.get(), POLLIN, 0};
    while (!read_events()) {
        if (retry_on_eintr([&] { return ::poll(&entry, 1, -1); }) < 0) throw_errno("poll inotify");
    }
    // Saved: now wait for the rest of the burst (the editor's rename, its backup file).
    auto longest = Deadline::after(kLongestBurst);
    for (;;) {
        int wait = static_cast<int>(std::min<Millis::rep>(quiet_.count(), longest.poll_timeout()));
        int ready = retry_on_eintr([&] { return ::poll(&entry, 1, wait); });
        if (ready < 0) throw_errno("poll inotify");
        if (ready == 0 || longest.expired()) return;  // quiet, or busy for too long
        read_events();
    }
}

}  // namespace labcheck
