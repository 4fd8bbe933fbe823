// test_docs.cpp: the walkthroughs in docs/ name files in the order a reader meets them; every
// path they name (a backticked span with a '/' or a source-file suffix) must exist in the tree.
// The README's method and counts tables are what the method table generates (`frost methods`).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "peft/method.h"
#include "tools/cli.h"

namespace fs = std::filesystem;

TEST_CASE("every file a walkthrough in docs/ names exists", "[cpu][docs]") {
  const fs::path root = FROST_SOURCE_ROOT;
  const std::regex span("`([^`\\s]+)`");
  const std::regex path_like("[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+/?");
  int docs = 0;
  for (const auto& entry : fs::directory_iterator(root / "docs")) {
    if (entry.path().extension() != ".md") continue;
    ++docs;
    std::ifstream in(entry.path());
    std::stringstream text;
    text << in.rdbuf();
    const std::string body = text.str();
    int named = 0;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), span); it != std::sregex_iterator(); ++it) {
      const std::string p = (*it)[1];
      if (!std::regex_match(p, path_like)) continue;
      ++named;
      INFO(entry.path().filename().string() << " names " << p);
      CHECK(fs::exists(root / p));
    }
    INFO(entry.path().filename().string());
    CHECK(named >= 5);  // a walkthrough walks through files
  }
  CHECK(docs >= 2);
}

namespace {
std::string readme() {
  std::ifstream in(fs::path(FROST_SOURCE_ROOT) / "README.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}
}  // namespace

TEST_CASE("the README's method table is the method table's (frost methods)", "[cpu][docs]") {
  const std::string table = frost::peft::methods_markdown();
  INFO("regenerate it with: build/tools/frost methods\n" << table);
  CHECK(readme().find(table) != std::string::npos);
}

TEST_CASE("the README's counts table is what frost params counts for every method's sized specs", "[cpu][docs][peft]") {
  const std::string table = frost::cli::counts_markdown();
  INFO("regenerate it with: build/tools/frost methods --counts\n" << table);
  CHECK(readme().find(table) != std::string::npos);
}
