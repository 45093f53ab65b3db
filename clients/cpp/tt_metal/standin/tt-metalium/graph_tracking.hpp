// Stand-in for tt-metal's IGraphProcessor and GraphTracker: the callbacks the adapter overrides, with
// tt-metal's newest signatures, and a per-thread processor list (thread_local, as in the newest
// tt-metal): a processor pushed on one thread sees only that thread's calls. TT-NN brackets each
// operation with track_function_start / track_function_end, which GraphTracker hands to the thread's
// processors (C++20: std::span, as tt-metal).
#pragma once

#include <any>
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "buffer.hpp"
#include "core_coord.hpp"
#include "device.hpp"
#include "program.hpp"

namespace tt::tt_metal {

/** One argument of a tracked function: the value (a reference to it, here) and how to print it. */
struct TrackedArgument {
  std::any value;
  std::string (*to_string_fn)(const std::any&);
};

/** The stand-in prints no argument (the adapter never reads them). */
inline std::string describe_argument(const std::any& /*value*/) { return "<argument>"; }

// The element of track_function_start's argument span. With ALLOCWATCH_TT_METAL_ANY_ARGUMENTS the
// stand-in is an older tt-metal tree, whose span held std::any (clients/cpp/test.sh builds both).
#ifdef ALLOCWATCH_TT_METAL_ANY_ARGUMENTS
using StandinArgument = std::any;
inline StandinArgument standin_argument(std::any value) { return value; }
#else
using StandinArgument = TrackedArgument;
inline StandinArgument standin_argument(std::any value) { return TrackedArgument{std::move(value), &describe_argument}; }
#endif

class IGraphProcessor {
 public:
  virtual ~IGraphProcessor() = default;
  virtual bool is_capture_processor() const { return true; }
  virtual void track_allocate(const Buffer* /*buffer*/) {}
  virtual void track_deallocate(Buffer* /*buffer*/) {}
  virtual void track_allocate_cb(const CoreRangeSet& /*core_range_set*/, std::uint64_t /*addr*/,
                                 std::uint64_t /*size*/, bool /*is_globally_allocated*/,
                                 const IDevice* /*device*/) {}
  virtual void track_deallocate_cb(const IDevice* /*device*/) {}
  virtual void track_program(Program* /*program*/, const IDevice* /*device*/) {}
  virtual void track_function_start(std::string_view /*function_name*/,
                                    std::span<StandinArgument> /*input_parameters*/) {}
  virtual void track_function_end() {}
  virtual void track_function_end(const std::any& /*output_tensors*/) {}
};

class GraphTracker {
 public:
  static GraphTracker& instance();
  void push_processor(const std::shared_ptr<IGraphProcessor>& processor);
  void pop_processor();
  const std::vector<std::shared_ptr<IGraphProcessor>>& get_processors() const;

  void track_allocate(const Buffer* buffer);
  void track_deallocate(Buffer* buffer);
  void track_allocate_cb(const CoreRangeSet& core_range_set, std::uint64_t addr, std::uint64_t size,
                         bool is_globally_allocated, const IDevice* device);
  void track_deallocate_cb(const IDevice* device);
  void track_program(Program* program, const IDevice* device);

  /** Around a TT-NN operation: its name and arguments, then its end (with its outputs, or none). */
  template <class... Arguments>
  void track_function_start(std::string_view function_name, const Arguments&... arguments) {
    std::array<StandinArgument, sizeof...(Arguments)> tracked{standin_argument(std::any(std::cref(arguments)))...};
    start_function(function_name, std::span<StandinArgument>(tracked));
  }
  void track_function_end();
  template <class Output>
  void track_function_end(const Output& output) {
    end_function(std::any(std::cref(output)));
  }

 private:
  void start_function(std::string_view function_name, std::span<StandinArgument> arguments);
  void end_function(const std::any& output);
};

}  // namespace tt::tt_metal
