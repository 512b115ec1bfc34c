#pragma once
// Notices when a student saves a file, however their editor saves it: written in
// place (IN_CLOSE_WRITE), written to a temporary file renamed over it (IN_MOVED_TO),
// or deleted and created anew (IN_CREATE). inotify watches the file's folder, not
// the file, since a rename replaces the inode a watch on the file would follow.

#include <filesystem>
#include <string>

#include "os/deadline.hpp"
#include "os/unique_fd.hpp"

namespace labcheck {

class SaveWatcher {
  public:
    // Starts watching at once: a save made before wait_for_save() is not missed.
    // Throws std::system_error when the folder cannot be watched.
    SaveWatcher(const std::filesystem::path& folder, std::string file_name,
                Millis quiet = Millis(150));

    // Returns once the file has been saved and the folder has then been quiet for
    // `quiet`: an editor's save is a burst of events, and one save is one round.
    // Throws UsageError when the folder itself is deleted or moved away.
    void wait_for_save();

  private:
    // Reads the queued events; true when one of them is a save of the file.
    bool read_events();

    std::filesystem::path folder_;
    std::string file_name_;
    Millis quiet_;
    UniqueFd inotify_;
};

}  // namespace labcheck
