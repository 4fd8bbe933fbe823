// plot.h: figures of frost's own outputs, drawn with PLplot (its cairo driver: .png, .svg, .pdf).
//   transfer.csv (frost demo)  test top-1 against trainable parameters, log x, one labelled point per
//                              method, one series per upstream: the PEFT papers' standard figure
//   summary.csv (frost train)  loss (train solid, eval dashed) and eval top-1 against the epoch,
//                              one colour per run (named by its folder)
// Files of the two kinds are not mixed in one figure. Every malformed row is an error naming the
// file and line; a build without PLplot says so.
#pragma once
#include <string>
#include <vector>

namespace frost::cli {

bool plotting_available();  // this build has PLplot and its cairo driver is installed
// Draws `files` (all transfer.csv or all summary.csv) into `out` (.png, .svg or .pdf).
void plot_files(const std::vector<std::string>& files, const std::string& out, const std::string& title = "");

}  // namespace frost::cli
