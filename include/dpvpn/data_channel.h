// SPDX-License-Identifier: MIT
// Data channel (§8, §9): seal/open of P_DATA_V1/V2 in place on a buf_view, replay protection,
// ping/OCC recognition and compression-stub framing. Owner thread only; no allocation per packet.
#pragma once

#include <immintrin.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>

#include "dpvpn/buf.h"
#include "dpvpn/crypto.h"
#include "dpvpn/replay.h"
#include "dpvpn/shared_replay.h"
#include "dpvpn/wire.h"

namespace dpvpn::proto {

struct data_key_params {
  crypto::cipher_alg cipher = crypto::cipher_alg::aes_256_gcm;
  crypto::digest_alg digest = crypto::digest_alg::sha1;  // CBC only; ignored for AEAD
  crypto::backend backend = crypto::backend::ipsec_mb;
  uint32_t replay_window = wire::k_replay_window_default;
  uint32_t replay_time = wire::k_replay_time_default;
  // A key opened on several lcores (dc_rx::share_window): the shared window's size, which covers
  // the reordering the lcores' hand-off rings add (spread_replay_window); 0 = replay_window.
  uint32_t spread_window = 0;
};

// The receive window of a tunnel whose packets the receiving lcore spreads over `spread` lcores
// through hand-off rings of ring_size entries (docs/dataplane.md, "One tunnel on several lcores"):
// a packet waits behind at most ring_size - 1 others in its ring while the receiving lcore opens
// its own share, (spread - 1) packets in a hand-off for one kept; plus two bursts in hand. So our
// own spreading never pushes a packet out of the window; the configured size stays the floor.
inline uint32_t spread_replay_window(uint32_t configured, uint32_t spread, uint32_t ring_size) {
  const uint64_t own = uint64_t{ring_size} * spread + 2 * 256;
  const uint64_t w = own > configured ? own : configured;
  return w > wire::k_replay_window_max ? wire::k_replay_window_max : static_cast<uint32_t>(w);
}

// §9.1: what the peer agreed to (pushed comp-lzo no / compress / compress stub-v2).
enum class comp_framing : uint8_t { none, lzo_no, stub, stub_v2 };
const char* to_string(comp_framing f) noexcept;  // as configured: "comp-lzo no", "compress stub", ...

enum class dc_err : uint8_t {
  ok = 0,
  too_short,          // shorter than the header + tag (+ IV/HMAC)
  bad_opcode,         // not P_DATA_V1/V2
  bad_tag,            // AEAD tag or HMAC mismatch
  bad_padding,        // CBC PKCS#7 padding invalid
  replay,             // replay window rejected the packet id
  bad_framing,        // compression framing byte not what was negotiated
  no_room,            // not enough headroom/tailroom to seal
  packet_id_exhausted,  // send packet-id would wrap
  crypto_failure,
};
const char* to_string(dc_err e) noexcept;

// What an opened payload is (§9.2, §9.3).
enum class dc_kind : uint8_t { ip, ping, occ_exit, occ_other };

// Direction within key2 (§7.3): keys[d]. The server seals with d=1 and opens with d=0;
// the client seals with d=0 and opens with d=1.
inline constexpr int k_dir_client_to_server = 0;
inline constexpr int k_dir_server_to_client = 1;

// The jobs' nonce is written with one 16-byte store (its last 4 bytes zero): the AEAD's 12-byte
// load then forwards from that one store instead of waiting for two smaller ones to drain.
inline constexpr size_t k_nonce_store = 16;

// One packet's AEAD seal, split like open_job: seal_prepare writes the header and the nonce, the
// caller runs the AEAD for a group of them, so that no seal reads what was stored just before it
// (a load that spans smaller stores still in flight, such as IPsec-MB's masked 12-byte nonce load,
// waits until every older store has reached the cache: the previous packet's whole ciphertext).
// No default member initializers: a burst keeps an array of these on the stack.
struct seal_job {
  crypto::aead_key* key;
  const uint8_t* aad;
  uint8_t* data;  // plaintext, sealed in place
  uint8_t* tag;
  uint32_t aad_len;
  uint32_t len;
  alignas(16) uint8_t nonce[k_nonce_store];  // the 12-byte nonce, stored as one 16-byte write
  bool run(crypto::engine& e) const noexcept { return key->seal(e, nonce, aad, aad_len, data, len, tag); }
};

// Sending state for one key_id.
class dc_tx : public session_allocated {
 public:
  static std::unique_ptr<dc_tx> create(const data_key_params& p, std::span<const uint8_t, wire::k_key2_size> key2,
                                       int dir, std::string* err);
  // b holds the plaintext payload; on ok it holds the whole data packet starting at the opcode.
  // peer_id == k_peer_id_none selects P_DATA_V1.
  dc_err seal(crypto::engine& e, buf_view& b, uint8_t key_id, uint32_t peer_id, comp_framing f) noexcept;
  // One tunnel sealed on several lcores (docs/dataplane.md, "One tunnel on several lcores"): a
  // block of n consecutive ids taken with one fetch_add, its first id returned (0: the ids would
  // pass 2^32 - 1, packet_id_exhausted). Any thread; then seal_id() each packet with one id of it.
  // A key whose ids are taken in blocks must not also be sealed with seal().
  uint32_t reserve_ids(uint32_t n) noexcept {
    const uint64_t last = packet_id_.fetch_add(n, std::memory_order_relaxed);
    return last + n > UINT32_MAX ? 0 : static_cast<uint32_t>(last + 1);
  }
  // The highest id any lcore has sent (after its tx_burst): what the peer's window can have seen
  // at most. Only the send token's holder writes it (the token orders the writes), so a plain
  // store of the larger value.
  void note_sent(uint32_t id) noexcept {
    if (id > sent_.load(std::memory_order_relaxed)) sent_.store(id, std::memory_order_relaxed);
  }
  uint32_t highest_sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
  // The key's send token (docs/dataplane.md, "One tunnel on several lcores"): the lcore that holds
  // it checks its sealed packets against highest_sent() and puts them on the wire before it gives
  // it back, so packets leave in the order they were checked and none leaves behind the window.
  // Taken with one exchange and never waited for: an lcore that finds it taken holds its packets.
  bool try_take_send() noexcept {
    return send_token_.load(std::memory_order_relaxed) == 0 && send_token_.exchange(1, std::memory_order_acquire) == 0;
  }
  void give_send() noexcept { send_token_.store(0, std::memory_order_release); }
  // seal() with a reserved id; reads the key only, so any thread may run it with its own engine.
  dc_err seal_id(crypto::engine& e, buf_view& b, uint8_t key_id, uint32_t peer_id, comp_framing f,
                 uint32_t pid) const noexcept;
  // The staged seal_id (AEAD keys only: key() non-null): on ok b holds the whole packet, its tag
  // still to be written by running j. pid 0: packet_id_exhausted.
  dc_err seal_prepare(buf_view& b, uint8_t key_id, uint32_t peer_id, comp_framing f, uint32_t pid,
                      seal_job& j) const noexcept;
  // seal()'s packet id for the staged form: the next one, taken (0 when exhausted: seal_prepare
  // refuses it). The owner only, as seal().
  uint32_t take_id() noexcept {
    const uint64_t last = packet_id_.load(std::memory_order_relaxed);
    if (last >= UINT32_MAX) return 0;
    packet_id_.store(last + 1, std::memory_order_relaxed);
    return static_cast<uint32_t>(last + 1);
  }
  // True once the send packet-id reached the wrap trigger (§8.3): renegotiate.
  bool wrap_due() const noexcept { return packet_id() >= wire::k_packet_id_wrap_trigger; }
  // The last id used (taken, with reserve_ids), saturated at 2^32 - 1.
  uint32_t packet_id() const noexcept {
    const uint64_t v = packet_id_.load(std::memory_order_relaxed);
    return v > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(v);
  }
  // Tests; and data_keys::seal_prepare, which gives back the id of a packet that had no room.
  void set_packet_id(uint32_t v) noexcept { packet_id_.store(v, std::memory_order_relaxed); }
  const data_key_params& params() const noexcept { return params_; }
  const crypto::aead_key* key() const noexcept { return aead_.get(); }  // null for CBC (prefetching)
  // The key_id of the slot this key sends in; written by data_keys before it publishes the key.
  uint8_t key_id() const noexcept { return key_id_; }
  void set_key_id(uint8_t k) noexcept { key_id_ = k; }

