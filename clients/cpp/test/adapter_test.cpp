// Unit tests of the C++ wrapper and the tt-metal adapter, linked with the recording client
// (recording_client.h) and the tt-metal stand-in. Run by clients/cpp/test.sh under TSan and ASan+UBSan.
// Each test prints its name; any failed check prints where and the run exits 1.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../tt_metal/allocwatch_processor.hpp"
#include "recording_client.h"

namespace ttm = ::tt::tt_metal;
using allocwatch::MemoryType;
using allocwatch::tt_metal::AllocwatchProcessor;

namespace {

int failures = 0;

#define CHECK(condition)                                                          \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::fprintf(stderr, "  FAILED %s:%d: %s\n", __FILE__, __LINE__, #condition); \
      ++failures;                                                                 \
    }                                                                             \
  } while (0)

std::vector<recorded_event> events_of(allocwatch::Client& client) {
  std::vector<recorded_event> out(recording_events(client.native(), nullptr, 0));
  out.resize(recording_events(client.native(), out.data(), out.size()));
  return out;
}

// Replays a recorded stream in stamp order, per device, as the server would, and says what breaks
// exactness: an ALLOC at an address another live allocation of the same memory type still holds, a FREE
// of an allocation that is not live, or stamps that are not 1..n per device.
std::vector<std::string> order_violations(std::vector<recorded_event> events) {
  std::vector<std::string> out;
  std::sort(events.begin(), events.end(), [](const recorded_event& a, const recorded_event& b) {
    return a.device_id != b.device_id ? a.device_id < b.device_id : a.seq < b.seq;
  });
  std::map<std::tuple<int, int, std::uint64_t>, std::uint64_t> holder;  // (device, type, address) -> id
  std::map<int, std::uint64_t> last_seq;
  for (const recorded_event& e : events) {
    if (e.seq != ++last_seq[e.device_id]) out.push_back("stamps not 1..n on device " + std::to_string(e.device_id));
    auto key = std::make_tuple(int{e.device_id}, e.memory_type, e.address);
    auto found = holder.find(key);
    if (e.op == RECORDED_ALLOC) {
      if (found != holder.end()) {
        out.push_back("seq " + std::to_string(e.seq) + ": ALLOC of " + std::to_string(e.allocation_id) +
                      " at the address allocation " + std::to_string(found->second) + " still holds");
      }
      holder[key] = e.allocation_id;
    } else if (found == holder.end() || found->second != e.allocation_id) {
      out.push_back("seq " + std::to_string(e.seq) + ": FREE of " + std::to_string(e.allocation_id) +
                    " which does not hold its address");
    } else {
      holder.erase(found);
    }
  }
  return out;
}

std::vector<allocwatch::Device> chips(int count) {
  std::vector<allocwatch::Device> out;
  for (int id = 0; id < count; ++id) out.push_back({static_cast<std::uint16_t>(id), "standin", "STANDIN", {}});
  return out;
}

std::shared_ptr<AllocwatchProcessor> make_processor(int chip_count) {
  allocwatch::Options options;
  options.devices = chips(chip_count);
  return std::make_shared<AllocwatchProcessor>(std::move(options));
}

// A one-shot gate: threads wait until it is opened.
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

