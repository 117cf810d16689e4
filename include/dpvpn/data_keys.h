// SPDX-License-Identifier: MIT
// data_keys: the data-channel key slots of one peer (primary + lame duck, §8.6, §12.3): installs
// the keys a session derives, opens by the packet's key_id, seals with the newest key.
// Owner thread only (the dataplane lcore that owns the peer, or a test harness); a shared peer's
// open and seal calls also from its other lcores (share(), docs/dataplane.md).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "dpvpn/buf.h"
#include "dpvpn/data_channel.h"
#include "dpvpn/wire.h"  // key2

namespace dpvpn::proto {

class data_keys {
 public:
  // server: seal with keys[1], open with keys[0] (§7.3); client the opposite.
  data_keys(bool server, const data_key_params& base) : server_(server), base_(base) {}
  data_keys(data_keys&& o) noexcept : server_(o.server_) { *this = std::move(o); }
  data_keys& operator=(data_keys&& o) noexcept;  // before the keys are shared (the control thread)

  // Installs key_id's keys; the oldest of three slots is replaced. The first key sends at once.
  // A renegotiated key becomes the sending key only once the peer has proven it has it (a packet
  // on that key_id opened) or `switch_after_s` have passed: the peer may derive its keys later
  // than we do (its last key-method-2 ACK can be lost), and data sent on a key it lacks is lost.
  bool install(uint8_t key_id, const key2& k, crypto::cipher_alg c, crypto::digest_alg d, uint64_t now_s,
               std::string* err, bool armed = true);
  void retire(uint8_t key_id) noexcept;

  // Dataplane forms: the keys were built by the control thread; whatever the call evicts is moved
  // into tx/rx (in-out) so that it is freed and wiped outside the packet path. No allocation.
  // armed false: a renegotiated key the peer may not hold yet becomes the sending key only once
  // the peer uses it, or switch_after_s after arm(key_id) (the peer's ACK of our key-method-2).
  void install_prebuilt(uint8_t key_id, std::unique_ptr<dc_tx>& tx, std::unique_ptr<dc_rx>& rx,
                        uint64_t now_s, bool armed = true) noexcept;
  void arm(uint8_t key_id, uint64_t now_s) noexcept;
  void retire(uint8_t key_id, std::unique_ptr<dc_tx>& tx_out, std::unique_ptr<dc_rx>& rx_out) noexcept;
  bool has_key() const noexcept { return tx_ >= 0; }
  // The sending key's state, or null: for prefetching ahead of seal().
  const dc_tx* tx_peek() const noexcept { return tx_ >= 0 ? slots_[static_cast<size_t>(tx_)].tx.get() : nullptr; }
  int tx_key_id() const noexcept { return tx_ >= 0 ? slots_[static_cast<size_t>(tx_)].key_id : -1; }
  uint32_t switch_after_s = 5;

  // b holds a whole P_DATA_V1/V2 packet; on ok the inner payload. no_key if its key_id has none.
  struct open_result {
    bool no_key = false;
    dc_err err = dc_err::ok;
    dc_kind kind = dc_kind::ip;
    uint8_t key_id = 0;
  };
  open_result open(crypto::engine& e, buf_view& b, uint64_t now_s) noexcept;
  // open() with b's key_id already looked up (rx_slot: its state and slot, rx null if none; b
  // holds at least the opcode byte): the dataplane finds them a few packets ahead.
  open_result open_with(crypto::engine& e, buf_view& b, uint64_t now_s, dc_rx* rx, int slot) noexcept;

  // The staged form of open() for a burst (see open_job): open_prepare finds key_id's slot and
  // checks the packet (b unchanged); the caller runs s.job (AEAD keys) or, when s.job.key is null
  // (a CBC key), calls open() instead; open_finish commits. A result with no_key or an error ends
  // the packet at that step.
  struct staged {  // filled by open_prepare (no initializers: bursts keep arrays of these)
    dc_rx* rx;
    int slot;
    open_job job;
  };
  open_result open_prepare(const buf_view& b, uint64_t now_s, staged& s) noexcept;
  open_result open_finish(buf_view& b, const staged& s, bool tag_ok, uint64_t now_s,
                          commit_state pre = commit_state::here) noexcept;
  // key_id's receive state, or null: for prefetching ahead of open_prepare.
  const dc_rx* rx_for(uint8_t key_id) const noexcept {
    int slot = -1;
    return rx_slot(key_id, slot);
  }
  // Seals b (payload) with the sending key; peer_id == k_peer_id_none gives P_DATA_V1.
  dc_err seal(crypto::engine& e, buf_view& b, uint32_t peer_id, uint64_t now_s) noexcept;
  // The staged form of seal() for a burst: with an AEAD sending key, j comes back ready to run
  // and b holds the whole packet but its tag (staged true); with a CBC key the packet is sealed
  // whole here (staged false). Not for a shared peer's keys (the dataplane reserves their ids).
  dc_err seal_prepare(crypto::engine& e, buf_view& b, uint32_t peer_id, uint64_t now_s, seal_job& j,
                      bool& staged) noexcept;

