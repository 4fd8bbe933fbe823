// profile.cpp: the op profiler's totals (one map, guarded by a mutex: scopes close at op
// granularity, never inside a kernel's parallel loop), the outermost-scope rule per thread, and
// the report.
#include "engine/profile.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <mutex>
#include <utility>

#include "engine/device.h"
#include "engine/tensor.h"

namespace frost::profile {

std::atomic<bool> g_enabled{false};

namespace {

std::mutex g_mutex;
std::map<std::pair<std::string, std::string>, Entry> g_totals;  // (phase, name) -> totals
thread_local int t_depth = 0;                                   // open scopes on this thread
thread_local const char* t_phase = "forward";
bool g_record_shapes = false;

size_t cpu_allocated() { return allocator_for(Device::cpu()).allocated_total(); }

int phase_rank(const std::string& phase) {
  return phase == "forward" ? 0 : phase == "backward" ? 1 : phase == "optimizer" ? 2 : 3;
}

}  // namespace

void start(bool record_shapes) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_totals.clear();
  g_record_shapes = record_shapes;
  g_enabled.store(true);
}

std::vector<Entry> stop() {
  g_enabled.store(false);
  std::lock_guard<std::mutex> lock(g_mutex);
  std::vector<Entry> out;
  for (auto& [key, e] : g_totals) out.push_back(e);
  g_totals.clear();
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    const int ra = phase_rank(a.phase), rb = phase_rank(b.phase);
    return ra != rb ? ra < rb : a.ms > b.ms;
  });
  return out;
}

void Scope::open(const char* name, std::initializer_list<const Tensor*> inputs) {
  counted_ = true;
  if (t_depth++ > 0) return;  // inside another op: its time is the enclosing op's
  active_ = true;
  name_ = name;
  const bool shapes = g_record_shapes && std::string(t_phase) != "optimizer";
  for (const Tensor* t : inputs) {
    if (!t || !t->defined()) continue;
    bytes_ += double(t->nbytes());
    if (shapes) {
      name_ += ' ';
      for (size_t d = 0; d < t->shape().size(); ++d) {
        if (d) name_ += 'x';
        name_ += std::to_string(t->shape()[d]);
      }
    }
  }
  allocated_at_open_ = cpu_allocated();
  started_ = std::chrono::steady_clock::now();
}

void Scope::close() {
  --t_depth;
  if (!active_) return;
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  const double bytes = bytes_ + double(cpu_allocated() - allocated_at_open_);
  std::lock_guard<std::mutex> lock(g_mutex);
  Entry& e = g_totals[{t_phase, name_}];
  if (e.calls == 0) {
    e.phase = t_phase;
    e.name = name_;
  }
  e.calls += 1;
  e.ms += ms;
  e.flops += flops_;
  e.bytes += bytes;
}

Phase::Phase(const char* phase) : previous_(t_phase) { t_phase = phase; }
Phase::~Phase() { t_phase = previous_; }

std::string format_table(const std::vector<Entry>& entries, double step_ms, double steps) {
  double total = 0;
  for (const Entry& e : entries) total += e.ms;
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %-44s %7s %10s %7s %12s\n", "phase", "op", "calls", "ms", "share", "rate");
  out += line;
  for (const Entry& e : entries) {
    char rate[32] = "-";
    const double seconds = e.ms / 1000.0;
    if (e.flops > 0 && seconds > 0)
      std::snprintf(rate, sizeof rate, "%.1f GFLOP/s", e.flops / seconds / 1e9);
    else if (e.bytes > 0 && seconds > 0)
      std::snprintf(rate, sizeof rate, "%.1f GB/s", e.bytes / seconds / 1e9);
    std::snprintf(line, sizeof line, "%-10s %-44s %7.0f %10.2f %6.1f%% %12s\n", e.phase.c_str(), e.name.c_str(),
                  double(e.calls) / steps, e.ms, total > 0 ? 100.0 * e.ms / total : 0.0, rate);
    out += line;
  }
  std::snprintf(line, sizeof line, "per step: %.1f ms in ops of %.1f ms (the rest: autograd bookkeeping, views, frees)\n", total,
                step_ms);
  out += line;
  return out;
}

}  // namespace frost::profile