// (a) 4 threads churn on 2 chips and a mesh over both, with immediate address reuse: the stamps taken in
// the callbacks order every free before the reuse of its address, on every device.
void test_callback_stamps_are_exact_under_churn() {
  auto processor = make_processor(2);
  ttm::IDevice chip0(0), chip1(1);
  ttm::distributed::MeshDevice mesh(100, {&chip0, &chip1});
  ttm::IDevice* targets[] = {&chip0, &chip1, &mesh};
  const ttm::BufferType types[] = {ttm::BufferType::DRAM, ttm::BufferType::L1, ttm::BufferType::L1_SMALL,
                                  ttm::BufferType::TRACE, ttm::BufferType::SYSTEM_MEMORY};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      allocwatch::tt_metal::register_on_this_thread(processor);
      std::mt19937 random(static_cast<unsigned>(t) + 1);
      std::vector<std::shared_ptr<ttm::Buffer>> held;
      for (int op = 0; op < 4000; ++op) {
        if (!held.empty() && random() % 2 == 0) {
          std::swap(held[random() % held.size()], held.back());
          held.back()->deallocate();
          held.pop_back();
        } else {
          held.push_back(ttm::Buffer::create(targets[random() % 3], 1 + random() % 4096, types[random() % 2]));
          if (random() % 8 == 0) held.push_back(ttm::Buffer::create(targets[random() % 3], 64, types[random() % 5]));
        }
      }
      for (auto& buffer : held) buffer->deallocate();
    });
  }
  for (auto& thread : threads) thread.join();
  auto events = events_of(processor->client());
  auto violations = order_violations(events);
  for (const auto& violation : violations) std::fprintf(stderr, "  %s\n", violation.c_str());
  CHECK(violations.empty());
  CHECK(events.size() > 16000);
  int reused = 0;  // the test means nothing unless addresses were in fact reused
  std::map<std::tuple<int, int, std::uint64_t>, int> allocs;
  for (const auto& e : events) if (e.op == RECORDED_ALLOC && ++allocs[{e.device_id, e.memory_type, e.address}] == 2) ++reused;
  CHECK(reused > 10);
  CHECK(processor->counters().unknown_device_events == 0);
  CHECK(processor->counters().unknown_frees == 0);
}

// A processor that records in the callbacks but stamps later, when its thread "sends": the design (b)
// shows to be wrong.
class LateStampProcessor final : public ttm::IGraphProcessor {
 public:
  explicit LateStampProcessor(allocwatch::Client& client) : client_(client) {}
  bool is_capture_processor() const override { return false; }
  void track_allocate(const ttm::Buffer* b) override { pending_.push_back({RECORDED_ALLOC, b}); }
  void track_deallocate(ttm::Buffer* b) override { pending_.push_back({RECORDED_FREE, b}); }
  void send() {  // on the calling thread, after the callbacks returned
    for (const Pending& p : pending_) {
      const auto device = static_cast<std::uint16_t>(p.device);
      const std::uint64_t seq = client_.stamp(device);
      if (p.op == RECORDED_ALLOC) client_.record_alloc(device, seq, p.type, p.id, p.address, p.size);
      else client_.record_free(device, seq, p.type, p.id, p.address, p.size);
    }
    pending_.clear();
  }

 private:
  struct Pending {
    Pending(int op_, const ttm::Buffer* b)
        : op(op_), device(b->device()->id()), type(allocwatch::tt_metal::memory_type_of(b->buffer_type())),
          id(b->unique_id()), address(b->address()), size(b->size()) {}
    int op, device;
    MemoryType type;
    std::uint64_t id, address, size;
  };
  static thread_local std::vector<Pending> pending_;
  allocwatch::Client& client_;
};
thread_local std::vector<LateStampProcessor::Pending> LateStampProcessor::pending_;

// Thread A frees X; its FREE callback ran, the address went back, and A stops before sending. Thread B
// allocates Y, gets X's address at once, and sends. Then A sends. Returns the recorded stream.
std::vector<recorded_event> free_then_reuse(allocwatch::Client& client, const std::shared_ptr<ttm::IGraphProcessor>& processor,
                                            const std::function<void()>& send) {
  ttm::IDevice chip(0);
  Gate freed, reused;
  std::uint64_t x_address = 0, y_address = 0;
  std::thread a([&] {
    ttm::GraphTracker::instance().push_processor(processor);
    auto x = ttm::Buffer::create(&chip, 256, ttm::BufferType::DRAM);
    send();
    x_address = x->address();
    x->deallocate();
    freed.open();
    reused.wait();
    send();
  });
  std::thread b([&] {
    ttm::GraphTracker::instance().push_processor(processor);
    freed.wait();
    auto y = ttm::Buffer::create(&chip, 512, ttm::BufferType::DRAM);
    y_address = y->address();
    send();
    reused.open();
    y.reset();  // frees Y (the stand-in's destructor) after A sent, so the stream ends empty
    send();
  });
  a.join();
  b.join();
  CHECK(x_address == y_address);  // the allocator handed the address out again at once
  return events_of(client);
}

