// SPDX-License-Identifier: MIT
// client_table (control/client_table.h): peer-id allocation and return, max-clients, the half-open
// cap per source IP, the session timer heap (due order, stale entries, compaction) and re-keying
// on a float. No session and no DPDK: a client's next wake-up comes from a test map.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "client_table.h"

using namespace dpvpn;
using namespace dpvpn::cp;

namespace {

net::outer_addr addr(uint32_t host, uint16_t port = 1194) { return net::outer_v4(0x0a000000u + host, port); }

struct fixture {
  std::map<const client*, uint64_t> wake;  // the "session's" next wake-up; absent = none
  client_table t;
  fixture(uint32_t max_clients, uint32_t ids)
      : t(max_clients, ids,
          [this](const client& c) {
            auto it = wake.find(&c);
            return it == wake.end() ? ~uint64_t{0} : it->second;
          },
          control_log{0}) {}
};

TEST(ClientTable, PeerIdsLowestFirstAndReturned) {
  fixture f(10, 10);
  client* a = f.t.create(addr(1), {}, 0, 1000);
  client* b = f.t.create(addr(2), {}, 1, 1000);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->peer_id, 0u);
  EXPECT_EQ(b->peer_id, 1u);
  EXPECT_EQ(b->owner, 1);
  EXPECT_EQ(a->name, "10.0.0.1:1194");
  EXPECT_EQ(a->created_ms, 1000u);
  EXPECT_EQ(f.t.find(addr(2)), b);
  EXPECT_EQ(f.t.find(addr(3)), nullptr);
  // An id comes back only when freed (the lcore handed the peer back), then it is the next one.
  f.t.erase(addr(1));
  client* c = f.t.create(addr(3), {}, 0, 1000);
  EXPECT_EQ(c->peer_id, 2u);
  f.t.free_peer_id(0);
  client* d = f.t.create(addr(4), {}, 0, 1000);
  EXPECT_EQ(d->peer_id, 0u);
}

TEST(ClientTable, MaxClientsAndPeerIdsRefuse) {
  fixture f(2, 3);
  ASSERT_TRUE(f.t.create(addr(1), {}, 0, 0));
  ASSERT_TRUE(f.t.create(addr(2), {}, 0, 0));
  EXPECT_EQ(f.t.create(addr(3), {}, 0, 0), nullptr);  // max-clients
  EXPECT_EQ(f.t.refused(), 1u);
  // A client gone whose peer-id is still in flight: room in the map, one spare id left.
  f.t.erase(addr(1));
  ASSERT_TRUE(f.t.create(addr(3), {}, 0, 0));
  f.t.erase(addr(2));
  EXPECT_EQ(f.t.free_peer_ids(), 0u);
  EXPECT_EQ(f.t.create(addr(4), {}, 0, 0), nullptr);  // no free id
  EXPECT_EQ(f.t.refused(), 2u);
}

TEST(ClientTable, HalfOpenCapPerSourceIp) {
  fixture f(1000, 1000);
  std::vector<client*> cs;
  for (uint16_t p = 0; p < client_table::k_half_open_per_ip; ++p) {
    ASSERT_TRUE(f.t.admit_half_open(addr(1, 1000 + p)));
    client* c = f.t.create(addr(1, 1000 + p), {}, 0, 0);
    f.t.start_half_open(*c, c->addr.ip);
    cs.push_back(c);
  }
  EXPECT_FALSE(f.t.admit_half_open(addr(1, 5000)));
  EXPECT_TRUE(f.t.admit_half_open(addr(2, 5000)));  // another address is not affected
  EXPECT_EQ(f.t.half_open_refused(), 1u);
  f.t.end_half_open(*cs[0]);  // established
  EXPECT_FALSE(cs[0]->half_open);
  f.t.end_half_open(*cs[0]);  // twice: counted once
  EXPECT_TRUE(f.t.admit_half_open(addr(1, 5000)));
  f.t.start_half_open(*f.t.create(addr(1, 5000), {}, 0, 0), addr(1).ip);
  EXPECT_FALSE(f.t.admit_half_open(addr(1, 5001)));
}

// The overall cap: max-clients / 4, at least 1024, half-open sessions from all sources together.
TEST(ClientTable, HalfOpenCapOverall) {
  fixture f(8000, 8000);
  ASSERT_EQ(f.t.half_open_max(), 2000u);
  for (uint32_t i = 0; i < 2000; ++i) {  // 2000 sources, one session each
    ASSERT_TRUE(f.t.admit_half_open(addr(100 + i)));
    f.t.start_half_open(*f.t.create(addr(100 + i), {}, 0, 0), addr(100 + i).ip);
  }
  EXPECT_EQ(f.t.half_open(), 2000u);
  EXPECT_FALSE(f.t.admit_half_open(addr(50000)));  // a new source: refused all the same
  EXPECT_EQ(f.t.half_open_refused(), 1u);
  f.t.end_half_open(*f.t.find(addr(100)));
  EXPECT_TRUE(f.t.admit_half_open(addr(50000)));
  f.t.set_max_clients(10);
  EXPECT_EQ(f.t.half_open_max(), 1024u);
}

