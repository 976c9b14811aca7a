// Integration: the real `mcpgate doctor` binary against live deployments over loopback — the real
// `mcpgate serve` backed by a fake Stytch (every check passes; tls warns on loopback http), and deliberately
// broken deployments served by an httplib::Server here, each breaking one thing real clients trip over.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "jose/test_signer.hpp"
#include "support/child_process.hpp"
#include "support/fake_stytch.hpp"

namespace mcpgate {
namespace {

struct DoctorRun {
  testing::ProcessOutput process;
  nlohmann::json report;  // the --json object; null when stdout was not JSON

  std::string status_of(const std::string& id) const {
    if (!report.is_object()) return "(no report)";
    for (const auto& c : report["checks"])
      if (c["id"] == id) return c["status"];
    return "(absent)";
  }
  std::string detail_of(const std::string& id) const {
    if (!report.is_object()) return "";
    for (const auto& c : report["checks"])
      if (c["id"] == id) return c["detail"];
    return "";
  }
  std::vector<std::string> failing() const {
    std::vector<std::string> out;
    if (report.is_object())
      for (const auto& c : report["checks"])
        if (c["status"] == "fail") out.push_back(c["id"]);
    return out;
  }
};

DoctorRun run_doctor(const std::vector<std::string>& extra) {
  std::vector<std::string> argv = {MCPGATE_BINARY, "doctor"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  DoctorRun run{testing::run_process(argv, {}, std::chrono::seconds(60)), nullptr};
  run.report = nlohmann::json::parse(run.process.stdout_text, nullptr, false);
  if (run.report.is_discarded()) run.report = nullptr;
  return run;
}

std::string describe(const DoctorRun& run) {
  return "exit " + std::to_string(run.process.exit_code) + "\nstdout: " + run.process.stdout_text +
         "\nstderr: " + run.process.stderr_text;
}

// (a) The real gateway, configured for Stytch, passes every check a client runs.
class DoctorAgainstServe : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "mcpgate-doctor-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    stytch_.set_keys({jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048).public_jwk("kid-1")});
    // public_url must name the port, so the port is picked here; another test may take it first (serve then
    // exits naming it): try another.
    for (int attempt = 0; attempt < 5 && port_ == 0; ++attempt) {
      const int port = testing::free_loopback_port();
      ASSERT_GT(port, 0);
      write_config(port);
      serve_ = std::make_unique<testing::ChildProcess>(
          std::vector<std::string>{MCPGATE_BINARY, "serve", "--config", dir_ + "/mcpgate.toml"},
          dir_ + "/stderr-" + std::to_string(attempt) + ".log");
      if (testing::wait_for_log_event(*serve_, "listening", std::chrono::seconds(15))) port_ = port;
    }
    ASSERT_GT(port_, 0) << "mcpgate serve did not listen: " << serve_->stderr_text();
  }
  void TearDown() override {
    if (serve_) {
      EXPECT_EQ(serve_->stop(SIGTERM, std::chrono::seconds(10)), 0) << serve_->stderr_text();
    }
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  void write_config(int port) {
    std::ofstream(dir_ + "/mcpgate.toml")
        << "[server]\npublic_url = \"http://127.0.0.1:" << port << "/mcp\"\nlisten_address = \"127.0.0.1\"\n"
        << "port = " << port << "\nthreads = 8\nallowed_origins = [\"https://claude.ai\"]\n\n"
        << "[stytch]\nproject_id = \"" << stytch_.project_id() << "\"\ndomain = \"" << stytch_.base_url()
        << "\"\n\n[[routes]]\nprefix = \"/mcp\"\nscopes = [\"mcp:read\"]\n\n[admin]\nport = 0\n";
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/mcp"; }

  testing::FakeStytch stytch_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> serve_;
};

TEST_F(DoctorAgainstServe, EveryCheckPassesExceptTlsWhichWarnsOnLoopbackHttp) {
  const DoctorRun run = run_doctor({url(), "--json", "--timeout", "5"});
  ASSERT_TRUE(run.report.is_object()) << describe(run);
  EXPECT_EQ(run.process.exit_code, 0) << describe(run);
  EXPECT_EQ(run.report["url"], url());
  EXPECT_EQ(run.report["ok"], true);
  const std::vector<std::string> ids = {
      "prm.path",         "prm.root",          "challenge",      "as.metadata",
      "as.on_mcp_origin", "wellknown.json404", "cors.preflight", "tls"};
  ASSERT_EQ(run.report["checks"].size(), ids.size()) << describe(run);
  for (const auto& id : ids)
    EXPECT_EQ(run.status_of(id), id == "tls" ? "warn" : "ok") << id << ": " << describe(run);
}

TEST_F(DoctorAgainstServe, TextReportHasOneLinePerCheckAndASummary) {
  const DoctorRun run = run_doctor({url(), "--client", "chatgpt"});
  EXPECT_EQ(run.process.exit_code, 0) << describe(run);
  EXPECT_NE(run.process.stdout_text.find("ok   prm.root"), std::string::npos) << describe(run);
  EXPECT_NE(run.process.stdout_text.find("warn tls"), std::string::npos) << describe(run);
  EXPECT_EQ(run.process.stdout_text.find("cors.preflight"), std::string::npos)  // a Claude (browser) check
      << describe(run);
}

// (b) One thing broken at a time, on a deployment that otherwise passes.
struct Faults {
  bool resource_trailing_slash = false;
  bool challenge_without_header = false;
  bool challenge_with_error = false;
  bool html_not_found = false;
  bool as_without_s256 = false;
  bool as_only_at_its_issuer_path = false;  // issuer {base}/as; nothing at the origin's own well-known
  bool prm_path_redirects = false;
  bool accepts_any_origin = false;  // a POST from any Origin is served (MCP says 403 unless allowed)
};

class BrokenDeployment : public ::testing::Test {
 protected:
  // Serves plain http, or https with `cert_dir`'s cert.pem and key.pem.
  void start(Faults faults, const std::string& cert_dir = "") {
    faults_ = faults;
    scheme_ = cert_dir.empty() ? "http" : "https";
    if (cert_dir.empty())
      server_ = std::make_unique<httplib::Server>();
    else
      server_ = std::make_unique<httplib::SSLServer>((cert_dir + "/cert.pem").c_str(),
                                                     (cert_dir + "/key.pem").c_str());
    ASSERT_TRUE(server_->is_valid());
    server_->set_tcp_nodelay(true);
    auto prm = [this](const httplib::Request&, httplib::Response& res) {
      nlohmann::json doc = {{"resource", url() + (faults_.resource_trailing_slash ? "/" : "")},
                            {"authorization_servers", {issuer()}},
                            {"scopes_supported", {"mcp:read"}}};
      res.set_content(doc.dump(), "application/json");
    };
    server_->Get("/.well-known/oauth-protected-resource/mcp",
                 [this, prm](const httplib::Request& req, httplib::Response& res) {
                   if (!faults_.prm_path_redirects) return prm(req, res);
                   res.status = 301;
                   res.set_header("Location", base() + "/.well-known/oauth-protected-resource/mcp/");
                 });
    server_->Get("/.well-known/oauth-protected-resource", prm);
    auto as = [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(as_metadata().dump(), "application/json");
    };
    if (faults_.as_only_at_its_issuer_path) {
      server_->Get("/.well-known/oauth-authorization-server/as", as);  // RFC 8414 §3.1: before the path
    } else {
      server_->Get("/.well-known/oauth-authorization-server", as);
      server_->Get("/.well-known/oauth-authorization-server/mcp", as);
    }
    server_->Get(R"(/\.well-known/.*)", [this](const httplib::Request&, httplib::Response& res) {
      res.status = 404;
      if (faults_.html_not_found)
        res.set_content("<html><body><h1>404 Not Found</h1></body></html>", "text/html");
      else
        res.set_content(R"({"error":"not_found"})", "application/json");
    });
    server_->Post("/mcp",
                  [this](const httplib::Request& req, httplib::Response& res) { challenge(req, res); });
    server_->Options("/mcp", [](const httplib::Request& req, httplib::Response& res) {
      res.status = 204;
      res.set_header("Access-Control-Allow-Origin", req.get_header_value("Origin"));
      res.set_header("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
      res.set_header("Access-Control-Allow-Headers",
                     "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version");
    });
    port_ = server_->bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }

  void challenge(const httplib::Request& req, httplib::Response& res) {
    if (req.has_header("Origin") && req.get_header_value("Origin") != "https://claude.ai" &&
        !faults_.accepts_any_origin) {
      res.status = 403;
      res.set_content(R"({"error":"origin_not_allowed"})", "application/json");
      return;
    }
    res.status = 401;
    std::string header = "Bearer realm=\"test\", resource_metadata=\"" + base() +
                         "/.well-known/oauth-protected-resource/mcp\", scope=\"mcp:read\"";
    if (faults_.challenge_with_error) header += ", error=\"invalid_token\"";
    if (!faults_.challenge_without_header) res.set_header("WWW-Authenticate", header);
    if (req.has_header("Origin")) {
      res.set_header("Access-Control-Allow-Origin", req.get_header_value("Origin"));
      res.set_header("Access-Control-Expose-Headers", "WWW-Authenticate, Mcp-Session-Id");
    }
    res.set_content(R"({"error":"unauthorized"})", "application/json");
  }
  nlohmann::json as_metadata() const {
    return {{"issuer", issuer()},
            {"authorization_endpoint", base() + "/authorize"},
            {"token_endpoint", base() + "/token"},
            {"registration_endpoint", base() + "/register"},
            {"code_challenge_methods_supported",
             faults_.as_without_s256 ? nlohmann::json::array({"plain"}) : nlohmann::json::array({"S256"})},
            {"token_endpoint_auth_methods_supported", {"none"}},
            {"scopes_supported", {"mcp:read"}}};
  }
  std::string base() const { return scheme_ + "://127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return base() + "/mcp"; }
  std::string issuer() const { return base() + (faults_.as_only_at_its_issuer_path ? "/as" : ""); }

  // Runs the doctor and checks the shared expectations: exit 1, `id` is the one failing check.
  DoctorRun expect_only_failure(const std::string& id) {
    DoctorRun run = run_doctor({url(), "--json", "--timeout", "5"});
    EXPECT_EQ(run.process.exit_code, 1) << describe(run);
    EXPECT_EQ(run.report.value("ok", true), false) << describe(run);
    EXPECT_EQ(run.failing(), std::vector<std::string>{id}) << describe(run);
    return run;
  }

  Faults faults_;
  std::string scheme_ = "http";
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(BrokenDeployment, TheUnbrokenDeploymentPasses) {
  start({});
  const DoctorRun run = run_doctor({url(), "--json"});
  EXPECT_EQ(run.process.exit_code, 0) << describe(run);
  EXPECT_TRUE(run.failing().empty()) << describe(run);
  EXPECT_EQ(run.status_of("cors.preflight"), "ok") << describe(run);
}

TEST_F(BrokenDeployment, AForeignOriginThatIsServedWarnsCorsNamingTheOrigin) {
  start({.accepts_any_origin = true});
  const DoctorRun run = run_doctor({url(), "--json"});
  EXPECT_EQ(run.process.exit_code, 0) << describe(run);  // a warning: clients still connect
  EXPECT_EQ(run.status_of("cors.preflight"), "warn") << describe(run);
  EXPECT_NE(run.detail_of("cors.preflight").find("foreign Origin"), std::string::npos) << describe(run);
}

TEST_F(BrokenDeployment, ResourceWithATrailingSlashFailsPrmPathNamingTheSlash) {
  start({.resource_trailing_slash = true});
  const DoctorRun run = expect_only_failure("prm.path");
  EXPECT_NE(run.detail_of("prm.path").find("trailing slash"), std::string::npos) << describe(run);
  EXPECT_NE(run.detail_of("prm.path").find(url() + "/"), std::string::npos) << describe(run);
}

TEST_F(BrokenDeployment, A401WithoutWwwAuthenticateFailsChallenge) {
  start({.challenge_without_header = true});
  const DoctorRun run = expect_only_failure("challenge");
  EXPECT_NE(run.detail_of("challenge").find("no WWW-Authenticate"), std::string::npos) << describe(run);
}

TEST_F(BrokenDeployment, AnErrorCodeInTheChallengeToARequestWithoutTokenFailsChallenge) {
  start({.challenge_with_error = true});
  const DoctorRun run = expect_only_failure("challenge");
  EXPECT_NE(run.detail_of("challenge").find("error=\"invalid_token\""), std::string::npos) << describe(run);
  EXPECT_NE(run.detail_of("challenge").find("RFC 6750"), std::string::npos) << describe(run);
}

TEST_F(BrokenDeployment, AnHtml404ForUnknownWellKnownPathsFailsJson404) {
  start({.html_not_found = true});
  const DoctorRun run = expect_only_failure("wellknown.json404");
  EXPECT_NE(run.detail_of("wellknown.json404").find("HTML"), std::string::npos) << describe(run);
}

TEST_F(BrokenDeployment, AuthorizationServerWithoutS256FailsAsMetadata) {
  start({.as_without_s256 = true});
  const DoctorRun run = expect_only_failure("as.metadata");
  EXPECT_NE(run.detail_of("as.metadata").find("S256"), std::string::npos) << describe(run);
}

TEST_F(BrokenDeployment, ARedirectIsReportedNotFollowed) {
  start({.prm_path_redirects = true});
  const DoctorRun run = run_doctor({url(), "--json"});
  EXPECT_EQ(run.process.exit_code, 1) << describe(run);
  // The challenge's resource_metadata names the same document, so it fails there too.
  EXPECT_EQ(run.failing(), (std::vector<std::string>{"prm.path", "challenge"})) << describe(run);
  EXPECT_NE(run.detail_of("prm.path").find("HTTP 301 redirect to " + base() + "/.well-known"),
            std::string::npos)
      << describe(run);
  EXPECT_NE(run.detail_of("prm.path").find("not followed"), std::string::npos) << describe(run);
}

// ChatGPT needs the authorization server's metadata on the MCP origin; Claude finds it at the issuer.
TEST_F(BrokenDeployment, NoAuthorizationServerMetadataOnTheMcpOriginFailsChatGptButOnlyWarnsClaude) {
  start({.as_only_at_its_issuer_path = true});
  const DoctorRun chatgpt = run_doctor({url(), "--json", "--client", "chatgpt"});
  EXPECT_EQ(chatgpt.process.exit_code, 1) << describe(chatgpt);
  EXPECT_EQ(chatgpt.failing(), std::vector<std::string>{"as.on_mcp_origin"}) << describe(chatgpt);
  EXPECT_EQ(chatgpt.status_of("as.metadata"), "ok") << describe(chatgpt);  // RFC 8414 §3.1 location

  const DoctorRun claude = run_doctor({url(), "--json", "--client", "claude"});
  EXPECT_EQ(claude.process.exit_code, 0) << describe(claude);
  EXPECT_EQ(claude.status_of("as.on_mcp_origin"), "warn") << describe(claude);
  EXPECT_EQ(claude.status_of("prm.root"), "(absent)") << describe(claude);  // not a check Claude runs
}

// A self-signed certificate for 127.0.0.1 (an IP subjectAltName, as host verification needs), valid `days`.
std::string make_certificate(int days) {
  const std::string dir =
      ::testing::TempDir() + "mcpgate-doctor-tls-" + std::to_string(::getpid()) + "-" + std::to_string(days);
  std::filesystem::create_directories(dir);
  const auto made = testing::run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                          "ec_paramgen_curve:P-256", "-nodes", "-days", std::to_string(days),
                                          "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                                          "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem"});
  EXPECT_EQ(made.exit_code, 0) << made.stderr_text;
  return dir;
}

TEST_F(BrokenDeployment, HttpsWithAnUntrustedCertificateFailsTlsNamingTheReason) {
  ASSERT_NO_FATAL_FAILURE(start({}, make_certificate(90)));
  const DoctorRun run = run_doctor({url(), "--json", "--timeout", "5"});
  EXPECT_EQ(run.process.exit_code, 1) << describe(run);
  EXPECT_EQ(run.status_of("tls"), "fail") << describe(run);
  EXPECT_NE(run.detail_of("tls").find("certificate verification failed: self-signed"), std::string::npos)
      << describe(run);
}

TEST_F(BrokenDeployment, HttpsTrustedThroughCaFilePassesTls) {
  const std::string certs = make_certificate(90);
  ASSERT_NO_FATAL_FAILURE(start({}, certs));
  const DoctorRun run = run_doctor({url(), "--json", "--ca-file", certs + "/cert.pem"});
  EXPECT_EQ(run.process.exit_code, 0) << describe(run);
  EXPECT_TRUE(run.failing().empty()) << describe(run);
  EXPECT_EQ(run.status_of("tls"), "ok") << describe(run);
  const std::string tls = run.detail_of("tls");  // 90 days from the same second, or a second less
  EXPECT_TRUE(tls.ends_with("verified, expires in 90 days") || tls.ends_with("verified, expires in 89 days"))
      << describe(run);
}

TEST_F(BrokenDeployment, CertificateExpiringWithinFourteenDaysWarns) {
  const std::string certs = make_certificate(5);
  ASSERT_NO_FATAL_FAILURE(start({}, certs));
  const DoctorRun run = run_doctor({url(), "--json", "--ca-file", certs + "/cert.pem"});
  EXPECT_EQ(run.process.exit_code, 0) << describe(run);
  EXPECT_EQ(run.status_of("tls"), "warn") << describe(run);
  const std::string tls = run.detail_of("tls");
  EXPECT_TRUE(tls.ends_with("expires in 5 days") || tls.ends_with("expires in 4 days")) << describe(run);
}

// (c) Input errors exit 2 and name the bad value.
TEST(DoctorUsage, NotAUrlExitsTwoNamingTheValue) {
  const DoctorRun run = run_doctor({"not-a-url"});
  EXPECT_EQ(run.process.exit_code, 2) << describe(run);
  EXPECT_NE(run.process.stderr_text.find("'not-a-url'"), std::string::npos) << describe(run);
  EXPECT_TRUE(run.process.stdout_text.empty()) << describe(run);
}

TEST(DoctorUsage, UnknownClientExitsTwoNamingTheValue) {
  const DoctorRun run = run_doctor({"https://mcp.example.com/mcp", "--client", "cursor"});
  EXPECT_EQ(run.process.exit_code, 2) << describe(run);
  EXPECT_NE(run.process.stderr_text.find("'cursor'"), std::string::npos) << describe(run);
}

}  // namespace
}  // namespace mcpgate