// (b) the same interleaving: stamps taken at send time put Y's ALLOC before X's FREE; stamps taken in the
// callbacks do not.
void test_late_stamp_breaks_and_callback_stamp_holds() {
  {
    allocwatch::Options options;
    options.devices = chips(1);
    options.snapshot = [](std::uint16_t, allocwatch::Snapshot&) { return true; };
    allocwatch::Client client(std::move(options));
    auto late = std::make_shared<LateStampProcessor>(client);
    auto events = free_then_reuse(client, late, [&] { late->send(); });
    auto violations = order_violations(events);
    for (const auto& violation : violations) std::fprintf(stderr, "  late stamp (expected): %s\n", violation.c_str());
    CHECK(!violations.empty());
    CHECK(events.size() == 4);
    // The stream, in stamp order: ALLOC X (1), ALLOC Y (2) at X's address, FREE X (3), FREE Y (4).
    std::sort(events.begin(), events.end(), [](auto& l, auto& r) { return l.seq < r.seq; });
    CHECK(events[1].op == RECORDED_ALLOC && events[2].op == RECORDED_FREE);
    CHECK(events[1].address == events[2].address);
  }
  {
    auto processor = make_processor(1);
    auto events = free_then_reuse(processor->client(), processor, [] {});
    auto violations = order_violations(events);
    for (const auto& violation : violations) std::fprintf(stderr, "  %s\n", violation.c_str());
    CHECK(violations.empty());
    CHECK(events.size() == 4);
  }
}

// CBs: one CB allocation per chip, the placement round's bytes (size x cores); a new round after
// track_program replaces it; track_deallocate_cb frees it; global CBs are not counted; a mesh is its chips.
void test_circular_buffers() {
  auto processor = make_processor(2);
  auto& client = processor->client();
  ttm::IDevice chip0(0), chip1(1);
  ttm::distributed::MeshDevice mesh(7, {&chip0, &chip1});
  ttm::Program program;
  processor->track_program(&program, &chip0);
  processor->track_allocate_cb(ttm::CoreRangeSet(4), 0x1000, 100, false, &chip0);
  processor->track_allocate_cb(ttm::CoreRangeSet(2), 0x800, 50, false, &chip0);
  processor->track_allocate_cb(ttm::CoreRangeSet(2), 0x2000, 1000, true, &chip0);  // global: an L1 Buffer
  auto live_cb = [&](std::uint16_t device) {
    std::vector<recorded_event> entries(64);
    std::uint64_t watermark = 0;
    std::uint32_t count = 0;
    CHECK(recording_snapshot(client.native(), device, &watermark, &count, entries.data(), entries.size()) == 0);
    CHECK(watermark == client.stamp_current(device));
    entries.resize(count);
    return entries;
  };
  auto entries = live_cb(0);
  CHECK(entries.size() == 1);
  CHECK(entries.size() == 1 && entries[0].memory_type == ALLOCWATCH_CB && entries[0].size_bytes == 500);
  CHECK(entries.size() == 1 && entries[0].address == 0x800);
  CHECK(entries.size() == 1 && (entries[0].allocation_id & allocwatch::tt_metal::kCircularBufferIdBit) != 0);
  processor->track_program(&program, &chip0);  // cached program: no CBs placed, the footprint stays
  CHECK(live_cb(0).size() == 1);
  processor->track_allocate_cb(ttm::CoreRangeSet(1), 0x1000, 64, false, &chip0);  // a new placement
  entries = live_cb(0);
  CHECK(entries.size() == 1 && entries[0].size_bytes == 64);
  processor->track_allocate_cb(ttm::CoreRangeSet(3), 0x1000, 10, false, &mesh);
  CHECK(live_cb(1).size() == 1 && live_cb(1)[0].size_bytes == 30);
  entries = live_cb(0);
  CHECK(entries.size() == 1 && entries[0].size_bytes == 94);
  processor->track_deallocate_cb(&mesh);
  CHECK(live_cb(0).empty());
  CHECK(live_cb(1).empty());
  CHECK(order_violations(events_of(client)).empty());
}

