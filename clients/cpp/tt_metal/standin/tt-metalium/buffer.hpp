// Stand-in for tt-metal's Buffer with the documented call order (docs/INTEGRATION.md "The order"):
//   create():     allocator mutex { take the address } ; then GraphTracker::track_allocate (lock released)
//   deallocate(): GraphTracker::track_deallocate ; then allocator mutex { give the address back }
// and a process-wide unique id from an atomic counter (tt-metal's Buffer::unique_id()).
#pragma once

#include <cstddef>
#include <memory>

#include "buffer_types.hpp"
#include "device.hpp"

namespace tt::tt_metal {

class Buffer {
 public:
  /** Allocates `size` bytes of `type` on `device` (a chip or a MeshDevice); reports it after. */
  static std::shared_ptr<Buffer> create(IDevice* device, DeviceAddr size, BufferType type);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  /** Reports the free, then gives the address back (idempotent). */
  void deallocate();

  std::size_t unique_id() const { return unique_id_; }
  IDevice* device() const { return device_; }
  DeviceAddr address() const { return address_; }
  DeviceAddr size() const { return size_; }
  BufferType buffer_type() const { return type_; }
  bool is_allocated() const { return allocated_; }

 private:
  Buffer(IDevice* device, DeviceAddr size, BufferType type);

  IDevice* device_;
  DeviceAddr size_;
  BufferType type_;
  std::size_t unique_id_;
  DeviceAddr address_ = 0;
  bool allocated_ = false;
};

/**
 * The stand-in allocator: under one mutex per device (tt-metal's AllocatorImpl::mutex_), the lowest free
 * slot of `kSlotBytes` per buffer type, so a freed address is handed out again at once.
 */
class StandinAllocator {
 public:
  static constexpr DeviceAddr kSlotBytes = 1u << 20;
  static constexpr int kSlots = 4096;
  explicit StandinAllocator(DeviceAddr base) : base_(base) {}
  DeviceAddr allocate(BufferType type, DeviceAddr size);
  void deallocate(BufferType type, DeviceAddr address);

 private:
  struct State;
  DeviceAddr base_;
  std::shared_ptr<State> state_ = make_state();
  static std::shared_ptr<State> make_state();
};

}  // namespace tt::tt_metal