 private:
  dc_tx() = default;
  dc_err seal_with(crypto::engine& e, buf_view& b, uint8_t key_id, uint32_t peer_id, comp_framing f,
                   uint32_t pid) const noexcept;
  // What seal() reads for every packet comes first. packet_id_: the last id used; the next packet
  // carries packet_id_ + 1. 64 bits, so that a block taken past 2^32 - 1 cannot wrap it. Owner:
  // relaxed load + store (seal); a spread peer's lcores: fetch_add (reserve_ids). On a line of
  // its own with sent_, which the spread lcores also write: what every seal reads (the IV, the
  // key) stays on a line no lcore writes.
  alignas(64) std::atomic<uint64_t> packet_id_{0};
  std::atomic<uint32_t> sent_{0};  // note_sent; the spread lcores: rw, under the send token
  std::atomic<uint32_t> send_token_{0};  // try_take_send / give_send; the spread lcores: rw
  alignas(64) uint8_t key_id_ = 0;
  uint8_t implicit_iv_[wire::k_implicit_iv] = {};
  std::unique_ptr<crypto::aead_key> aead_;
  std::unique_ptr<crypto::cbc_hmac_key> cbc_;
  data_key_params params_;
};

// One packet's AEAD open, split so that the dataplane can run a burst in passes: every packet's
// lookups and replay checks, then every AEAD, then every commit (docs/dataplane.md). dc_rx::open()
// is the same three steps for one packet.
// No default member initializers: a burst keeps an array of these on the stack, and open_prepare
// sets every field it returns ok for.
struct open_job {
  crypto::aead_key* key;  // the key to open with (run key->open(...) on the fields below)
  const uint8_t* aad;
  uint8_t* data;          // ciphertext, decrypted in place
  const uint8_t* tag;
  uint32_t aad_len;
  uint32_t len;
  uint32_t pid;           // packet id, for the commit
  uint32_t off;           // header bytes before the ciphertext
  alignas(16) uint8_t nonce[k_nonce_store];  // the 12-byte nonce, stored as one 16-byte write
  bool run(crypto::engine& e) const noexcept { return key->open(e, nonce, aad, aad_len, data, len, tag); }
};

// Where open_finish takes the packet id: here (commit), or a batch commit of a shared window
// took it already (taken) or refused it (refused).
enum class commit_state : uint8_t { here, taken, refused };

// Receiving state for one key_id.
class dc_rx : public session_allocated {
 public:
  static std::unique_ptr<dc_rx> create(const data_key_params& p, std::span<const uint8_t, wire::k_key2_size> key2,
                                       int dir, std::string* err);
  // b holds the whole packet from the opcode byte; on ok it holds the inner payload (framing
  // stripped) and kind says what it is. now = Unix seconds (replay time window).
  dc_err open(crypto::engine& e, buf_view& b, uint64_t now, comp_framing f, dc_kind& kind) noexcept;
  // open() for an AEAD key (is_aead()), inline: the dataplane's one-pass open (data_keys::open)
  // runs it for every packet with no call but the AEAD's.
  [[gnu::always_inline]] dc_err open_aead(crypto::engine& e, buf_view& b, uint64_t now, comp_framing f,
                                         dc_kind& kind) noexcept {
    open_job j;
    const dc_err pe = prepare_aead(b, now, j);
    if (pe != dc_err::ok) return pe;
    return finish_aead(b, j, j.run(e), now, f, kind, commit_state::here);
  }
  // The staged form (AEAD keys only: is_aead()). open_prepare checks the header and the packet id
  // against the window (reaping it at most every 5 s) and fills j; b is not changed. After the
  // caller ran j, open_finish commits the id, re-checking it first (an earlier packet of the same
  // burst may have taken it or moved the window past it), then strips header and framing.
  bool is_aead() const noexcept { return aead_ != nullptr; }
  const crypto::aead_key* key() const noexcept { return aead_.get(); }  // null for CBC
  // Forgets every packet id seen, as a fresh key would: for dpvpn-bench --keep-keys, which opens
  // the same packets every pass. Never on a live key (it would accept replays).
  void restart_window() noexcept {
    replay_ = replay_window(params_.replay_window, params_.replay_time);
    last_reap_ = 0;
  }
  dc_err open_prepare(const buf_view& b, uint64_t now, open_job& j) noexcept;
  dc_err open_finish(buf_view& b, const open_job& j, bool tag_ok, uint64_t now, comp_framing f, dc_kind& kind,
                     commit_state pre = commit_state::here) noexcept;
  const data_key_params& params() const noexcept { return params_; }
  const replay_window& replay() const noexcept { return replay_; }