// A MeshBuffer is one event from tt-metal, reported on each of its chips (never under the mesh's id),
// with the per-chip size; the snapshot lists what is live with the current stamp as watermark.
void test_mesh_buffer_and_snapshot() {
  auto processor = make_processor(2);
  ttm::IDevice chip0(0), chip1(1);
  ttm::distributed::MeshDevice mesh(5, {&chip0, &chip1});
  allocwatch::tt_metal::register_on_this_thread(processor);
  auto buffer = ttm::Buffer::create(&mesh, 4096, ttm::BufferType::L1);
  auto own = ttm::Buffer::create(&chip1, 128, ttm::BufferType::DRAM);
  auto events = events_of(processor->client());
  CHECK(events.size() == 3);
  for (std::uint16_t device : {0, 1}) {
    std::vector<recorded_event> entries(8);
    std::uint64_t watermark = 0;
    std::uint32_t count = 0;
    recording_snapshot(processor->client().native(), device, &watermark, &count, entries.data(), entries.size());
    CHECK(watermark == (device == 0 ? 1u : 2u));
    CHECK(count == (device == 0 ? 1u : 2u));
    CHECK(entries[0].allocation_id == buffer->unique_id() || entries[1].allocation_id == buffer->unique_id());
  }
  CHECK(processor->counters().unknown_device_events == 0);
  buffer->deallocate();
  own->deallocate();
  CHECK(order_violations(events_of(processor->client())).empty());
  CHECK(events_of(processor->client()).size() == 6);
  ttm::GraphTracker::instance().pop_processor();
}

// What the adapter cannot report is dropped and counted, never sent (the server would close the
// connection for an unknown device, docs/PROTOCOL.md section 3.3).
void test_unknown_devices_and_frees() {
  auto processor = make_processor(1);
  ttm::IDevice stranger(9);
  allocwatch::tt_metal::register_on_this_thread(processor);
  auto buffer = ttm::Buffer::create(&stranger, 64, ttm::BufferType::DRAM);
  buffer->deallocate();
  CHECK(processor->counters().unknown_device_events == 2);
  ttm::GraphTracker::instance().pop_processor();
  ttm::IDevice chip(0);
  auto unseen = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);  // no processor on this thread yet
  ttm::GraphTracker::instance().push_processor(processor);
  unseen->deallocate();
  CHECK(processor->counters().unknown_frees == 1);
  CHECK(events_of(processor->client()).empty());
  ttm::GraphTracker::instance().pop_processor();
}

// The processor list is per thread: a thread that did not register is not seen; registering twice on
// one thread pushes once.
void test_registration_per_thread() {
  auto processor = make_processor(1);
  ttm::IDevice chip(0);
  std::thread([&] {
    CHECK(allocwatch::tt_metal::register_on_this_thread(processor));
    CHECK(!allocwatch::tt_metal::register_on_this_thread(processor));
    CHECK(ttm::GraphTracker::instance().get_processors().size() == 1);
    ttm::Buffer::create(&chip, 64, ttm::BufferType::L1);
  }).join();
  std::thread([&] { ttm::Buffer::create(&chip, 64, ttm::BufferType::L1); }).join();
  CHECK(events_of(processor->client()).size() == 2);
  CHECK(!allocwatch::tt_metal::register_on_this_thread(nullptr));
}

void test_memory_types_and_settings() {
  using allocwatch::tt_metal::memory_type_of;
  CHECK(static_cast<int>(memory_type_of(ttm::BufferType::DRAM)) == 0);
  CHECK(static_cast<int>(memory_type_of(ttm::BufferType::L1)) == 1);
  CHECK(static_cast<int>(memory_type_of(ttm::BufferType::SYSTEM_MEMORY)) == 2);
  CHECK(static_cast<int>(memory_type_of(ttm::BufferType::L1_SMALL)) == 3);
  CHECK(static_cast<int>(memory_type_of(ttm::BufferType::TRACE)) == 4);
  CHECK(static_cast<int>(MemoryType::CB) == 5 && static_cast<int>(MemoryType::KERNEL) == 6);
  unsetenv("ALLOCWATCH_ENABLED");
  CHECK(!allocwatch::tt_metal::settings_from_environment().enabled);
  setenv("ALLOCWATCH_ENABLED", "yes", 1);
  CHECK(!allocwatch::tt_metal::settings_from_environment().enabled);
  setenv("ALLOCWATCH_ENABLED", "1", 1);
  setenv("ALLOCWATCH_SOCKET", "/tmp/x.sock", 1);
  auto settings = allocwatch::tt_metal::settings_from_environment();
  CHECK(settings.enabled && settings.socket_path == "/tmp/x.sock");
  auto shared = allocwatch::tt_metal::shared_processor(chips(1));
  CHECK(shared != nullptr && shared == allocwatch::tt_metal::shared_processor({}));
}

