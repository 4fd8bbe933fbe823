// plot.cpp: `frost plot FILE... --out FIGURE` and the drawing behind it (plot.h).
#include "tools/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

#include "tools/cli.h"

#ifdef FROST_HAVE_PLPLOT
#include <plplot.h>
#endif

namespace frost::cli {

namespace fs = std::filesystem;

namespace {

// A CSV of frost's own (no quoted fields): the header's columns and each row's cells by name.
struct Table {
  std::string path;
  std::vector<std::string> columns;
  std::vector<std::map<std::string, std::string>> rows;
  std::vector<int> lines;  // each row's line number, for errors
  bool has(const std::string& c) const { return std::find(columns.begin(), columns.end(), c) != columns.end(); }
  // The cell as a number; empty cells are NaN (summary.csv leaves eval columns empty between evaluations).
  double number(size_t row, const std::string& column) const {
    const std::string& text = rows[row].at(column);
    if (text.empty()) return NAN;
    size_t used = 0;
    double v = NAN;
    try {
      v = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || !std::isfinite(v))
      throw std::runtime_error(path + ":" + std::to_string(lines[row]) + ": column " + column + ": '" + text +
                               "' is not a number");
    return v;
  }
};

std::vector<std::string> split(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) cells.push_back(cell);
  if (!line.empty() && line.back() == ',') cells.push_back("");
  return cells;
}

Table read_table(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  Table t;
  t.path = path;
  std::string line;
  if (!std::getline(in, line)) throw std::runtime_error(path + ": empty (expected a header line)");
  t.columns = split(line);
  for (int number = 2; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const std::vector<std::string> cells = split(line);
    if (cells.size() != t.columns.size())
      throw std::runtime_error(path + ":" + std::to_string(number) + ": " + std::to_string(cells.size()) +
                               " cells, the header has " + std::to_string(t.columns.size()));
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < cells.size(); ++c) row[t.columns[c]] = cells[c];
    t.rows.push_back(std::move(row));
    t.lines.push_back(number);
  }
  if (t.rows.empty()) throw std::runtime_error(path + ": no rows under the header");
  return t;
}

enum class Kind { transfer, summary };

Kind kind_of(const Table& t) {
  if (t.has("method") && t.has("trainable_params") && t.has("test_top1")) return Kind::transfer;
  if (t.has("epoch") && t.has("train_loss") && t.has("eval_top1")) return Kind::summary;
  throw std::runtime_error(t.path +
                           ": neither a frost demo transfer.csv (method, trainable_params, test_top1) nor a frost train "
                           "summary.csv (epoch, train_loss, eval_loss, eval_top1)");
}

}  // namespace

const CommandSpec& plot_spec() {
  static const CommandSpec spec = {
      "frost plot",
      "figures of frost's outputs: transfer.csv as top-1 vs trainable parameters, summary.csv files as training curves",
      "FILE...",
      {{"out", "FIGURE", "", "the figure to write: .png, .svg or .pdf", true},
       {"title", "TEXT", "", "the figure's title (default: one for its kind)"}},
      {"frost plot runs/demo/transfer.csv --out transfer.png",
       "frost plot output/train/lora/summary.csv output/train/vpt/summary.csv --out curves.svg"}};
  return spec;
}

int run_plot_command(const std::vector<std::string>& args) {
  const Flags f(plot_spec(), args);
  if (f.positional().empty())
    throw UsageError("frost plot: name at least one transfer.csv or summary.csv", usage_text(plot_spec()));
  plot_files(f.positional(), f.require("out"), f.get("title"));
  std::printf("frost plot: wrote %s\n", f.get("out").c_str());
  return 0;
}

#ifndef FROST_HAVE_PLPLOT

bool plotting_available() { return false; }

void plot_files(const std::vector<std::string>& files, const std::string&, const std::string&) {
  for (const std::string& file : files) kind_of(read_table(file));  // bad input is still reported as such
  throw std::runtime_error(
      "frost plot: this build of frost has no PLplot (install libplplot-dev and plplot-driver-cairo, "
      "then rebuild)");
}

#else

