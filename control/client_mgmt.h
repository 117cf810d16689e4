// SPDX-License-Identifier: MIT
// client_mgmt: what the client role tells its operator (docs/client.md, "Management and status").
// The management interface through the same sockets and command parser as the server's
// (mgmt_server, mgmt_session), answering as openvpn 2.6 answers in client mode: `state` and
// >STATE with the client's states, `status` as openvpn's "OpenVPN STATISTICS", >BYTECOUNT:in,out,
// `signal`, `hold` (management-hold keeps the first connection back until `hold release`), the
// server-only commands (kill, client-*) refused as unsupported in this mode. The same statistics
// go to the `status FILE [SECONDS]` file. Control thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "dpvpn/config.h"
#include "client.h"
#include "mgmt_link.h"
#include "mgmt_server.h"
#include "status_report.h"

namespace dpvpn::cp {

class client_mgmt final : public mgmt::target {
 public:
  client_mgmt(const server_config& cfg, control_log log, std::function<client_bytes()> bytes);
  // Listens (true without `management`); false with err when it cannot.
  bool open(std::string& err) { return link_.open(cfg_, *this, err); }
  // The sockets, the >BYTECOUNT lines that are due, the status file. True when it did something.
  bool poll(uint64_t now_ms);
  void write_status(uint64_t now_ms);  // now (at exit)
  // A state change: "NAME,DESC,LOCAL_IP,REMOTE_IP,REMOTE_PORT,LOCAL_ADDR,LOCAL_PORT,LOCAL_IPV6"
  // (the fields after the time); state() fills the missing ones with empty fields.
  void state(const std::string& name, const std::string& rest = "");
  bool holding() const noexcept { return link_.holding(); }

  // mgmt::target
  bool server_mode() const override { return false; }
  std::string status_text(unsigned version) override;
  unsigned n_clients() override { return 0; }
  void load_bytes(uint64_t& in, uint64_t& out) override;
  int kill_cn(const std::string&) override { return 0; }
  int kill_addr(const std::string&, uint16_t) override { return 0; }
  bool kill_cid(uint64_t, const std::string&) override { return false; }
  bool client_auth(uint64_t, unsigned, bool, const std::string&, const std::string&,
                   const std::vector<std::string>&) override {
    return false;
  }
  bool client_pending_auth(uint64_t, unsigned, const std::string&, unsigned) override { return false; }
  bool signal(const std::string& name) override { return raise_signal(name); }
  void hold_release() override;
  bool hold() const override { return link_.hold_flag(); }
  void set_hold(bool on) override { link_.set_hold_flag(on); }
  unsigned verb() const override;
  bool set_verb(unsigned v) override;
  std::string version_line() const override { return dpvpn_version_line(); }
  long pid() const override;

 private:
  const server_config& cfg_;
  control_log log_;
  std::function<client_bytes()> bytes_;
  mgmt_link link_;
  uint64_t next_status_ms_ = 0;
  bool status_failed_ = false;  // logged once until a write succeeds again
};

}  // namespace dpvpn::cp
