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
  };
  for (const auto& [name, run] : tests) {
    const int before = failures;
    run();
    std::printf("%s %s\n", failures == before ? "ok  " : "FAIL", name);
  }
  std::printf("%d check(s) failed\n", failures);
  return failures == 0 ? 0 : 1;
}