namespace {

// Colour map 0: white background, black axes, light grey grid, then the series' colours.
constexpr int kBackground = 0, kInk = 1, kGrid = 2, kFirstSeries = 3, kSeriesColours = 6;
void set_palette() {
  const int rgb[][3] = {{255, 255, 255}, {0, 0, 0},      {215, 215, 215}, {31, 119, 180}, {214, 39, 40},
                        {44, 160, 44},   {255, 127, 14}, {148, 103, 189}, {140, 86, 75}};
  plscmap0n(int(std::size(rgb)));
  for (int i = 0; i < int(std::size(rgb)); ++i) plscol0(i, rgb[i][0], rgb[i][1], rgb[i][2]);
}

int series_colour(size_t i) { return kFirstSeries + int(i % kSeriesColours); }
// A series' point marker (UTF-8, which the cairo driver draws): circle, square, triangle, diamond.
const char* marker(size_t i) {
  static const char* markers[] = {"\u25CF", "\u25A0", "\u25B2", "\u25C6"};
  return markers[i % 4];
}

const char* device_for(const std::string& out) {
  std::string ext = fs::path(out).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  if (ext == ".png") return "pngcairo";
  if (ext == ".svg") return "svgcairo";
  if (ext == ".pdf") return "pdfcairo";
  throw std::invalid_argument("frost plot: --out " + out + ": expected a .png, .svg or .pdf file");
}

bool have_device(const std::string& name) {
  const char** menus = nullptr;
  const char** names = nullptr;
  int n = 64;
  std::vector<const char*> m(64), d(64);
  menus = m.data();
  names = d.data();
  plgDevs(&menus, &names, &n);
  for (int i = 0; i < n; ++i)
    if (names[i] && name == names[i]) return true;
  return false;
}

// Opens a PLplot stream on `out` of width x height pixels; PLplot exits the process on some
// errors, so everything it could fail on is checked here first.
void begin(const std::string& out, int width, int height, int panels) {
  const char* device = device_for(out);
  if (!have_device(device))
    throw std::runtime_error(std::string("frost plot: PLplot has no ") + device + " driver here (install plplot-driver-cairo)");
  {
    std::FILE* probe = std::fopen(out.c_str(), "wb");
    if (!probe) throw std::runtime_error(out + ": cannot write the figure");
    std::fclose(probe);
  }
  plsdev(device);
  plsfnam(out.c_str());
  plspage(90, 90, width, height, 0, 0);
  set_palette();
  plssub(panels, 1);
  plinit();
  plfont(2);  // roman
  plschr(0, 0.9);
}

// A viewport with room for labels, its world window, a light grid and the black frame with ticks.
void frame(double x0, double x1, double y0, double y1, bool log_x, const std::string& xlabel, const std::string& ylabel,
           const std::string& title) {
  pladv(0);
  plvpor(0.12, 0.96, 0.14, 0.9);
  plwind(x0, x1, y0, y1);
  const std::string lx = log_x ? "l" : "";
  plcol0(kGrid);
  pllsty(1);
  plwidth(0.5);
  plbox(("g" + lx).c_str(), 0, 0, "g", 0, 0);
  plcol0(kInk);
  plwidth(1.0);
  plbox(("bcnst" + lx).c_str(), 0, 0, "bcnstv", 0, 0);
  plmtex("b", 3.0, 0.5, 0.5, xlabel.c_str());
  plmtex("l", 3.6, 0.5, 0.5, ylabel.c_str());
  plmtex("t", 1.8, 0.5, 0.5, title.c_str());
}

// Millimetres per world unit of the current viewport, to size text in world coordinates.
void mm_per_unit(double& sx, double& sy) {
  double px0, px1, py0, py1, vx0, vx1, vy0, vy1, wx0, wx1, wy0, wy1;
  plgspa(&px0, &px1, &py0, &py1);
  plgvpd(&vx0, &vx1, &vy0, &vy1);
  plgvpw(&wx0, &wx1, &wy0, &wy1);
  sx = (vx1 - vx0) * (px1 - px0) / (wx1 - wx0);
  sy = (vy1 - vy0) * (py1 - py0) / (wy1 - wy0);
}

struct Box {
  double x0, x1, y0, y1;  // mm
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

// Labels beside their points: the first of eight places around the point whose box hits no
// other label, no point and stays inside the frame.
void place_labels(const std::vector<double>& x, const std::vector<double>& y, const std::vector<std::string>& text,
                  const std::vector<int>& colours) {
  double sx, sy, wx0, wx1, wy0, wy1, def, ht;
  mm_per_unit(sx, sy);
  plgvpw(&wx0, &wx1, &wy0, &wy1);
  plgchr(&def, &ht);
  std::vector<Box> taken;
  for (size_t i = 0; i < x.size(); ++i) taken.push_back({x[i] * sx - 3.0, x[i] * sx + 3.0, y[i] * sy - 3.0, y[i] * sy + 3.0});
  const Box frame_box{wx0 * sx, wx1 * sx, wy0 * sy, wy1 * sy};
  for (size_t i = 0; i < x.size(); ++i) {
    // cairo's glyphs are wider than PLplot's nominal character height says: about one height each
    const double w = double(text[i].size()) * ht * 1.05, h = ht * 1.6, px = x[i] * sx, py = y[i] * sy, gap = 4.5;
    const double places[][2] = {{gap, -h / 2},    {-gap - w, -h / 2},    {-w / 2, gap},         {-w / 2, -gap - h},
                                {gap, gap * 0.6}, {gap, -gap * 0.6 - h}, {-gap - w, gap * 0.6}, {-gap - w, -gap * 0.6 - h},
                                {gap, 1.8 * h},   {gap, -2.8 * h},       {-gap - w, 1.8 * h},   {-gap - w, -2.8 * h}};
    Box best{};
    bool found = false;
    for (const auto& p : places) {
      const Box b{px + p[0], px + p[0] + w, py + p[1], py + p[1] + h};
      const bool inside = b.x0 >= frame_box.x0 && b.x1 <= frame_box.x1 && b.y0 >= frame_box.y0 && b.y1 <= frame_box.y1;
      bool clear = inside;
      for (size_t j = 0; j < taken.size() && clear; ++j) clear = !b.overlaps(taken[j]);
      if (clear) {
        best = b;
        found = true;
        break;
      }
    }
    if (!found) best = {px + gap, px + gap + w, py - h / 2, py + h / 2};  // crowded: right of the point
    taken.push_back(best);
    plcol0(colours[i]);
    plptex(best.x0 / sx, (best.y0 + best.y1) / 2 / sy, 1, 0, 0, text[i].c_str());
  }
}

// The legend, in the inside corner of the frame that covers fewest of the points (x, y) (world
// coordinates; curves pass points along their lines): top right, bottom right, top left, bottom left.
void legend(const std::vector<std::string>& names, const std::vector<int>& colours, const std::vector<int>& styles, bool lines,
            const std::vector<int>& symbols, const std::vector<double>& x, const std::vector<double>& y) {
  const int n = int(names.size());
  double sx, sy, wx0, wx1, wy0, wy1, def, ht;
  mm_per_unit(sx, sy);
  plgvpw(&wx0, &wx1, &wy0, &wy1);
  plgchr(&def, &ht);
  size_t longest = 0;
  for (const std::string& name : names) longest = std::max(longest, name.size());
  const double w = (double(longest) * ht * 1.05 + 16) / (sx * (wx1 - wx0)), h = (double(n) * ht * 2.1 + 3) / (sy * (wy1 - wy0));
  const int corners[] = {PL_POSITION_TOP | PL_POSITION_RIGHT, PL_POSITION_BOTTOM | PL_POSITION_RIGHT,
                         PL_POSITION_TOP | PL_POSITION_LEFT, PL_POSITION_BOTTOM | PL_POSITION_LEFT};
  int best = corners[0];
  size_t fewest = SIZE_MAX;
  for (int corner : corners) {
    const bool right = corner & PL_POSITION_RIGHT, top = corner & PL_POSITION_TOP;
    size_t covered = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double fx = (x[i] - wx0) / (wx1 - wx0), fy = (y[i] - wy0) / (wy1 - wy0);
      covered += (right ? fx > 1 - w - 0.03 : fx < w + 0.03) && (top ? fy > 1 - h - 0.03 : fy < h + 0.03);
    }
    if (covered < fewest) {
      fewest = covered;
      best = corner;
    }
  }
  std::vector<int> opts(size_t(n), lines ? PL_LEGEND_LINE : PL_LEGEND_SYMBOL), line_styles = styles;
  std::vector<double> widths(size_t(n), 2.0), scales(size_t(n), 1.2);
  std::vector<int> symbol_numbers(size_t(n), 1);
  std::vector<const char*> text, symbol_text;
  for (const std::string& name : names) text.push_back(name.c_str());
  for (size_t i = 0; i < size_t(n); ++i) symbol_text.push_back(marker(i < symbols.size() ? size_t(symbols[i]) : 0));
  if (line_styles.empty()) line_styles.assign(size_t(n), 1);
  double width = 0, height = 0;
  plcol0(kInk);
  pllegend(&width, &height, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, PL_POSITION_INSIDE | best, 0.02, 0.02, 0.04,
           kBackground, kInk, 1, 0, 0, n, opts.data(), 1.0, 0.9, 2.0, 0.0, colours.data(), text.data(), nullptr, nullptr, nullptr,
           nullptr, colours.data(), line_styles.data(), widths.data(), colours.data(), scales.data(), symbol_numbers.data(),
           symbol_text.data());
}

double nice_floor(double v, double step) { return std::floor(v / step) * step; }
double nice_ceil(double v, double step) { return std::ceil(v / step) * step; }

void plot_transfer(const std::vector<Table>& tables, const std::string& out, const std::string& title) {
  // one series per (file, upstream); the point's label is the method
  std::vector<std::string> series;
  std::vector<double> xs, ys;
  std::vector<std::string> labels;
  std::vector<int> colours, which;
  for (const Table& t : tables)
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const std::string upstream = t.has("upstream") ? t.rows[r].at("upstream") : "";
      std::string name = upstream.empty() ? "" : (upstream == "mae" ? "MAE" : upstream) + " upstream";
      if (tables.size() > 1) name = fs::path(t.path).parent_path().filename().string() + (name.empty() ? "" : " " + name);
      if (name.empty()) name = "test top-1";
      auto it = std::find(series.begin(), series.end(), name);
      if (it == series.end()) it = series.insert(series.end(), name);
      const double params = t.number(r, "trainable_params"), top1 = t.number(r, "test_top1");
      if (!(params >= 1)) throw std::runtime_error(t.path + ":" + std::to_string(t.lines[r]) + ": trainable_params must be >= 1");
      xs.push_back(std::log10(params));
      ys.push_back(top1);
      labels.push_back(t.rows[r].at("method"));
      which.push_back(int(it - series.begin()));
      colours.push_back(series_colour(size_t(which.back())));
    }
  const double x0 = std::floor(*std::min_element(xs.begin(), xs.end())),
               x1 = std::max(std::ceil(*std::max_element(xs.begin(), xs.end()) + 0.15), x0 + 1);
  const double lo = *std::min_element(ys.begin(), ys.end()), hi = *std::max_element(ys.begin(), ys.end());
  const double step = hi - lo > 20 ? 10 : hi - lo > 8 ? 5 : 1;
  const double y0 = std::max(0.0, nice_floor(lo - 0.6 * step, step)), y1 = std::min(100.0, nice_ceil(hi + 0.6 * step, step));
  begin(out, 1100, 760, 1);
  frame(x0, x1, y0, y1 > y0 ? y1 : y0 + 1, true, "trainable parameters (log scale)", "test top-1 (%)",
        title.empty() ? "Accuracy against trainable parameters" : title);
  for (size_t s = 0; s < series.size(); ++s) {
    std::vector<double> px, py;
    for (size_t i = 0; i < xs.size(); ++i)
      if (which[i] == int(s)) {
        px.push_back(xs[i]);
        py.push_back(ys[i]);
      }
    plcol0(series_colour(s));
    plschr(0, 1.1);
    plstring(int(px.size()), px.data(), py.data(), marker(s));
    plschr(0, 0.9);
  }
  plschr(0, 0.8);
  place_labels(xs, ys, labels, colours);
  plschr(0, 0.9);
  std::vector<int> series_colours, symbols;
  for (size_t s = 0; s < series.size(); ++s) {
    series_colours.push_back(series_colour(s));
    symbols.push_back(int(s));
  }
  legend(series, series_colours, {}, false, symbols, xs, ys);
  plend();
}

