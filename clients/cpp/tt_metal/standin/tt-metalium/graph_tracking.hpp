// Stand-in for tt-metal's IGraphProcessor and GraphTracker: the callbacks the adapter overrides, with
// tt-metal's newest signatures, and a per-thread processor list (thread_local, as in the newest
// tt-metal): a processor pushed on one thread sees only that thread's calls.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "buffer.hpp"
#include "core_coord.hpp"
#include "device.hpp"
#include "program.hpp"

namespace tt::tt_metal {

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
};

}  // namespace tt::tt_metal
