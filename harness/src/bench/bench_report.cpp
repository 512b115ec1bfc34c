#include "bench_report.hpp"

#include <chrono>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace labcheck::bench {
namespace {

double seconds(Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

double micros(std::chrono::nanoseconds d) {
    return static_cast<double>(d.count()) / 1000.0;
}

std::int64_t millis(Clock::duration d) {
    return std::chrono::duration_cast<Millis>(d).count();
}

// 812 µs, 1.82 ms, 1.20 s: three significant digits in the unit a person reads.
std::string human_time(std::chrono::nanoseconds d) {
    const double us = micros(d);
    if (us < 1000) return fmt::format("{:.0f} µs", us);
    if (us < 1e6) return fmt::format("{:.3g} ms", us / 1000);
    return fmt::format("{:.3g} s", us / 1e6);
}

std::string rate(double value) {
    return value >= 100 ? fmt::format("{:.0f}", value) : fmt::format("{:.3g}", value);
}

std::string load_line(const LoadPlan& plan) {
    switch (plan.mode) {
        case Mode::conn:
            return fmt::format(
                "conn: {} clients, each looping connect, a {}-byte round trip, close; for {:.3g} s",
                plan.connections, kRoundTripBytes, seconds(plan.length));
        case Mode::stream:
            return fmt::format(
                "stream: {} connection{}, each sending {:.4g} MiB while reading it back, then "
                "half-closing",
                plan.connections, plan.connections == 1 ? "" : "s",
                static_cast<double>(plan.stream_bytes) / (1024.0 * 1024.0));
        case Mode::hold:
            return fmt::format(
                "hold: {} connections opened and kept open, then a {}-byte round trip on each "
                "while all are open",
                plan.connections, kRoundTripBytes);
    }
    return "";
}

std::string_view latency_meaning(Mode mode) {
    switch (mode) {
        case Mode::conn:
            return "per round trip, from connect() to the reply's last byte";
        case Mode::stream:
            return "per connection, from connect() to the server's close";
        case Mode::hold:
            return "per round trip, from the first byte sent to the reply's last";
    }
    return "";
}

struct RateBasis {
    double round_trips;
    double bytes;
    double seconds;
};

RateBasis rate_basis(const LoadPlan& plan, const LoadResult& r) {
    if (plan.mode == Mode::conn)
        return {static_cast<double>(r.round_trips_in_window),
                static_cast<double>(r.round_trips_in_window * kRoundTripBytes),
                seconds(plan.length)};
    return {static_cast<double>(r.round_trips), static_cast<double>(r.bytes_verified),
            seconds(r.elapsed)};
}

}  // namespace

std::string_view to_string(Mode mode) {
    switch (mode) {
        case Mode::conn:
            return "conn";
        case Mode::stream:
            return "stream";
        case Mode::hold:
            return "hold";
    }
    return "";
}

double conn_per_s(const LoadPlan& plan, const LoadResult& result) {
    const RateBasis basis = rate_basis(plan, result);
    return basis.seconds > 0 ? basis.round_trips / basis.seconds : 0;
}

double mb_per_s(const LoadPlan& plan, const LoadResult& result) {
    const RateBasis basis = rate_basis(plan, result);
    return basis.seconds > 0 ? basis.bytes / basis.seconds / 1e6 : 0;
}

double percent_of_ceiling(const BenchReport& report) {
    if (!report.ceiling) return 0;
    const bool bytes = report.plan.mode == Mode::stream;
    const LoadPlan& plan = report.plan;
    const double mine = bytes ? mb_per_s(plan, report.result) : conn_per_s(plan, report.result);
    const double best =
        bytes ? mb_per_s(plan, report.ceiling->result) : conn_per_s(plan, report.ceiling->result);
    return best > 0 ? 100.0 * mine / best : 0;
}

std::string render_bench_text(const BenchReport& report) {
    const LoadResult& r = report.result;
    std::string out = fmt::format("labcheck bench: {}\n", report.server);
    out += fmt::format("  mode {}\n", load_line(report.plan));
    out += fmt::format(
        "  protocol {}; {} generator thread{}, which used {:.0f}% of a core\n\n",
        to_string(report.plan.protocol), r.threads, r.threads == 1 ? "" : "s",
        seconds(r.elapsed) > 0 ? 100 * seconds(r.generator_cpu) / seconds(r.elapsed) : 0.0);
    out += fmt::format("  connections/s  {}{}\n", rate(conn_per_s(report.plan, r)),
                       report.plan.mode == Mode::conn
                           ? fmt::format("   (round trips completed within the {:.3g} s)",
                                         seconds(report.plan.length))
                           : "");
    if (r.latency.count() > 0)
        out +=
            fmt::format("  latency        p50 {}   p99 {}   max {}   ({})\n",
                        human_time(r.latency.percentile(50)), human_time(r.latency.percentile(99)),
                        human_time(r.latency.max()), latency_meaning(report.plan.mode));
    out += fmt::format("  MB/s           {}   ({} reply bytes verified)\n",
                       rate(mb_per_s(report.plan, r)), r.bytes_verified);
    out += fmt::format(
        "  connections    {} made, {} {} verified, in {:.3f} s{}\n", r.connections_made,
        r.round_trips, report.plan.mode == Mode::stream ? "streams" : "round trips",
        seconds(r.elapsed),
        r.round_trips > r.round_trips_in_window && report.plan.mode == Mode::conn
            ? fmt::format(" ({} finished after the {:.3g} s)",
                          r.round_trips - r.round_trips_in_window, seconds(report.plan.length))
            : "");
    if (report.plan.mode == Mode::hold) {
        if (r.round_trips == report.plan.connections && r.last_served)
            out += fmt::format("  held           all {} served in {} ms\n", r.round_trips,
                               millis(*r.last_served));
        else
            out += fmt::format("  held           only {} of {} served; gave up after {} ms\n",
                               r.round_trips, report.plan.connections, millis(r.elapsed));
    }
    out += fmt::format("  errors         {}\n", r.errors);
    if (!report.server_ended.empty())
        out += fmt::format("  the server     {}\n", report.server_ended);
    if (!r.error_samples.empty()) {
        out += fmt::format("  the first {}:\n", r.error_samples.size());
        for (const auto& sample : r.error_samples) out += fmt::format("    {}\n", sample);
    }
    if (report.ceiling) {
        const LoadResult& c = report.ceiling->result;
        out += fmt::format(
            "\n  ceiling        the kit's fastest server, {}'s solution, under the same load:\n"
            "                 {} connections/s, {} MB/s{}   ({})\n",
            report.ceiling->folder, rate(conn_per_s(report.plan, c)),
            rate(mb_per_s(report.plan, c)), c.errors ? fmt::format(", {} errors", c.errors) : "",
            report.ceiling->server);
        out += fmt::format("                 this server reached {:.0f}% of it ({})\n",
                           percent_of_ceiling(report),
                           report.plan.mode == Mode::stream ? "MB/s" : "connections/s");
    }
    if (r.errors > 0)
        out += fmt::format("\nFAILED: {} connection{} failed or got a wrong byte\n", r.errors,
                           r.errors == 1 ? "" : "s");
    else if (!report.server_ended.empty())
        out += "\nFAILED: the server did not last the run\n";
    else
        out += "\nevery byte verified, no error\n";
    return out;
}

std::string render_bench_json(const BenchReport& report) {
    const LoadResult& r = report.result;
    nlohmann::ordered_json json;
    json["server"] = report.server;
    json["mode"] = to_string(report.plan.mode);
    json["protocol"] = to_string(report.plan.protocol);
    json["clients"] = report.plan.connections;
    json["connections"] = report.plan.connections;
    json["threads"] = r.threads;
    json["duration_ms"] = millis(r.elapsed);
    json["round_trips"] = r.round_trips;
    json["connections_made"] = r.connections_made;
    json["errors"] = r.errors;
    // Why the server stopped, when it did, comes first: it explains the errors after it.
    json["error_samples"] = nlohmann::json::array();
    if (!report.server_ended.empty())
        json["error_samples"].push_back("the server " + report.server_ended);
    for (const auto& sample : r.error_samples) json["error_samples"].push_back(sample);
    json["conn_per_s"] = conn_per_s(report.plan, r);
    json["latency_us"] = {{"p50", micros(r.latency.percentile(50))},
                          {"p99", micros(r.latency.percentile(99))},
                          {"max", micros(r.latency.max())}};
    json["bytes_verified"] = r.bytes_verified;
    json["mb_per_s"] = mb_per_s(report.plan, r);
    if (report.plan.mode == Mode::hold)
        json["hold"] = {
            {"requested", report.plan.connections},
            {"served", r.round_trips},
            {"all_served_ms",
             millis(r.last_served && r.round_trips == report.plan.connections ? *r.last_served
                                                                              : r.elapsed)}};
    if (report.ceiling)
        json["ceiling"] = {{"server", report.ceiling->server},
                           {"conn_per_s", conn_per_s(report.plan, report.ceiling->result)},
                           {"mb_per_s", mb_per_s(report.plan, report.ceiling->result)},
                           {"percent_of_ceiling", percent_of_ceiling(report)}};
    return json.dump(2);
}

}  // namespace labcheck::bench