// The wrapper: errors carry the status; the client is move-only and moves keep the snapshot callback;
// an exception in the callback is "ask again", never a crash in C.
void test_client_wrapper() {
  try {
    allocwatch::Client client{allocwatch::Options{}};
    CHECK(false);
  } catch (const allocwatch::Error& error) {
    CHECK(error.status() == ALLOCWATCH_EINVAL);
  }
  allocwatch::Options bad;
  bad.devices = {{0xFFFF, "x", "y", {}}};
  bad.snapshot = [](std::uint16_t, allocwatch::Snapshot&) { return true; };
  try {
    allocwatch::Client client(std::move(bad));
    CHECK(false);
  } catch (const allocwatch::Error& error) {
    CHECK(error.status() == ALLOCWATCH_EINVAL);
    CHECK(std::string(error.what()).find("ALLOCWATCH_EINVAL: device id 0xFFFF") == 0);
  }
  int asked = 0;
  allocwatch::Options options;
  options.devices = chips(1);
  options.snapshot = [&](std::uint16_t, allocwatch::Snapshot& snapshot) -> bool {
    ++asked;
    snapshot.begin(0, 0);
    snapshot.add(MemoryType::DRAM, 1, 2, 3);  // more than announced: throws Error (ESNAPSHOT)
    return true;
  };
  allocwatch::Client first(std::move(options));
  allocwatch::Client second(std::move(first));
  CHECK(!first.is_open() && second.is_open());
  allocwatch::Client third = std::move(second);
  const std::uint64_t seq = third.stamp(0);
  CHECK(seq == 1 && third.stamp_current(0) == 1);
  third.record_alloc(0, seq, MemoryType::L1, 7, 0x100, 64);
  CHECK(third.counters().events_recorded == 1);
  CHECK(first.counters().events_recorded == 0);
  std::uint64_t watermark = 0;
  std::uint32_t count = 0;
  CHECK(recording_snapshot(third.native(), 0, &watermark, &count, nullptr, 0) != 0);
  CHECK(asked == 1);
  third.flush(std::chrono::milliseconds(10));
  third.close();
  CHECK(!third.is_open());
  third.close();  // idempotent
}

std::string text_of(allocwatch::Client& client, std::uint32_t id) {
  char text[allocwatch::kMaxContextBytes + 1] = {0};
  return recording_context_text(client.native(), id, text, sizeof text) ? std::string(text) : std::string();
}

// The contexts of the recorded ALLOCs, in call order, as texts ("" = none), and of the FREEs (ids).
std::vector<std::string> alloc_contexts(allocwatch::Client& client) {
  std::vector<std::string> out;
  for (const recorded_event& e : events_of(client)) {
    if (e.op == RECORDED_ALLOC) out.push_back(text_of(client, e.context_id));
  }
  return out;
}

std::vector<recorded_event> snapshot_of(allocwatch::Client& client, std::uint16_t device) {
  std::vector<recorded_event> entries(256);
  std::uint64_t watermark = 0;
  std::uint32_t count = 0;
  CHECK(recording_snapshot(client.native(), device, &watermark, &count, entries.data(), entries.size()) == 0);
  entries.resize(std::min<std::size_t>(count, entries.size()));
  return entries;
}

