// test_docs.cpp: the walkthroughs in docs/ name files in the order a reader meets them; every
// path they name (a backticked span with a '/' or a source-file suffix) must exist in the tree.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

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
