// SPDX-License-Identifier: MIT
// Relative paths as openvpn resolves them (against the working directory after `cd`) and openvpn's
// command line (--cd DIR, --config FILE, --name ARGS).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dpvpn/config.h"

using namespace dpvpn::cp;
namespace fs = std::filesystem;

namespace {

const std::string k_base =
    "dev tun\n"
    "server 10.8.0.0 255.255.255.0\n"
    "ca ca.crt\n"
    "cert server.crt\n"
    "key keys/server.key\n"
    "topology subnet\n";

// A scratch directory with server.conf (k_base + extra) and a subdirectory `sub`.
class config_cli : public ::testing::Test {
 protected:
  fs::path dir;
  void SetUp() override {
    dir = fs::temp_directory_path() / ("dpvpn_test_config_cli_" + std::to_string(::getpid()));
    fs::create_directories(dir / "sub");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir / name) << text;
    return (dir / name).string();
  }
  static server_config cli(std::vector<std::string> args) { return parse_command_line(args); }
  static std::string cli_error(std::vector<std::string> args) {
    try {
      parse_command_line(args);
    } catch (const config_error& e) {
      return e.what();
    }
    return "(parsed)";
  }
};

TEST_F(config_cli, relative_paths_stay_relative_to_the_working_directory) {
  // openvpn opens `ca ca.crt` in its working directory, not next to the config file.
  const std::string conf = write("server.conf", k_base + "status st.log\nclient-config-dir ccd\nwritepid run/x.pid\n");
  server_config c = parse_server_config(conf);
  EXPECT_EQ(c.ca.path, "ca.crt");
  EXPECT_EQ(c.key.path, "keys/server.key");
  EXPECT_EQ(c.status_path, "st.log");
  EXPECT_EQ(c.client_config_dir, "ccd");
  EXPECT_EQ(c.writepid, "run/x.pid");
  EXPECT_TRUE(c.cd.empty());
  EXPECT_EQ(c.source, conf);
}

TEST_F(config_cli, cd_in_the_file_sets_the_working_directory) {
  const std::string conf = write("server.conf", "cd " + dir.string() + "\ncd sub\n" + k_base);
  server_config c = parse_server_config(conf);
  EXPECT_EQ(c.cd, (dir / "sub").string());  // a relative cd continues from the one before
  EXPECT_EQ(c.ca.path, "ca.crt");           // resolved by main()'s chdir, as openvpn's
  c = parse_server_config(write("b.conf", "cd " + dir.string() + "\ncd /\n" + k_base));
  EXPECT_EQ(c.cd, "/");
  // A directory that does not exist is refused at its line (openvpn: "cd to '...' failed").
  const std::string bad = write("bad.conf", k_base + "cd " + (dir / "nope").string() + "\n");
  try {
    parse_server_config(bad);
    FAIL();
  } catch (const config_error& e) {
    EXPECT_EQ(e.line(), 7u);
    EXPECT_EQ(e.directive(), "cd");
    EXPECT_NE(e.detail().find("expected an existing directory"), std::string::npos) << e.what();
  }
}

TEST_F(config_cli, cd_then_config_reads_the_file_there) {
  write("server.conf", k_base + "verb 3\nport 1195\n");
  server_config c = cli({"--cd", dir.string(), "--config", "server.conf", "--verb", "5"});
  EXPECT_EQ(c.cd, dir.string());
  EXPECT_EQ(c.source, "server.conf");  // as given, like openvpn's `config` variable
  EXPECT_EQ(c.verb, 5u);               // the command line after --config overrides the file
  EXPECT_EQ(c.port, 1195);
  EXPECT_EQ(c.ca.path, "ca.crt");
  // Before --config, the file overrides the command line.
  c = cli({"--verb", "6", "--cd", dir.string(), "--config", "server.conf"});
  EXPECT_EQ(c.verb, 3u);
  // A cd after --config still moves the working directory (openvpn opens key files later).
  c = cli({"--config", (dir / "server.conf").string(), "--cd", (dir / "sub").string()});
  EXPECT_EQ(c.cd, (dir / "sub").string());
  // A relative cd on the command line, then a relative --config from there.
  fs::path here = fs::current_path();
  fs::current_path(dir.parent_path());
  c = cli({"--cd", dir.filename().string(), "--config", "server.conf"});
  fs::current_path(here);
  EXPECT_EQ(c.cd, dir.filename().string());
  EXPECT_EQ(c.port, 1195);
}