// Nested functions: the innermost name wins, the outer one is back after its end, nothing outside any;
// a FREE carries none; CBs carry the function placing them; each name is defined once; the snapshot
// lists what each live allocation was made under.
void test_function_contexts_nest() {
  auto processor = make_processor(1);
  auto& client = processor->client();
  auto& tracker = ttm::GraphTracker::instance();
  ttm::IDevice chip(0);
  allocwatch::tt_metal::register_on_this_thread(processor);
  const int arguments = 3;
  tracker.track_function_start("ttnn.outer", arguments, std::string("tensor"));
  auto a = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
  tracker.track_function_start("ttnn.inner");
  auto b = ttm::Buffer::create(&chip, 64, ttm::BufferType::L1);
  processor->track_program(nullptr, &chip);
  processor->track_allocate_cb(ttm::CoreRangeSet(2), 0x100, 32, false, &chip);
  a->deallocate();
  tracker.track_function_end(arguments);  // with outputs
  auto c = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
  tracker.track_function_start("ttnn.inner");  // again: cached, not defined twice
  tracker.track_function_end();
  tracker.track_function_end();
  auto d = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
  const std::vector<std::string> expected = {"ttnn.outer", "ttnn.inner", "ttnn.inner", "ttnn.outer", ""};
  CHECK(alloc_contexts(client) == expected);
  for (const recorded_event& e : events_of(client)) {
    if (e.op == RECORDED_FREE) CHECK(e.context_id == 0 && e.allocation_id == a->unique_id());
  }
  CHECK(recording_define_calls(client.native()) == 2);
  CHECK(recording_context_count(client.native()) == 2);
  std::map<std::uint64_t, std::string> under;
  for (const recorded_event& e : snapshot_of(client, 0)) under[e.allocation_id] = text_of(client, e.context_id);
  CHECK(under.size() == 4);
  CHECK(under[b->unique_id()] == "ttnn.inner" && under[c->unique_id()] == "ttnn.outer");
  CHECK(under.count(d->unique_id()) == 1 && under[d->unique_id()].empty());
  const auto cb = std::find_if(under.begin(), under.end(), [](const auto& entry) {
    return (entry.first & allocwatch::tt_metal::kCircularBufferIdBit) != 0;
  });
  CHECK(cb != under.end() && cb->second == "ttnn.inner");
  CHECK(processor->counters().unmatched_function_ends == 0 && processor->counters().unnamed_functions == 0);
  tracker.pop_processor();
}

// An end with no function open does nothing but count; the next function still works.
void test_unmatched_function_end() {
  auto processor = make_processor(1);
  ttm::IDevice chip(0);
  allocwatch::tt_metal::register_on_this_thread(processor);
  auto& tracker = ttm::GraphTracker::instance();
  tracker.track_function_end();
  tracker.track_function_end(std::string("output"));
  CHECK(processor->counters().unmatched_function_ends == 2);
  CHECK(processor->current_context() == 0);
  tracker.track_function_start("ttnn.add");
  auto a = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
  tracker.track_function_end();
  tracker.track_function_end();
  auto b = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
  CHECK(alloc_contexts(processor->client()) == (std::vector<std::string>{"ttnn.add", ""}));
  CHECK(processor->counters().unmatched_function_ends == 3);
  tracker.pop_processor();
}

// Past kMaxFunctionDepth starts are counted, not named or defined: allocations carry the deepest kept
// name, and the ends still match (the kept names come back one by one, then none).
void test_function_depth_bound() {
  using allocwatch::tt_metal::kMaxFunctionDepth;
  auto processor = make_processor(1);
  auto& client = processor->client();
  ttm::IDevice chip(0);
  allocwatch::tt_metal::register_on_this_thread(processor);
  auto& tracker = ttm::GraphTracker::instance();
  for (std::uint32_t level = 0; level < kMaxFunctionDepth + 10; ++level) {
    tracker.track_function_start("level." + std::to_string(level));
  }
  CHECK(processor->counters().functions_past_depth == 10);
  CHECK(recording_define_calls(client.native()) == kMaxFunctionDepth);
  const std::string deepest = "level." + std::to_string(kMaxFunctionDepth - 1);
  CHECK(text_of(client, processor->current_context()) == deepest);
  for (int i = 0; i < 10; ++i) tracker.track_function_end();
  CHECK(text_of(client, processor->current_context()) == deepest);
  tracker.track_function_end();
  CHECK(text_of(client, processor->current_context()) == "level." + std::to_string(kMaxFunctionDepth - 2));
  for (std::uint32_t level = 1; level < kMaxFunctionDepth; ++level) tracker.track_function_end();
  CHECK(processor->current_context() == 0);
  CHECK(processor->counters().unmatched_function_ends == 0);
  tracker.track_function_end();
  CHECK(processor->counters().unmatched_function_ends == 1);
  auto buffer = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
  CHECK(alloc_contexts(client) == std::vector<std::string>{""});
  tracker.pop_processor();
}