void plot_summaries(const std::vector<Table>& tables, const std::string& out, const std::string& title) {
  struct Run {
    std::string name;
    std::vector<double> epoch, train_loss, eval_loss, top1;
  };
  std::vector<Run> runs;
  for (const Table& t : tables) {
    Run run;
    run.name = fs::path(t.path).parent_path().filename().string();
    if (run.name.empty()) run.name = fs::path(t.path).stem().string();
    for (size_t r = 0; r < t.rows.size(); ++r) {
      run.epoch.push_back(t.number(r, "epoch"));
      run.train_loss.push_back(t.number(r, "train_loss"));
      run.eval_loss.push_back(t.has("eval_loss") ? t.number(r, "eval_loss") : NAN);
      run.top1.push_back(t.number(r, "eval_top1"));
    }
    runs.push_back(std::move(run));
  }
  double e1 = 1, l1 = 0, a0 = 100, a1 = 0;
  bool any_top1 = false;
  for (const Run& r : runs)
    for (size_t i = 0; i < r.epoch.size(); ++i) {
      e1 = std::max(e1, r.epoch[i]);
      for (double v : {r.train_loss[i], r.eval_loss[i]})
        if (std::isfinite(v)) l1 = std::max(l1, v);
      if (std::isfinite(r.top1[i])) {
        a0 = std::min(a0, r.top1[i]);
        a1 = std::max(a1, r.top1[i]);
        any_top1 = true;
      }
    }
  if (!any_top1) a0 = 0, a1 = 100;
  const double astep = a1 - a0 > 20 ? 10 : 5;
  a0 = std::max(0.0, nice_floor(a0 - 1, astep));
  a1 = std::min(100.0, nice_ceil(a1 + 1, astep));
  begin(out, 1500, 620, 2);
  // A polyline through the finite points of one column (evaluation can skip epochs).
  std::vector<double> seen_x, seen_y;  // points along the curves drawn, for the legend to avoid
  auto curve = [&](const std::vector<double>& x, const std::vector<double>& y, int colour, int style) {
    std::vector<double> px, py;
    for (size_t i = 0; i < x.size(); ++i)
      if (std::isfinite(y[i])) {
        px.push_back(x[i]);
        py.push_back(y[i]);
      }
    plcol0(colour);
    pllsty(style);
    plwidth(2.0);
    if (px.size() > 1) plline(int(px.size()), px.data(), py.data());
    plstring(int(px.size()), px.data(), py.data(), marker(0));
    for (size_t i = 0; i < px.size(); ++i)
      for (int k = 0; k < 8 && (k == 0 || i + 1 < px.size()); ++k) {
        seen_x.push_back(k == 0 ? px[i] : px[i] + (px[i + 1] - px[i]) * k / 8.0);
        seen_y.push_back(k == 0 ? py[i] : py[i] + (py[i + 1] - py[i]) * k / 8.0);
      }
    pllsty(1);
    plwidth(1.0);
  };
  const std::string t = title.empty() ? "" : title + ": ";
  const double margin = 0.03 * e1;  // the last epoch's marker inside the frame
  frame(-margin, e1 + margin, 0, l1 > 0 ? l1 * 1.08 : 1, false, "epoch", "loss", t + "loss (train solid, eval dashed)");
  std::vector<std::string> names;
  std::vector<int> colours, styles;
  for (size_t i = 0; i < runs.size(); ++i) {
    curve(runs[i].epoch, runs[i].train_loss, series_colour(i), 1);
    curve(runs[i].epoch, runs[i].eval_loss, series_colour(i), 2);
    names.push_back(runs[i].name + " train");
    names.push_back(runs[i].name + " eval");
    colours.insert(colours.end(), {series_colour(i), series_colour(i)});
    styles.insert(styles.end(), {1, 2});
  }
  legend(names, colours, styles, true, {}, seen_x, seen_y);
  seen_x.clear();
  seen_y.clear();
  frame(-margin, e1 + margin, a0, a1, false, "epoch", "eval top-1 (%)", t + "evaluation top-1");
  names.clear();
  colours.clear();
  for (size_t i = 0; i < runs.size(); ++i) {
    curve(runs[i].epoch, runs[i].top1, series_colour(i), 1);
    names.push_back(runs[i].name);
    colours.push_back(series_colour(i));
  }
  legend(names, colours, std::vector<int>(runs.size(), 1), true, {}, seen_x, seen_y);
  plend();
}

}  // namespace

bool plotting_available() { return have_device("pngcairo"); }

void plot_files(const std::vector<std::string>& files, const std::string& out, const std::string& title) {
  std::vector<Table> tables;
  for (const std::string& file : files) tables.push_back(read_table(file));
  const Kind kind = kind_of(tables[0]);
  for (const Table& t : tables)
    if (kind_of(t) != kind)
      throw std::invalid_argument("frost plot: " + t.path + " is not of the same kind as " + tables[0].path +
                                  " (transfer.csv and summary.csv files go in separate figures)");
  if (kind == Kind::transfer)
    plot_transfer(tables, out, title);
  else
    plot_summaries(tables, out, title);
}

#endif

}  // namespace frost::cli