TEST_F(config_cli, a_single_argument_is_the_config_file) {
  const std::string conf = write("server.conf", k_base + "port 1196\n");
  EXPECT_EQ(cli({conf}).port, 1196);
}

TEST_F(config_cli, directives_without_a_file) {
  server_config c = cli({"--dev", "tun", "--server", "10.8.0.0", "255.255.255.0", "--ca", "ca.crt", "--cert", "s.crt",
                         "--key", "s.key", "--push", "route 10.9.0.0 255.255.0.0", "--setenv", "XY", "a\"b\\c d#e",
                         "--push", "x y", "--tls-server"});
  EXPECT_EQ(c.dev, "tun");
  EXPECT_EQ(c.key.path, "s.key");
  EXPECT_EQ(c.push, (std::vector<std::string>{"route 10.9.0.0 255.255.0.0", "x y"}));
  ASSERT_EQ(c.setenv.size(), 1u);
  EXPECT_EQ(c.setenv[0].second, "a\"b\\c d#e");  // words pass unchanged
  EXPECT_TRUE(c.tls_server);
  EXPECT_EQ(c.source, "command line");
}

TEST_F(config_cli, errors_name_the_option) {
  const std::string conf = write("server.conf", k_base);
  EXPECT_EQ(cli_error({"--config", conf, "--port", "abc"}),
            "command line:2: port: expected a number 1..65535, got \"abc\"");
  EXPECT_EQ(cli_error({"port", "1", "--config", conf}),
            "command line:1: port: expected an option starting with \"--\" (each option's arguments run to the next one)");
  EXPECT_EQ(cli_error({"--config"}), "command line:1: config: expected \"--config FILE\"");
  // Words without "--" belong to the option before them (openvpn's rule).
  EXPECT_EQ(cli_error({"--config", conf, "port", "1"}), "command line:1: config: expected \"--config FILE\"");
  EXPECT_EQ(cli_error({"--config", conf, "--bogus-option"}).rfind("command line:2: bogus-option: unknown directive", 0), 0u);
  EXPECT_EQ(cli_error({"--cd", (dir / "sub").string(), "--config", "server.conf"})
                .rfind("server.conf: config: expected a readable file", 0),
            0u);
  // A missing required directive names the config file.
  EXPECT_EQ(cli_error({"--dev", "tun"}).rfind("command line: server: expected", 0), 0u);
  write("nokey.conf", "dev tun\nserver 10.8.0.0 255.255.255.0\nca a\ncert b\n");
  EXPECT_EQ(cli_error({"--verb", "3", "--config", (dir / "nokey.conf").string()}),
            (dir / "nokey.conf").string() + ": key: expected \"key FILE\" or a <key> block (required)");
  EXPECT_EQ(cli({"--verb", "3", "--config", (dir / "nokey.conf").string(), "--key", "k"}).key.path, "k");
}

TEST_F(config_cli, script_programs_stay_as_written) {
  server_config c = parse_server_config_text(k_base + "script-security 2\nauth-user-pass-verify auth.sh via-file\n"
                                                      "learn-address ./learn.sh\nclient-connect \"scripts/cc.sh x\"\n",
                                             (dir / "server.conf").string());
  EXPECT_EQ(c.auth_user_pass_verify, (std::vector<std::string>{"auth.sh"}));
  EXPECT_EQ(c.learn_address, (std::vector<std::string>{"./learn.sh"}));
  EXPECT_EQ(c.client_connect, (std::vector<std::string>{"scripts/cc.sh", "x"}));
}

}  // namespace