// Stacks are per thread: 4 threads, released together, open their own and a shared name; every ALLOC
// carries its own thread's innermost name, and a text shared by threads is one context.
void test_function_stacks_per_thread() {
  auto processor = make_processor(1);
  auto& client = processor->client();
  ttm::IDevice chip(0);
  Gate go;
  constexpr int kThreads = 4;
  std::vector<std::map<std::uint64_t, std::string>> expected(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      allocwatch::tt_metal::register_on_this_thread(processor);
      auto& tracker = ttm::GraphTracker::instance();
      auto& mine = expected[static_cast<std::size_t>(t)];
      const std::string own = "thread." + std::to_string(t);
      go.wait();
      for (int round = 0; round < 300; ++round) {
        auto before = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
        mine[before->unique_id()] = "";
        tracker.track_function_start(own);
        auto outer = ttm::Buffer::create(&chip, 64, ttm::BufferType::L1);
        mine[outer->unique_id()] = own;
        tracker.track_function_start("ttnn.shared");
        auto inner = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
        mine[inner->unique_id()] = "ttnn.shared";
        tracker.track_function_end();
        auto after = ttm::Buffer::create(&chip, 64, ttm::BufferType::L1);
        mine[after->unique_id()] = own;
        tracker.track_function_end();
      }
    });
  }
  go.open();
  for (auto& thread : threads) thread.join();
  std::map<std::uint64_t, std::string> all;
  for (const auto& mine : expected) all.insert(mine.begin(), mine.end());
  std::size_t alloc_count = 0, wrong = 0;
  for (const recorded_event& e : events_of(client)) {
    if (e.op != RECORDED_ALLOC) continue;
    ++alloc_count;
    if (all[e.allocation_id] != text_of(client, e.context_id)) ++wrong;
  }
  CHECK(alloc_count == kThreads * 300 * 4);
  CHECK(wrong == 0);
  CHECK(recording_context_count(client.native()) == kThreads + 1);
  CHECK(processor->counters().unmatched_function_ends == 0);
  CHECK(order_violations(events_of(client)).empty());
}

// Names the client refuses give 0 and are not asked about again: too long, holding a NUL or empty are
// refused by the adapter without asking; not UTF-8 is asked once. The cache stops at kMaxContexts names.
void test_refused_names() {
  auto processor = make_processor(1);
  auto& client = processor->client();
  ttm::IDevice chip(0);
  allocwatch::tt_metal::register_on_this_thread(processor);
  auto& tracker = ttm::GraphTracker::instance();
  const std::string too_long(allocwatch::kMaxContextBytes + 1, 'x');
  const std::string longest(allocwatch::kMaxContextBytes, 'y');
  const std::string not_utf8 = "ttnn.\xff\xfe";
  const std::string with_nul("ttnn\0add", 8);
  for (int i = 0; i < 50; ++i) {
    for (const std::string& name : {too_long, not_utf8, with_nul, std::string()}) {
      tracker.track_function_start(name);
      ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
      tracker.track_function_end();
    }
  }
  CHECK(recording_define_calls(client.native()) == 1);  // the UTF-8 one, once
  CHECK(processor->counters().unnamed_functions == 200);
  for (const std::string& context : alloc_contexts(client)) CHECK(context.empty());
  tracker.track_function_start(longest);
  ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
  tracker.track_function_end();
  CHECK(alloc_contexts(client).back() == longest);
  // The cache: kMaxContexts names (the refused UTF-8 one among them), then new names get 0 unasked.
  for (std::uint32_t i = 0; i < allocwatch::kMaxContexts + 100; ++i) processor->context_of("name." + std::to_string(i));
  CHECK(recording_define_calls(client.native()) == allocwatch::kMaxContexts);
  CHECK(processor->context_of("name.0") != 0);
  CHECK(processor->context_of("name." + std::to_string(allocwatch::kMaxContexts + 50)) == 0);
  CHECK(processor->context_of(longest) != 0);
  CHECK(recording_define_calls(client.native()) == allocwatch::kMaxContexts);
  tracker.pop_processor();
}

