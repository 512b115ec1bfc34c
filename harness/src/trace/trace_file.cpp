#include "trace/trace_file.hpp"

#include <fstream>

#include <fmt/format.h>

#include "build_command.hpp"
#include "os/text_file.hpp"
#include "trace/trace_chart.hpp"
#include "trace/trace_tree.hpp"

namespace labcheck {
namespace {
namespace fs = std::filesystem;

std::string first_line(const std::string& text) {
    auto end = text.find('\n');
    return end == std::string::npos ? text : text.substr(0, end);
}

}  // namespace

void check_trace_path(const fs::path& path) {
    auto extension = path.extension();
    if (extension != ".svg" && extension != ".msc" && extension != ".dot")
        throw UsageError(fmt::format(
            "--trace wants a file ending in .svg (the chart), .msc (its mscgen source) or .dot "
            "(the process trees, for Graphviz), not '{}'",
            path.string()));
    auto folder = path.parent_path();
    if (!folder.empty() && !fs::is_directory(folder))
        throw UsageError(fmt::format("--trace {}: the folder {} does not exist", path.string(),
                                     folder.string()));
}

void write_trace(const Trace& trace, const std::string& title, const fs::path& path,
                 const Kit& kit) {
    fs::path render = kit.root / "diagrams" / "render.sh";
    if (!fs::exists(render))
        throw std::runtime_error(fmt::format(
            "cannot draw the trace: {} is missing (is --kit the kit's folder?)", render.string()));

    // The chart names the look's colours (@client@); render.sh puts them in. Its
    // source waits beside the output while render.sh reads it.
    bool tree = path.extension() == ".dot";
    fs::path source = path;
    source += tree ? ".labcheck-source.dot" : ".labcheck-source.msc";
    write_text_file(source, tree ? trace_tree(trace, title) : trace_chart(trace, title));
    std::string command =
        path.extension() != ".svg"
            ? fmt::format("bash {} --expand {} > {}", shell_quote(render.string()),
                          shell_quote(fs::absolute(source).string()),
                          shell_quote(fs::absolute(path).string()))
            : fmt::format("bash {} {} {}", shell_quote(render.string()),
                          shell_quote(fs::absolute(source).string()),
                          shell_quote(fs::absolute(path).string()));
    BuildOutcome outcome = run_build(command, kit.root);
    if (outcome.succeeded()) {
        fs::remove(source);
        return;
    }
    fs::path kept = path;
    kept.replace_extension(".msc");
    std::string reason = first_line(outcome.output);
    if (path.extension() == ".svg" && kept != source) {
        // Lose nothing: the source, with the look's colours, can be rendered later.
        BuildOutcome expanded =
            run_build(fmt::format("bash {} --expand {} > {}", shell_quote(render.string()),
                                  shell_quote(fs::absolute(source).string()),
                                  shell_quote(fs::absolute(kept).string())),
                      kit.root);
        if (expanded.succeeded()) {
            fs::remove(source);
            throw std::runtime_error(fmt::format(
                "could not draw {} ({}); the chart's source is in {}: render it with `bash "
                "diagrams/render.sh {} {}` once that is mended",
                path.string(), reason, kept.string(), kept.string(), path.string()));
        }
    }
    throw std::runtime_error(fmt::format("could not draw {} ({}); the chart's source is in {}",
                                         path.string(), reason, source.string()));
}

}  // namespace labcheck
