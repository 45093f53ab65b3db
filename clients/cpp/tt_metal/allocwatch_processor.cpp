// The tt-metal adapter (allocwatch_processor.hpp). Why a stamp taken here is exact: docs/INTEGRATION.md
// "The order". Every stamp is taken inside a tt-metal callback, under the chip's own mutex together with
// the table update, so snapshots (answered from that table) agree with the stamps.
//
// Contexts (docs/INTEGRATION.md section 7): each thread keeps, per processor, a stack of the context ids
// of the functions TT-NN opened on it (track_function_start/end); an ALLOC carries the innermost one's.
// The stacks are thread_local arrays (no lock, no allocation); a name is turned into an id once, under
// contexts_mutex_, and looked up afterwards by string_view.
#include "allocwatch_processor.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>

namespace allocwatch::tt_metal {

namespace ttm = ::tt::tt_metal;

namespace {

std::atomic<std::uint64_t> next_serial{1};

// One processor's open functions on one thread. `depth` counts every start not yet ended, past the
// bound too; ids[0..min(depth, kMaxFunctionDepth)) are the kept ones, innermost last. A stack whose
// depth is 0 holds nothing and may be taken by any processor (its owner then finds it gone and takes
// another), so a thread's kFunctionStacksPerThread stacks serve every processor that ever ran there.
struct FunctionStack {
  std::uint64_t owner;  // a processor's serial; 0 never was one
  std::uint32_t depth;
  std::uint32_t ids[kMaxFunctionDepth];
};
// Zero-initialised and trivial: no thread_local constructor runs, nothing to free at thread exit.
thread_local FunctionStack function_stacks[kFunctionStacksPerThread];

FunctionStack* open_stack_of(std::uint64_t serial) noexcept {
  for (FunctionStack& stack : function_stacks) {
    if (stack.owner == serial && stack.depth > 0) return &stack;
  }
  return nullptr;
}

FunctionStack* stack_to_push(std::uint64_t serial) noexcept {
  if (FunctionStack* own = open_stack_of(serial)) return own;
  for (FunctionStack& stack : function_stacks) {
    if (stack.depth == 0) {
      stack.owner = serial;
      return &stack;
    }
  }
  return nullptr;
}

}  // namespace

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
    : serial_(next_serial.fetch_add(1, std::memory_order_relaxed)),
      client_([&] {
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
  AdapterCounters out;
  out.unknown_device_events = unknown_device_events_.load(std::memory_order_relaxed);
  out.unknown_frees = unknown_frees_.load(std::memory_order_relaxed);
  out.unnamed_functions = unnamed_functions_.load(std::memory_order_relaxed);
  out.functions_past_depth = functions_past_depth_.load(std::memory_order_relaxed);
  out.functions_without_stack = functions_without_stack_.load(std::memory_order_relaxed);
  out.unmatched_function_ends = unmatched_function_ends_.load(std::memory_order_relaxed);
  return out;
}

std::uint32_t AllocwatchProcessor::context_of(std::string_view name) {
  // What the client refuses without looking (Client::define_context) is not worth a cache entry.
  if (name.empty() || name.size() > kMaxContextBytes || name.find('\0') != std::string_view::npos) {
    return kNoContext;
  }
  {
    std::shared_lock<std::shared_mutex> lock(contexts_mutex_);
    auto found = contexts_.find(name);
    if (found != contexts_.end()) return found->second;
  }
  std::unique_lock<std::shared_mutex> lock(contexts_mutex_);
  auto found = contexts_.find(name);  // another thread may have defined it meanwhile
  if (found != contexts_.end()) return found->second;
  // Full: the client could define no more than kMaxContexts anyway; asking it again for every new name
  // would cost its mutex and a walk of its texts each time.
  if (contexts_.size() >= kMaxContexts) return kNoContext;
  const std::uint32_t id = client_.define_context(name);
  try {
    contexts_.emplace(std::string(name), id);  // a refusal too (not UTF-8, client full): asked once
  } catch (const std::bad_alloc&) {
    // Not cached: asked again next time (the client gives the same id). Never thrown into TT-NN.
  }
  return id;
}

std::uint32_t AllocwatchProcessor::current_context() const noexcept {
  const FunctionStack* stack = open_stack_of(serial_);
  if (stack == nullptr) return kNoContext;
  return stack->ids[std::min(stack->depth, kMaxFunctionDepth) - 1];
}

void AllocwatchProcessor::track_function_start(std::string_view function_name,
                                               std::span<FunctionArgument> /*input_parameters*/) {
  FunctionStack* stack = stack_to_push(serial_);
  if (stack == nullptr) {  // its end finds no stack either, and is counted as unmatched
    functions_without_stack_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (stack->depth >= kMaxFunctionDepth) {
    // Deeper than the bound: counted so the ends match, not named (allocations keep the deepest name).
    if (stack->depth < std::numeric_limits<std::uint32_t>::max()) ++stack->depth;
    functions_past_depth_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const std::uint32_t id = context_of(function_name);
  if (id == kNoContext) unnamed_functions_.fetch_add(1, std::memory_order_relaxed);
  stack->ids[stack->depth++] = id;
}

void AllocwatchProcessor::track_function_end() {
  FunctionStack* stack = open_stack_of(serial_);
  if (stack == nullptr) {
    unmatched_function_ends_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  --stack->depth;
}

void AllocwatchProcessor::track_function_end(const std::any& /*output_tensors*/) { track_function_end(); }

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
                                   std::uint64_t size_bytes, std::uint32_t context) {
  if (!chip.live.emplace(id, Live{type, address, size_bytes, context}).second) return;  // already reported
  const std::uint64_t seq = client_.stamp(chip.id);
  client_.record_alloc(chip.id, seq, type, id, address, size_bytes, context);
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
  const std::uint32_t context = current_context();
  for (Chip* chip : chips) {
    std::lock_guard<std::mutex> lock(chip->mutex);
    allocate(*chip, type, buffer->unique_id(), buffer->address(), buffer->size(), context);
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
// FREE of the old one then ALLOC of the new (new id, same chip mutex), so there is never an overlap;
// the new one carries the context of the function placing the latest CB.
void AllocwatchProcessor::track_allocate_cb(const ttm::CoreRangeSet& core_range_set, std::uint64_t addr,
                                            std::uint64_t size, bool is_globally_allocated,
                                            const ttm::IDevice* device) {
  if (is_globally_allocated) return;  // its memory is an L1 Buffer, reported by track_allocate
  const std::uint64_t bytes = size * core_range_set.num_cores();
  if (bytes == 0) return;
  thread_local std::vector<Chip*> chips;
  chips_of(device, chips);
  const std::uint32_t context = current_context();
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
    allocate(*chip, MemoryType::CB, id, address, total, context);
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
  for (const auto& [id, live] : chip.live) out.add(live.type, id, live.address, live.size_bytes, live.context);
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
