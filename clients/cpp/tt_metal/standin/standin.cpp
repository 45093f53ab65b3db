// The stand-in's behaviour (see tt-metalium/*.hpp): what the adapter's tests need of tt-metal.
#include <atomic>
#include <mutex>
#include <stdexcept>

#include "tt-metalium/buffer.hpp"
#include "tt-metalium/graph_tracking.hpp"

namespace tt::tt_metal {

IDevice::IDevice(ChipId id) : IDevice(id, 0) {}
IDevice::IDevice(ChipId id, DeviceAddr address_base)
    : id_(id), allocator_(std::make_unique<StandinAllocator>(address_base)) {}
IDevice::~IDevice() = default;

struct StandinAllocator::State {
  std::mutex mutex;
  bool used[5][kSlots] = {};
};

std::shared_ptr<StandinAllocator::State> StandinAllocator::make_state() { return std::make_shared<State>(); }

DeviceAddr StandinAllocator::allocate(BufferType type, DeviceAddr size) {
  if (size > kSlotBytes) throw std::invalid_argument("stand-in allocator: size above the slot size");
  std::lock_guard<std::mutex> lock(state_->mutex);
  bool* used = state_->used[static_cast<int>(type)];
  for (int slot = 0; slot < kSlots; ++slot) {
    if (!used[slot]) {
      used[slot] = true;
      return base_ + kSlotBytes * (static_cast<DeviceAddr>(slot) + 1);
    }
  }
  throw std::runtime_error("stand-in allocator: out of memory");
}

void StandinAllocator::deallocate(BufferType type, DeviceAddr address) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->used[static_cast<int>(type)][(address - base_) / kSlotBytes - 1] = false;
}

namespace {
std::atomic<std::size_t> next_unique_id{0};
thread_local std::vector<std::shared_ptr<IGraphProcessor>> processors;
}  // namespace

Buffer::Buffer(IDevice* device, DeviceAddr size, BufferType type)
    : device_(device), size_(size), type_(type), unique_id_(next_unique_id.fetch_add(1)) {}

std::shared_ptr<Buffer> Buffer::create(IDevice* device, DeviceAddr size, BufferType type) {
  std::shared_ptr<Buffer> buffer(new Buffer(device, size, type));
  if (size == 0) return buffer;  // as tt-metal: marked allocated, no address, no event
  buffer->address_ = device->allocator().allocate(type, size);  // under the allocator's mutex
  buffer->allocated_ = true;
  GraphTracker::instance().track_allocate(buffer.get());  // after the mutex was released
  return buffer;
}

void Buffer::deallocate() {
  if (!allocated_) return;
  GraphTracker::instance().track_deallocate(this);  // before the address goes back
  device_->allocator().deallocate(type_, address_);  // under the allocator's mutex
  allocated_ = false;
}

Buffer::~Buffer() { deallocate(); }

GraphTracker& GraphTracker::instance() {
  static GraphTracker tracker;
  return tracker;
}

void GraphTracker::push_processor(const std::shared_ptr<IGraphProcessor>& processor) {
  processors.push_back(processor);
}

void GraphTracker::pop_processor() {
  if (processors.empty()) throw std::logic_error("pop_processor: no processor");
  processors.pop_back();
}

const std::vector<std::shared_ptr<IGraphProcessor>>& GraphTracker::get_processors() const { return processors; }

void GraphTracker::track_allocate(const Buffer* buffer) {
  for (auto& processor : processors) processor->track_allocate(buffer);
}
void GraphTracker::track_deallocate(Buffer* buffer) {
  for (auto& processor : processors) processor->track_deallocate(buffer);
}
void GraphTracker::track_allocate_cb(const CoreRangeSet& core_range_set, std::uint64_t addr, std::uint64_t size,
                                     bool is_globally_allocated, const IDevice* device) {
  for (auto& processor : processors) {
    processor->track_allocate_cb(core_range_set, addr, size, is_globally_allocated, device);
  }
}
void GraphTracker::track_deallocate_cb(const IDevice* device) {
  for (auto& processor : processors) processor->track_deallocate_cb(device);
}
void GraphTracker::track_program(Program* program, const IDevice* device) {
  for (auto& processor : processors) processor->track_program(program, device);
}
void GraphTracker::start_function(std::string_view function_name, std::span<StandinArgument> arguments) {
  for (auto& processor : processors) processor->track_function_start(function_name, arguments);
}
void GraphTracker::track_function_end() {
  for (auto& processor : processors) processor->track_function_end();
}
void GraphTracker::end_function(const std::any& output) {
  for (auto& processor : processors) processor->track_function_end(output);
}

}  // namespace tt::tt_metal
