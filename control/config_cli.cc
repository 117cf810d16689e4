// SPDX-License-Identifier: MIT
// openvpn's command line: `--name ARGS...` directives and `--config FILE`, parsed as one config.
#include <cstddef>
#include <string>
#include <vector>

#include "dpvpn/config.h"
#include "dpvpn/static_key.h"

namespace dpvpn::cp {

namespace {

constexpr const char* k_cli = "command line";

// One word as config syntax reads it back unchanged: in double quotes, with '\' and '"' escaped.
std::string quoted(const std::string& w) {
  std::string out = "\"";
  for (char ch : w) {
    if (ch == '\\' || ch == '"') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

server_config parse_command_line(std::span<const std::string> args) {
  // openvpn: a single argument without "--" is the config file.
  if (args.size() == 1 && !args[0].starts_with("--")) {
    const std::string a[] = {"--config", args[0]};
    return parse_command_line(a);
  }
  std::vector<config_source> sources;
  config_source cli{k_cli, {}, true, 1};
  std::string cd;  // where a relative --config FILE is read from: the `cd`s before it
  unsigned option = 0;
  for (size_t i = 0; i < args.size();) {
    ++option;
    if (!args[i].starts_with("--") || args[i].size() == 2)
      throw config_error(k_cli, option, args[i],
                         "expected an option starting with \"--\" (each option's arguments run to the next one)");
    const std::string name = args[i].substr(2);
    std::vector<std::string> a;
    for (++i; i < args.size() && !args[i].starts_with("--"); ++i) a.push_back(args[i]);
    if (name == "config") {
      if (a.size() != 1) throw config_error(k_cli, option, name, "expected \"--config FILE\"");
      if (!cli.text.empty()) sources.push_back(cli);
      std::string text, err;
      if (!proto::read_file(join_cd(cd, a[0]), text, err))
        throw config_error(a[0], 0, "config", "expected a readable file, got " + err);
      sources.push_back({a[0], std::move(text), false, 1});
      cli = {k_cli, {}, true, option + 1};
      continue;
    }
    if (name == "cd" && a.size() == 1) cd = join_cd(cd, a[0]);
    std::string line = quoted(name);
    for (const std::string& w : a) {
      if (w.find_first_of("\r\n") != std::string::npos)
        throw config_error(k_cli, option, name, "expected no line break in an argument");
      line += ' ' + quoted(w);
    }
    cli.text += line + '\n';
  }
  if (!cli.text.empty()) sources.push_back(cli);
  return parse_server_config_sources(sources);
}

}  // namespace dpvpn::cp