  // One tunnel opened on several lcores (docs/dataplane.md, "One tunnel on several lcores"): from
  // now on the packet ids go through the shared window (any thread may open_prepare, open_finish
  // and open), and the time-backtrack expiry pass is off (it needs a single writer). Call once,
  // before the key is used (the owner, when it installs the key of a spread peer).
  void share_window() noexcept { shared_mode_ = true; }
  bool window_shared() const noexcept { return shared_mode_; }
  const shared_replay& shared_window() const noexcept { return shared_; }
  // The ids of a run of authenticated packets, committed to the shared window at once (then
  // open_finish with taken / refused for each). Shared windows only; any thread.
  void commit_burst(const uint32_t* ids, uint32_t n, replay_verdict* out) noexcept {
    shared_.commit_burst(ids, n, out);
    if (!used_.load(std::memory_order_relaxed)) used_.store(true, std::memory_order_relaxed);
  }
  // Set by whichever lcore opened a packet with this key first: the owner, which alone changes
  // the key slots, then makes a pending key the sending key (data_keys::tick). Any thread.
  bool used() const noexcept { return used_.load(std::memory_order_relaxed); }

 private:
  explicit dc_rx(uint32_t window) : shared_(window) {}
  replay_verdict check_id(uint32_t id, uint64_t now) const noexcept {
    return shared_mode_ ? shared_.check(id) : replay_.check_short(id, now);
  }
  bool commit_id(uint32_t id, uint64_t now) noexcept;
  dc_err open_header(const buf_view& b, uint64_t now, bool& v2, uint32_t& hdr) noexcept;
  // open_prepare / open_finish's bodies, inlined into them and into open() (data_channel.cc only).
  dc_err prepare_aead(const buf_view& b, uint64_t now, open_job& j) noexcept;
  dc_err finish_aead(buf_view& b, const open_job& j, bool tag_ok, uint64_t now, comp_framing f, dc_kind& kind,
                     commit_state pre) noexcept;
  // What the open reads for every packet comes first, in the two lines the dataplane prefetches
  // (the key, IV, flags and the replay window's head; the window's per-id times follow, their line
  // fetched by prefetch_commit); any other line would be a miss per packet at 10 000 sessions.
  std::unique_ptr<crypto::aead_key> aead_;
  uint8_t implicit_iv_[wire::k_implicit_iv] = {};
  uint64_t last_reap_ = 0;  // when replay_.reap() last ran (§8.5: at most every k_seq_reap_interval s)
  bool shared_mode_ = false;  // immutable once the key is published (share_window)
  std::atomic<bool> used_{false};  // see used(); every lcore of a spread peer: rw
  replay_window replay_{wire::k_replay_window_default, wire::k_replay_time_default};
  std::unique_ptr<crypto::cbc_hmac_key> cbc_;
  data_key_params params_;
  shared_replay shared_;  // on its own lines (alignas 64): every lcore of a spread peer writes it
};

// Classify an opened plaintext (after framing is stripped).
dc_kind classify_payload(std::span<const uint8_t> p) noexcept;

// ---- inline per packet: the AEAD open (dc_rx::open_aead and the staged form's bodies), the
// staged seal (dc_tx::seal_prepare) and their helpers ---------------------------------------------

namespace dc_inline {

inline constexpr uint32_t k_pid_len = 4;  // short-form packet-id (§8.3): AEAD and CBC data use it
inline constexpr uint32_t k_tag = wire::k_aead_tag;
constexpr uint32_t op_hdr_len(bool v2) { return v2 ? wire::k_data_v2_hdr : wire::k_data_v1_hdr; }

// nonce = packet-id (4, as on the wire) || implicit IV (8)   (§8.1), then 4 zero bytes: one
// 16-byte store (k_nonce_store), so that the AEAD's nonce load right after is forwarded from it.
[[gnu::always_inline]] inline void make_nonce(uint8_t nonce[k_nonce_store], const uint8_t* pid_on_wire,
                                              const uint8_t* implicit_iv) {
  static_assert(k_pid_len + wire::k_implicit_iv + 4 == k_nonce_store);
  uint32_t pid;
  uint64_t iv;
  std::memcpy(&pid, pid_on_wire, k_pid_len);
  std::memcpy(&iv, implicit_iv, wire::k_implicit_iv);
  const __m128i v = _mm_set_epi64x(static_cast<long long>(iv >> 32),
                                   static_cast<long long>(uint64_t{pid} | (iv << 32)));
  _mm_store_si128(reinterpret_cast<__m128i*>(nonce), v);
}

// The peer-id 0xFFFFFF (MAX_PEER_ID) means "no peer-id" and selects P_DATA_V1 (§1.5). Larger
// values cannot be encoded in 24 bits; they are a caller bug and are treated the same way.
constexpr bool use_v2(uint32_t peer_id) { return peer_id < wire::k_peer_id_none; }

[[gnu::always_inline]] inline void write_op_hdr(uint8_t* p, bool v2, uint8_t key_id, uint32_t peer_id) {
  p[0] = wire::op_byte(v2 ? wire::P_DATA_V2 : wire::P_DATA_V1, key_id);
  if (v2) wire::put_u24(p + 1, peer_id);
}

// ---- compression framing (§9.1) ---------------------------------------------------------
// An empty payload carries no framing byte in any mode (the 2.6 compressors leave len 0 alone).

struct room {
  uint32_t head;
  uint32_t tail;
};

[[gnu::always_inline]] inline room framing_room(comp_framing f, const buf_view& b) {
  if (b.len == 0) return {0, 0};
  switch (f) {
    case comp_framing::none: return {0, 0};
    case comp_framing::lzo_no: return {1, 0};
    // Swap form: [0xFB][d1 .. dn-1][d0]; d0 moves to the tail, 0xFB takes its place.
    case comp_framing::stub: return {0, 1};
    // stub-v2 escapes only a payload starting with 0x50. 2.6.14 writes 0x50 0x0A but reads
    // 0x50 0x00 (§9.1 note 1); we write what a 2.6.14 peer reads. An IP packet never starts
    // with 0x50 (IP version 5), so on a tun tunnel this does not happen.
    case comp_framing::stub_v2: return {b.data[0] == wire::k_comp_v2_indicator ? 2u : 0u, 0};
  }
  return {0, 0};
}

// Precondition: framing_room(f, b) fits in b's headroom/tailroom.
[[gnu::always_inline]] inline void apply_framing(comp_framing f, buf_view& b, room r) {
  if (b.len == 0) return;
  switch (f) {
    case comp_framing::none: break;
    case comp_framing::lzo_no: b.prepend(1)[0] = wire::k_no_compress_byte; break;
    case comp_framing::stub: {
      const uint8_t first = b.data[0];
      b.append(1)[0] = first;
      b.data[0] = wire::k_comp_swap_byte;
      break;
    }
    case comp_framing::stub_v2:
      if (r.head) {
        uint8_t* p = b.prepend(2);
        p[0] = wire::k_comp_v2_indicator;
        p[1] = 0x00;  // algorithm "uncompressed"
      }
      break;
  }
}

// The compression framing (§9) undone on an opened payload.
[[gnu::always_inline]] inline dc_err undo_framing(comp_framing f, buf_view& b) {
  if (b.len == 0) return dc_err::ok;
  switch (f) {
    case comp_framing::none: break;
    case comp_framing::lzo_no:
      if (b.data[0] != wire::k_no_compress_byte) return dc_err::bad_framing;
      b.adj(1);
      break;
    case comp_framing::stub:
      if (b.data[0] != wire::k_comp_swap_byte) return dc_err::bad_framing;
      b.data[0] = b.data[b.len - 1];
      b.trim(1);
      break;
    case comp_framing::stub_v2:
      if (b.data[0] == wire::k_comp_v2_indicator) {
        if (b.len < 2 || b.data[1] != 0x00) return dc_err::bad_framing;
        b.adj(2);
      }
      break;
  }
  return dc_err::ok;
}

// An IP packet (version 4 or 6 in its first nibble) is decided by one compare: neither magic
// starts with such a byte.
static_assert(wire::k_ping_magic[0] >> 4 != 4 && wire::k_ping_magic[0] >> 4 != 6);
static_assert(wire::k_occ_magic[0] >> 4 != 4 && wire::k_occ_magic[0] >> 4 != 6);
[[gnu::always_inline]] inline dc_kind kind_of(std::span<const uint8_t> p) noexcept {
  if (!p.empty() && (p[0] & 0xd0) == 0x40) return dc_kind::ip;  // version 4 or 6: 0100 or 0110
  return classify_payload(p);
}

}  // namespace dc_inline

// Both ciphers: the opcode and the op/peer-id header length (§1.5), and the time-backtrack expiry
// pass, which runs before the replay test at most every 5 s (§8.5).
[[gnu::always_inline]] inline dc_err dc_rx::open_header(const buf_view& b, uint64_t now, bool& v2, uint32_t& hdr) noexcept {
  if (b.len < 1) return dc_err::too_short;
  const uint8_t op = wire::op_of(b.data[0]);
  if (!wire::is_data_op(op)) return dc_err::bad_opcode;
  v2 = op == wire::P_DATA_V2;
  hdr = dc_inline::op_hdr_len(v2);
  if (!shared_mode_ && (now >= last_reap_ + wire::k_seq_reap_interval || now < last_reap_)) {
    // The key's first packet starts the interval: a window that has seen nothing has nothing to
    // expire (after a rekey wave, 10 000 fresh keys skip 10 000 empty walks).
    if (last_reap_ != 0) replay_.reap(now);
    last_reap_ = now;
  }
  return dc_err::ok;
}

// Header and replay check of an AEAD packet (§8.1, §8.5); b is left as it is.
[[gnu::always_inline]] inline dc_err dc_rx::prepare_aead(const buf_view& b, uint64_t now, open_job& j) noexcept {
  bool v2 = false;
  uint32_t hdr = 0;
  if (const dc_err e = open_header(b, now, v2, hdr); e != dc_err::ok) return e;
  if (b.len < hdr + dc_inline::k_pid_len + dc_inline::k_tag) return dc_err::too_short;
  uint8_t* const p = b.data;
  j.pid = wire::get_u32(p + hdr);
  // check() is const: a replayed id is dropped before paying for decryption, and the window
  // moves only after the tag verifies (open_finish).
  if (check_id(j.pid, now) != replay_verdict::ok) return dc_err::replay;
  if (!shared_mode_) replay_.prefetch_commit(j.pid);
  dc_inline::make_nonce(j.nonce, p + hdr, implicit_iv_);
  j.key = aead_.get();
  j.aad = v2 ? p : p + hdr;
  j.aad_len = v2 ? hdr + dc_inline::k_pid_len : dc_inline::k_pid_len;
  j.off = hdr + dc_inline::k_pid_len + dc_inline::k_tag;
  j.data = p + j.off;
  j.len = b.len - j.off;
  j.tag = p + hdr + dc_inline::k_pid_len;
  return dc_err::ok;
}

// The commit after the tag verified: re-checks first (an earlier packet of the same burst, or
// another lcore of a spread peer, may have taken the id or moved the window past it).
[[gnu::always_inline]] inline bool dc_rx::commit_id(uint32_t id, uint64_t now) noexcept {
  if (shared_mode_) {
    if (shared_.commit(id) != replay_verdict::ok) return false;
  } else {
    if (!replay_.take_short(id, now)) return false;
  }
  if (!used_.load(std::memory_order_relaxed)) used_.store(true, std::memory_order_relaxed);
  return true;
}

[[gnu::always_inline]] inline dc_err dc_rx::finish_aead(buf_view& b, const open_job& j, bool tag_ok, uint64_t now,
                                                      comp_framing f, dc_kind& kind, commit_state pre) noexcept {
  if (!tag_ok) return dc_err::bad_tag;
  if (pre == commit_state::refused || (pre == commit_state::here && !commit_id(j.pid, now))) return dc_err::replay;
  b.adj(j.off);
  if (const dc_err fe = dc_inline::undo_framing(f, b); fe != dc_err::ok) return fe;
  kind = dc_inline::kind_of(b.span());
  return dc_err::ok;
}

// The staged seal, inline: the dataplane calls it for every packet.
[[gnu::always_inline]] inline dc_err dc_tx::seal_prepare(buf_view& b, uint8_t key_id, uint32_t peer_id,
                                                         comp_framing f, uint32_t pid, seal_job& j) const noexcept {
  using namespace dc_inline;
  if (pid == 0) return dc_err::packet_id_exhausted;
  const bool v2 = use_v2(peer_id);
  const uint32_t hdr = op_hdr_len(v2);
  const room fr = framing_room(f, b);
  // §8.1: [op/kid (+peer-id)] [packet-id 4] [tag 16] [ciphertext]
  if (b.headroom < fr.head + hdr + k_pid_len + k_tag || b.tailroom < fr.tail) return dc_err::no_room;
  apply_framing(f, b, fr);
  j.data = b.data;
  j.len = b.len;
  uint8_t* const p = b.prepend(hdr + k_pid_len + k_tag);
  // V2's 8 bytes of AAD in one store: the AEAD's load of them is then forwarded from it, not held
  // until three smaller stores drain.
  if (v2)
    wire::put_u64(p, uint64_t{wire::op_byte(wire::P_DATA_V2, key_id)} << 56 | uint64_t{peer_id & 0xffffff} << 32 | pid);
  else
    write_op_hdr(p, v2, key_id, peer_id), wire::put_u32(p + hdr, pid);
  make_nonce(j.nonce, p + hdr, implicit_iv_);
  // AAD: V2 authenticates op/kid, peer-id and packet-id (8 bytes); V1 the packet-id only.
  j.aad = v2 ? p : p + hdr;
  j.aad_len = v2 ? hdr + k_pid_len : k_pid_len;
  j.tag = p + hdr + k_pid_len;
  j.key = aead_.get();
  return dc_err::ok;
}

}  // namespace dpvpn::proto
