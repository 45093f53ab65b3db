// The tt-metal adapter (allocwatch_processor.hpp). Why a stamp taken here is exact: docs/INTEGRATION.md
// "The order". Every stamp is taken inside a tt-metal callback, under the chip's own mutex together with
// the table update, so snapshots (answered from that table) agree with the stamps.
#include "allocwatch_processor.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace allocwatch::tt_metal {

namespace ttm = ::tt::tt_metal;

MemoryType memory_type_of(ttm::BufferType type) noexcept {
  switch (type) {
    case ttm::BufferType::DRAM: return MemoryType::DRAM;
    case ttm::BufferType::L1: return MemoryType::L1;
    case ttm::BufferType::SYSTEM_MEMORY: return MemoryType::SYSTEM_MEMORY;
    case ttm::BufferType::L1_SMALL: return MemoryType::L1_SMALL;
    case ttm::BufferType::TRACE: return MemoryType::TRACE;
  }
  return MemoryType::DRAM;  // unreachable for tt-metal's five types
}

Settings settings_from_environment() {
  Settings settings;
  const char* enabled = std::getenv("ALLOCWATCH_ENABLED");
  settings.enabled = enabled != nullptr && std::strcmp(enabled, "1") == 0;
  const char* socket = std::getenv("ALLOCWATCH_SOCKET");
  if (socket != nullptr) settings.socket_path = socket;
  return settings;
}

AllocwatchProcessor::AllocwatchProcessor(Options options)
    : client_([&] {
        for (const Device& device : options.devices) {
          auto chip = std::make_unique<Chip>();
          chip->id = device.id;
          chips_.emplace(device.id, std::move(chip));
        }
        options.snapshot = [this](std::uint16_t device_id, Snapshot& out) { return snapshot(device_id, out); };
        return std::move(options);
      }()) {}

AllocwatchProcessor::~AllocwatchProcessor() = default;

AdapterCounters AllocwatchProcessor::counters() const noexcept {
  return {unknown_device_events_.load(std::memory_order_relaxed), unknown_frees_.load(std::memory_order_relaxed)};
}

void AllocwatchProcessor::chips_of(const ttm::IDevice* device, std::vector<Chip*>& out) {
  out.clear();
  append_chips(device, out);
}

