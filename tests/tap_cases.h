// tap_cases.h: the suites' Catch2 reporter for Meson, `-r tap-cases`: TAP with one line per test
// case ("ok 12 - name (345 checks)"), and every failed check of a case in full below its line as
// TAP diagnostics (file:line, the macro and expression, its expansion, the INFO messages and the
// sections it ran in), long lines folded so that no line grows past a TAP reader's limits.
// Include it in exactly one file of a test binary.
#pragma once
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace frost::test {

class CaseTapReporter : public Catch::StreamingReporterBase<CaseTapReporter> {
 public:
  explicit CaseTapReporter(const Catch::ReporterConfig& config) : StreamingReporterBase(config) {
    m_reporterPrefs.shouldReportAllAssertions = false;  // failures only
  }
  static std::string getDescription() { return "TAP, one line per test case, failures in full as diagnostics"; }

  void noMatchingTestCases(const std::string& spec) override { stream << "# No test cases matched '" << spec << "'\n"; }
  void assertionStarting(const Catch::AssertionInfo&) override {}

  bool assertionEnded(const Catch::AssertionStats& stats) override {
    const Catch::AssertionResult& r = stats.assertionResult;
    if (r.isOk()) return true;
    std::ostringstream out;
    out << r.getSourceInfo() << ": FAILED";
    if (r.hasExpression()) out << ": " << r.getExpressionInMacro() << "\n  with expansion: " << r.getExpandedExpression();
    if (r.getResultType() == Catch::ResultWas::ThrewException)
      out << "\n  unexpected exception: " << r.getMessage();
    else if (r.hasMessage())
      out << "\n  " << r.getMessage();
    for (const Catch::MessageInfo& m : stats.infoMessages) out << "\n  with message: " << m.message;
    if (m_sectionStack.size() > 1) {
      out << "\n  in section:";
      for (size_t i = 1; i < m_sectionStack.size(); ++i) out << (i > 1 ? " / " : " ") << m_sectionStack[i].name;
    }
    failures_.push_back(out.str());
    return true;
  }

  void testCaseEnded(const Catch::TestCaseStats& stats) override {
    const bool ok = stats.totals.assertions.failed == 0 && stats.totals.testCases.failed == 0;
    stream << (ok ? "ok " : "not ok ") << ++cases_ << " - " << stats.testInfo.name << " (" << stats.totals.assertions.passed
           << " checks";
    if (!ok) stream << ", " << stats.totals.assertions.failed << " failed";
    stream << ")\n";
    for (const std::string& f : failures_) diagnostics(f);
    if (!stats.stdOut.empty()) diagnostics("stdout: " + stats.stdOut);
    if (!stats.stdErr.empty()) diagnostics("stderr: " + stats.stdErr);
    failures_.clear();
    stream.flush();
    StreamingReporterBase::testCaseEnded(stats);
  }

  void testRunEnded(const Catch::TestRunStats& stats) override {
    stream << "1.." << cases_ << "\n# " << stats.totals.testCases.passed << " test cases passed, "
           << stats.totals.testCases.failed << " failed; " << stats.totals.assertions.passed << " checks passed, "
           << stats.totals.assertions.failed << " failed\n";
    stream.flush();
    StreamingReporterBase::testRunEnded(stats);
  }

 private:
  // Each line of `text` as "# ..." lines of at most kWidth characters.
  void diagnostics(const std::string& text) {
    constexpr size_t kWidth = 200;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
      for (size_t at = 0; at == 0 || at < line.size(); at += kWidth) stream << "# " << line.substr(at, kWidth) << "\n";
  }
  std::vector<std::string> failures_;
  size_t cases_ = 0;
};

CATCH_REGISTER_REPORTER("tap-cases", CaseTapReporter)

}  // namespace frost::test