  // One tunnel on several lcores (docs/dataplane.md, "One tunnel on several lcores"). The owner
  // publishes the sending key and each key_id's receive key; the peer's other lcores read them
  // here (acquire) and seal (dc_tx::reserve_ids, seal_id) or open (the dc_rx's shared window)
  // without touching the slots. A key they may hold stays alive until every lcore passed a
  // quiescent state after it was unpublished (dataplane/worker.cc, the deferred done ring).
  dc_tx* tx_shared() const noexcept { return tx_pub_.load(std::memory_order_acquire); }
  dc_rx* rx_shared(uint8_t key_id) const noexcept { return rx_pub_[key_id & 7].load(std::memory_order_acquire); }
  // key_id's receive state and its slot (-1 when shared: the published keys, no slot), or null.
  dc_rx* rx_slot(uint8_t key_id, int& slot) const noexcept {
    if (shared_) return rx_shared(key_id);
    for (size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i].key_id == key_id && slots_[i].rx) {
        slot = static_cast<int>(i);
        return slots_[i].rx.get();
      }
    return nullptr;
  }
  // Owner, between bursts: what seal() and open_finish() do to the slots when the packets go
  // through the shared keys: a pending key becomes the sending key once the peer used it (any
  // lcore opened a packet with it) or switch_after_s after it was armed.
  void tick(uint64_t now_s) noexcept;
  // Owner, once, before the peer's other lcores see it: every receive key (those installed now and
  // later) opens through its shared window, and the open and seal calls above go through the
  // published keys only (no slot is read, nothing promoted: tick() does that).
  void share() noexcept;
  bool shared() const noexcept { return shared_; }

  comp_framing framing = comp_framing::none;

 private:
  struct slot {
    int key_id = -1;
    uint64_t serial = 0;
    std::unique_ptr<dc_tx> tx;
    std::unique_ptr<dc_rx> rx;
  };
  bool server_;
  data_key_params base_;
  std::array<slot, 3> slots_;
  void promote_pending() noexcept;
  void publish() noexcept;  // after every change of the slots or of tx_
  int pick_slot(uint8_t key_id) const noexcept;
  int tx_ = -1;       // index into slots_: the sending key
  int pending_ = -1;  // index into slots_: installed, not yet sending
  uint64_t pending_since_s_ = 0;
  static constexpr uint64_t k_not_armed = UINT64_MAX / 2;  // pending, its switch timer not started
  uint64_t serial_ = 0;
  bool shared_ = false;  // owner: wo before the peer is shared, then immutable
  // owner: wo (publish), the peer's spread lcores: ro. rx_pub_ by key_id (3 bits, §1.2).
  std::atomic<dc_tx*> tx_pub_{nullptr};
  std::array<std::atomic<dc_rx*>, 8> rx_pub_{};
};

// One whole packet: the slot, then the header, replay check, AEAD and commit (dc_rx::open_aead,
// inline: the dataplane's open_each calls this for every packet) or CBC (dc_rx::open).
[[gnu::always_inline]] inline data_keys::open_result data_keys::open(crypto::engine& e, buf_view& b,
                                                                   uint64_t now_s) noexcept {
  if (b.len < 1) {
    open_result r;
    r.err = dc_err::too_short;
    return r;
  }
  int slot = -1;
  dc_rx* const rx = rx_slot(wire::key_id_of(b.data[0]), slot);
  return open_with(e, b, now_s, rx, slot);
}

[[gnu::always_inline]] inline data_keys::open_result data_keys::open_with(crypto::engine& e, buf_view& b,
                                                                        uint64_t now_s, dc_rx* rx,
                                                                        int slot) noexcept {
  open_result r;
  r.key_id = wire::key_id_of(b.data[0]);
  if (!rx) {
    r.no_key = true;
    return r;
  }
  r.err = rx->is_aead() ? rx->open_aead(e, b, now_s, framing, r.kind) : rx->open(e, b, now_s, framing, r.kind);
  if (r.err == dc_err::ok && !shared_ && pending_ == slot) promote_pending();  // the peer has it
  return r;
}

// The staged open, inline: the dataplane calls it for every packet.
inline data_keys::open_result data_keys::open_prepare(const buf_view& b, uint64_t now_s, staged& s) noexcept {
  open_result r;
  if (b.len < 1) {
    r.err = dc_err::too_short;
    return r;
  }
  r.key_id = wire::key_id_of(b.data[0]);
  s.slot = -1;
  s.rx = rx_slot(r.key_id, s.slot);
  if (s.rx) {
    s.job.key = nullptr;
    if (s.rx->is_aead()) r.err = s.rx->open_prepare(b, now_s, s.job);
    return r;
  }
  r.no_key = true;
  return r;
}

inline data_keys::open_result data_keys::open_finish(buf_view& b, const staged& s, bool tag_ok, uint64_t now_s,
                                                     commit_state pre) noexcept {
  open_result r;
  r.key_id = wire::key_id_of(b.data[0]);
  r.err = s.rx->open_finish(b, s.job, tag_ok, now_s, framing, r.kind, pre);
  if (r.err == dc_err::ok && !shared_ && pending_ == s.slot) promote_pending();  // the peer has it
  return r;
}

[[gnu::always_inline]] inline dc_err data_keys::seal_prepare(crypto::engine& e, buf_view& b, uint32_t peer_id,
                                                             uint64_t now_s, seal_job& j, bool& staged) noexcept {
  staged = false;
  if (shared_) return seal(e, b, peer_id, now_s);
  if (pending_ >= 0 && now_s >= pending_since_s_ + switch_after_s) promote_pending();
  if (tx_ < 0) return dc_err::crypto_failure;
  slot& s = slots_[static_cast<size_t>(tx_)];
  if (!s.tx->key()) return s.tx->seal(e, b, static_cast<uint8_t>(s.key_id), peer_id, framing);
  // As seal(): an id is used unless the packet had no room.
  const uint32_t pid = s.tx->take_id();
  const dc_err r = s.tx->seal_prepare(b, static_cast<uint8_t>(s.key_id), peer_id, framing, pid, j);
  if (r == dc_err::no_room) s.tx->set_packet_id(pid - 1);
  staged = r == dc_err::ok;
  return r;
}

}  // namespace dpvpn::proto