void AllocwatchProcessor::append_chips(const ttm::IDevice* device, std::vector<Chip*>& out) {
  if (device == nullptr) return;
  // A MeshDevice's own id is not a chip id: its buffer lives at one address on each of its chips.
  if (const auto* mesh = dynamic_cast<const ttm::distributed::MeshDevice*>(device)) {
    for (const ttm::IDevice* chip : mesh->get_devices()) append_chips(chip, out);
    return;
  }
  const int id = device->id();
  auto found = id >= 0 && id < 0xFFFF ? chips_.find(static_cast<std::uint16_t>(id)) : chips_.end();
  if (found == chips_.end()) {
    unknown_device_events_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  out.push_back(found->second.get());
}

// Caller holds chip.mutex.
void AllocwatchProcessor::allocate(Chip& chip, MemoryType type, std::uint64_t id, std::uint64_t address,
                                   std::uint64_t size_bytes) {
  if (!chip.live.emplace(id, Live{type, address, size_bytes}).second) return;  // already reported
  const std::uint64_t seq = client_.stamp(chip.id);
  client_.record_alloc(chip.id, seq, type, id, address, size_bytes);
}

// Caller holds chip.mutex.
bool AllocwatchProcessor::release(Chip& chip, std::uint64_t id) {
  auto found = chip.live.find(id);
  if (found == chip.live.end()) return false;
  const Live live = found->second;
  chip.live.erase(found);
  const std::uint64_t seq = client_.stamp(chip.id);
  client_.record_free(chip.id, seq, live.type, id, live.address, live.size_bytes);
  return true;
}

// Caller holds chip.mutex.
void AllocwatchProcessor::reset_circular_buffers(Chip& chip) {
  if (chip.cb_id) release(chip, *chip.cb_id);
  chip.cb_id.reset();
  chip.cb_bytes = 0;
  chip.cb_address = 0;
}

// Called after the allocator took the address: any FREE of that address was stamped before.
void AllocwatchProcessor::track_allocate(const ttm::Buffer* buffer) {
  thread_local std::vector<Chip*> chips;
  chips_of(buffer->device(), chips);
  const MemoryType type = memory_type_of(buffer->buffer_type());
  for (Chip* chip : chips) {
    std::lock_guard<std::mutex> lock(chip->mutex);
    allocate(*chip, type, buffer->unique_id(), buffer->address(), buffer->size());
  }
}

// Called before the allocator gets the address back: stamped before any ALLOC that reuses it.
void AllocwatchProcessor::track_deallocate(ttm::Buffer* buffer) {
  thread_local std::vector<Chip*> chips;
  chips_of(buffer->device(), chips);
  for (Chip* chip : chips) {
    std::lock_guard<std::mutex> lock(chip->mutex);
    if (!release(*chip, buffer->unique_id())) unknown_frees_.fetch_add(1, std::memory_order_relaxed);
  }
}

// tt-metal reports each local CB once, when a program's CBs are placed, and no per-CB free. The adapter
// keeps one CB allocation per chip: the bytes (per-core size x cores) of the CBs placed since the last
// placement round began (the first CB after a track_program) or since track_deallocate_cb. A grown footprint is reported as
// FREE of the old one then ALLOC of the new (new id, same chip mutex), so there is never an overlap.
void AllocwatchProcessor::track_allocate_cb(const ttm::CoreRangeSet& core_range_set, std::uint64_t addr,
                                            std::uint64_t size, bool is_globally_allocated,
                                            const ttm::IDevice* device) {
  if (is_globally_allocated) return;  // its memory is an L1 Buffer, reported by track_allocate
  const std::uint64_t bytes = size * core_range_set.num_cores();
  if (bytes == 0) return;
  thread_local std::vector<Chip*> chips;
  chips_of(device, chips);
  for (Chip* chip : chips) {
    std::lock_guard<std::mutex> lock(chip->mutex);
    if (chip->cb_round_pending) reset_circular_buffers(*chip);
    chip->cb_round_pending = false;
    const std::uint64_t total = chip->cb_bytes + bytes;
    const std::uint64_t address = chip->cb_id ? std::min(chip->cb_address, addr) : addr;
    if (chip->cb_id) release(*chip, *chip->cb_id);
    const std::uint64_t id = kCircularBufferIdBit | next_cb_id_.fetch_add(1, std::memory_order_relaxed);
    chip->cb_id = id;
    chip->cb_bytes = total;
    chip->cb_address = address;
    allocate(*chip, MemoryType::CB, id, address, total);
  }
}

void AllocwatchProcessor::track_deallocate_cb(const ttm::IDevice* device) {
  thread_local std::vector<Chip*> chips;
  chips_of(device, chips);
  for (Chip* chip : chips) {
    std::lock_guard<std::mutex> lock(chip->mutex);
    reset_circular_buffers(*chip);
  }
}

// A program about to run: if it places CBs (not cached), they replace the previous placement's, which
// are then no longer in use (tt-metal's own graph processor frees all CBs of the device here). The reset
// waits for that first CB, so a cached program's run keeps the footprint it last had.
void AllocwatchProcessor::track_program(ttm::Program* /*program*/, const ttm::IDevice* device) {
  thread_local std::vector<Chip*> chips;
  chips_of(device, chips);
  for (Chip* chip : chips) {
    std::lock_guard<std::mutex> lock(chip->mutex);
    chip->cb_round_pending = true;
  }
}

bool AllocwatchProcessor::snapshot(std::uint16_t device_id, Snapshot& out) {
  auto found = chips_.find(device_id);
  if (found == chips_.end()) {
    out.begin(client_.stamp_current(device_id), 0);
    return true;
  }
  Chip& chip = *found->second;
  std::lock_guard<std::mutex> lock(chip.mutex);  // no stamp of this chip can be taken meanwhile
  out.begin(client_.stamp_current(chip.id), static_cast<std::uint32_t>(chip.live.size()));
  for (const auto& [id, live] : chip.live) out.add(live.type, id, live.address, live.size_bytes);
  return true;
}

std::shared_ptr<AllocwatchProcessor> shared_processor(const std::vector<Device>& devices) {
  static std::once_flag once;
  static std::shared_ptr<AllocwatchProcessor> processor;
  std::call_once(once, [&] {
    const Settings settings = settings_from_environment();
    if (!settings.enabled) return;
    Options options;
    options.socket_path = settings.socket_path;
    options.devices = devices;
    try {
      processor = std::make_shared<AllocwatchProcessor>(std::move(options));
    } catch (const Error& error) {
      std::fprintf(stderr, "allocwatch: not reporting (%s)\n", error.what());
    }
  });
  return processor;
}

bool register_on_this_thread(const std::shared_ptr<AllocwatchProcessor>& processor) {
  if (processor == nullptr) return false;
  auto& tracker = ttm::GraphTracker::instance();
  for (const auto& registered : tracker.get_processors()) {
    if (registered.get() == processor.get()) return false;
  }
  tracker.push_processor(processor);
  return true;
}

}  // namespace allocwatch::tt_metal
