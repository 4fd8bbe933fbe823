// profile.h: where the time of a training step goes, per op kind. While a profile is running,
// every op entry point (a Scope at the top of matmul, linear, gelu, ...) and every autograd node's
// backward is timed; only the outermost scope counts, so each millisecond is attributed once:
// forward ops with whatever they call (casts, copies), a backward node with the ops it runs, the
// optimizer's update. Each entry also sums the floating-point work the op declared (GEMMs,
// convolutions, attention) and the bytes it touched (its inputs plus what it allocated: its
// outputs and saved tensors), so the report gives GFLOP/s or GB/s beside the time.
//
// Times are host wall-clock: exact on the CPU; on a GPU they are launch times unless the caller
// synchronizes. Off (the default) a Scope costs one relaxed atomic load.
#pragma once
#include <atomic>
#include <chrono>
#include <initializer_list>
#include <string>
#include <vector>

namespace frost {

class Tensor;

namespace profile {

struct Entry {
  std::string phase;  // "forward", "backward" or "optimizer"
  std::string name;   // the op or node name
  int64_t calls = 0;
  double ms = 0;
  double flops = 0;  // floating-point operations declared by the op (0: not a FLOP-bound op)
  double bytes = 0;  // inputs read plus bytes allocated inside the scope
};

extern std::atomic<bool> g_enabled;
inline bool enabled() { return g_enabled.load(std::memory_order_relaxed); }

// Clears the totals and starts attributing time; stop() ends it and returns the entries,
// phases in order, then by descending time. record_shapes: entries are kept apart per input
// shapes ("linear 1576x192 576x192"; a backward node by its output gradient's shape), to see
// which layer of an op kind costs what.
void start(bool record_shapes = false);
std::vector<Entry> stop();

// Times the code to the end of its C++ scope under `name` (a string literal or a node's name,
// alive as long as the scope) in the current phase, if a profile runs and no scope encloses it.
class Scope {
 public:
  explicit Scope(const char* name, std::initializer_list<const Tensor*> inputs = {}) {
    if (enabled()) open(name, inputs);
  }
  explicit Scope(const std::string& name, std::initializer_list<const Tensor*> inputs = {}) : Scope(name.c_str(), inputs) {}
  ~Scope() {
    if (counted_) close();
  }
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;
  // The arithmetic the op does, once its shapes are known (GEMMs, convolutions, attention).
  void add_flops(double flops) { flops_ += flops; }

 private:
  void open(const char* name, std::initializer_list<const Tensor*> inputs);
  void close();
  bool counted_ = false;  // this scope raised the thread's nesting depth
  bool active_ = false;   // ... and is the outermost one, so it records
  std::string name_;
  double flops_ = 0, bytes_ = 0;
  size_t allocated_at_open_ = 0;
  std::chrono::steady_clock::time_point started_;
};

// Sets the phase that scopes on this thread are filed under, restoring the previous one after.
class Phase {
 public:
  explicit Phase(const char* phase);
  ~Phase();
  Phase(const Phase&) = delete;
  Phase& operator=(const Phase&) = delete;

 private:
  const char* previous_;
};

// The report: one row per entry (phase, op, calls, ms, share of the profiled total, GFLOP/s or
// GB/s) as a fixed-width table. The entries are per step (ms, flops and bytes divided by `steps`,
// calls shown divided by it); step_ms is the measured wall time of one step.
std::string format_table(const std::vector<Entry>& entries, double step_ms, double steps = 1);

}  // namespace profile
}  // namespace frost