// Several processors on one thread keep separate stacks; past kFunctionStacksPerThread open at once, the
// extra processor's functions are counted and carry none (its ends are unmatched), the others unharmed.
void test_function_stacks_per_processor() {
  std::thread([] {
    constexpr std::size_t kCount = allocwatch::tt_metal::kFunctionStacksPerThread + 1;
    std::vector<std::shared_ptr<AllocwatchProcessor>> processors;
    for (std::size_t i = 0; i < kCount; ++i) {
      processors.push_back(make_processor(1));
      allocwatch::tt_metal::register_on_this_thread(processors.back());
    }
    ttm::IDevice chip(0);
    auto& tracker = ttm::GraphTracker::instance();
    tracker.track_function_start("ttnn.matmul");
    auto buffer = ttm::Buffer::create(&chip, 64, ttm::BufferType::DRAM);
    for (std::size_t i = 0; i < kCount; ++i) {
      const bool has_stack = i + 1 < kCount;
      CHECK(alloc_contexts(processors[i]->client()) ==
            std::vector<std::string>{has_stack ? "ttnn.matmul" : ""});
      CHECK(processors[i]->counters().functions_without_stack == (has_stack ? 0u : 1u));
    }
    tracker.track_function_end();
    CHECK(processors.back()->counters().unmatched_function_ends == 1);
    CHECK(processors.front()->counters().unmatched_function_ends == 0);
    // Closed stacks are free for any processor: the one that found none before takes one now.
    for (std::size_t i = 0; i < kCount; ++i) tracker.pop_processor();
    allocwatch::tt_metal::register_on_this_thread(processors.back());
    tracker.track_function_start("ttnn.add");
    CHECK(text_of(processors.back()->client(), processors.back()->current_context()) == "ttnn.add");
    tracker.track_function_end();
    CHECK(processors.back()->current_context() == 0);
  }).join();
}

// The wrapper's context calls: same text, same id; what the C side refuses is 0; ALLOC and snapshot
// entries carry the id.
void test_client_contexts() {
  allocwatch::Options options;
  options.devices = chips(1);
  options.snapshot = [](std::uint16_t, allocwatch::Snapshot& snapshot) {
    snapshot.begin(1, 1);
    snapshot.add(MemoryType::DRAM, 9, 0x40, 64, 2);
    return true;
  };
  allocwatch::Client client(std::move(options));
  const std::uint32_t matmul = client.define_context("ttnn.matmul");
  CHECK(matmul == 1);
  CHECK(client.define_context(std::string("ttnn.matmul")) == matmul);
  CHECK(client.define_context("ttnn.conv2d") == 2);
  CHECK(client.define_context("") == allocwatch::kNoContext);
  CHECK(client.define_context(std::string(allocwatch::kMaxContextBytes + 1, 'x')) == allocwatch::kNoContext);
  CHECK(client.define_context(std::string_view("a\0b", 3)) == allocwatch::kNoContext);
  CHECK(client.define_context(std::string(allocwatch::kMaxContextBytes, 'z')) == 3);
  const std::string_view prefix = std::string_view("ttnn.matmul.extra").substr(0, 11);  // not NUL-terminated
  CHECK(client.define_context(prefix) == matmul);
  client.record_alloc(0, client.stamp(0), MemoryType::DRAM, 1, 0x40, 64, matmul);
  client.record_alloc(0, client.stamp(0), MemoryType::DRAM, 2, 0x80, 64);
  auto events = events_of(client);
  CHECK(events.size() == 2 && events[0].context_id == matmul && events[1].context_id == 0);
  auto entries = snapshot_of(client, 0);
  CHECK(entries.size() == 1 && entries[0].context_id == 2);
  client.close();
  CHECK(client.define_context("ttnn.matmul") == allocwatch::kNoContext);
}

}  // namespace

int main() {
  const std::pair<const char*, void (*)()> tests[] = {
      {"callback stamps are exact under churn (4 threads, reuse)", test_callback_stamps_are_exact_under_churn},
      {"a stamp at send time breaks; in the callback it holds", test_late_stamp_breaks_and_callback_stamp_holds},
      {"circular buffers", test_circular_buffers},
      {"mesh buffers and snapshots", test_mesh_buffer_and_snapshot},
      {"unknown devices and frees", test_unknown_devices_and_frees},
      {"registration per thread", test_registration_per_thread},
      {"memory types and settings", test_memory_types_and_settings},
      {"client wrapper", test_client_wrapper},
      {"function contexts nest (innermost wins)", test_function_contexts_nest},
      {"an unmatched function end is harmless", test_unmatched_function_end},
      {"function depth past the bound", test_function_depth_bound},
      {"function stacks per thread (4 threads)", test_function_stacks_per_thread},
      {"refused names give 0 and are not asked again", test_refused_names},
      {"function stacks per processor", test_function_stacks_per_processor},
      {"client contexts", test_client_contexts},
  };
  for (const auto& [name, run] : tests) {
    const int before = failures;
    run();
    std::printf("%s %s\n", failures == before ? "ok  " : "FAIL", name);
  }
  std::printf("%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