TEST(ClientTable, TimersDueInOrderStaleSkipped) {
  fixture f(10, 10);
  client* a = f.t.create(addr(1), {}, 0, 0);
  client* b = f.t.create(addr(2), {}, 0, 0);
  client* c = f.t.create(addr(3), {}, 0, 0);
  f.wake[a] = 300;
  f.wake[b] = 100;
  f.wake[c] = 200;
  for (client* x : {a, b, c}) f.t.schedule(*x);
  EXPECT_EQ(f.t.next_wakeup(), 100u);
  f.wake[b] = 250;  // b's timer moved later: the 100 entry is stale
  f.t.schedule(*b);
  EXPECT_EQ(f.t.take_due(99), std::vector<client*>{});
  EXPECT_EQ(f.t.take_due(200), std::vector<client*>{c});
  EXPECT_EQ(c->sched_ms, ~uint64_t{0});
  c->dead = true;  // the dead are not scheduled
  f.t.schedule(*c);
  EXPECT_EQ(c->sched_ms, ~uint64_t{0});
  EXPECT_EQ(f.t.take_due(1000), (std::vector<client*>{b, a}));
  EXPECT_EQ(f.t.next_wakeup(), ~uint64_t{0});
  // Unchanged wake-up: no second entry.
  f.t.schedule(*a);
  f.t.schedule(*a);
  EXPECT_EQ(f.t.timer_entries(), 1u);
}

TEST(ClientTable, CompactionKeepsCurrentTimers) {
  fixture f(10, 10);
  client* a = f.t.create(addr(1), {}, 0, 0);
  for (uint64_t t = 0; t < 2000; ++t) {  // 2000 moves of one timer: 1999 stale entries
    f.wake[a] = 10000 + t;
    f.t.schedule(*a);
  }
  EXPECT_EQ(f.t.timer_entries(), 2000u);
  f.t.compact_timers();
  EXPECT_EQ(f.t.timer_entries(), 1u);
  EXPECT_EQ(f.t.next_wakeup(), 11999u);
  EXPECT_EQ(f.t.take_due(20000), std::vector<client*>{a});
}

TEST(ClientTable, RekeyOnFloat) {
  fixture f(10, 10);
  client* a = f.t.create(addr(1), {}, 0, 0);
  client* b = f.t.create(addr(2), {}, 0, 0);
  f.wake[a] = 500;
  f.t.schedule(*a);
  std::vector<std::string> displaced;
  a->addr = addr(3);
  f.t.rekey(addr(1), addr(3), [&](client& o) { displaced.push_back(o.name); });
  EXPECT_TRUE(displaced.empty());
  EXPECT_EQ(f.t.find(addr(3)), a);
  EXPECT_EQ(f.t.find(addr(1)), nullptr);
  EXPECT_EQ(f.t.take_due(500), std::vector<client*>{a});  // its timer follows the new key
  // A float onto another client's address: that client goes.
  const std::string b_name = b->name;  // b is freed by the rekey
  a->addr = addr(2);
  f.t.rekey(addr(3), addr(2), [&](client& o) { displaced.push_back(o.name); });
  EXPECT_EQ(displaced, std::vector<std::string>{b_name});
  EXPECT_EQ(f.t.find(addr(2)), a);
  EXPECT_EQ(f.t.size(), 1u);
}

// The management interface's client-ids: from 0, one per session, found until the client goes.
TEST(ClientTable, ClientIds) {
  fixture f(10, 10);
  client* a = f.t.create(addr(1), {}, 0, 0);
  client* b = f.t.create(addr(2), {}, 0, 0);
  EXPECT_EQ(a->cid, 0u);
  EXPECT_EQ(b->cid, 1u);
  EXPECT_EQ(f.t.find_cid(1), b);
  b->dead = true;
  EXPECT_EQ(f.t.find_cid(1), nullptr);  // torn down: not for management any more
  f.t.erase(addr(2));
  EXPECT_EQ(f.t.find_cid(1), nullptr);
  a->addr = addr(3);
  f.t.rekey(addr(1), addr(3), [](client&) {});
  EXPECT_EQ(f.t.find_cid(0), a);  // a float keeps its id
  client* c = f.t.create(addr(4), {}, 0, 0);
  EXPECT_EQ(c->cid, 2u);  // ids are not reused
  f.t.rekey(addr(3), addr(4), [](client&) {});  // c displaced by a's float
  EXPECT_EQ(f.t.find_cid(2), nullptr);
  EXPECT_EQ(f.t.find_cid(0), a);
}

}  // namespace
