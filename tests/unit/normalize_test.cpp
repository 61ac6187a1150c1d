// Normalisation and final selection: both directions, best/last, ties, all-invalid, one entry.
#include <gtest/gtest.h>

#include <cmath>

#include "rebench/errors.hpp"
#include "rebench/normalize.hpp"

namespace rebench {
namespace {

ScoreEntry scored(int index, double score, bool valid = true) {
  ScoreEntry e;
  e.index = index;
  e.valid = valid;
  e.score = valid ? score : std::nan("");
  e.raw = e.score;
  return e;
}

TEST(Normalize, LowerIsBetterMapsStartToZeroAndReferenceToOne) {
  // Kernel in the paper: start ln(4.76) = 1.56, reference ln(1.6) = 0.47.
  const double start = std::log(4.76), ref = std::log(1.6);
  EXPECT_NEAR(normalize(start, start, ref), 0.0, 1e-12);
  EXPECT_NEAR(normalize(ref, start, ref), 1.0, 1e-12);
  EXPECT_NEAR(normalize(std::log(0.64), start, ref), (start - std::log(0.64)) / (start - ref),
              1e-12);
  EXPECT_GT(normalize(std::log(0.64), start, ref), 1.0);
  EXPECT_LT(normalize(std::log(9.0), start, ref), 0.0);
}

TEST(Normalize, HigherIsBetter) {
  EXPECT_NEAR(normalize(0.54, 0.54, 0.85), 0.0, 1e-12);
  EXPECT_NEAR(normalize(0.85, 0.54, 0.85), 1.0, 1e-12);
  EXPECT_NEAR(normalize(0.695, 0.54, 0.85), 0.5, 1e-12);
}

TEST(Normalize, EqualAnchorsAreAnError) { EXPECT_THROW(normalize(1, 2, 2), Error); }

struct SelectionCase {
  const char* name;
  std::vector<ScoreEntry> entries;
  Selection selection;
  Direction direction;
  std::optional<int> expected_index;
};

void PrintTo(const SelectionCase& c, std::ostream* os) { *os << c.name; }

class SelectionTable : public ::testing::TestWithParam<SelectionCase> {};

TEST_P(SelectionTable, PicksTheDocumentedEntry) {
  const SelectionCase& c = GetParam();
  auto chosen = select_final_entry(c.entries, c.selection, c.direction);
  if (!c.expected_index) {
    EXPECT_FALSE(chosen.has_value());
  } else {
    ASSERT_TRUE(chosen.has_value());
    EXPECT_EQ(c.entries[*chosen].index, *c.expected_index);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SelectionTable,
    ::testing::Values(
        SelectionCase{"best_lower",
                      {scored(0, 3), scored(1, 1), scored(2, 2)},
                      Selection::kBestValid,
                      Direction::kLowerIsBetter,
                      1},
        SelectionCase{"best_higher",
                      {scored(0, 3), scored(1, 1), scored(2, 2)},
                      Selection::kBestValid,
                      Direction::kHigherIsBetter,
                      0},
        SelectionCase{"last_valid",
                      {scored(0, 3), scored(1, 1), scored(2, 0, false)},
                      Selection::kLastValid,
                      Direction::kHigherIsBetter,
                      1},
        SelectionCase{"ties_keep_earliest",
                      {scored(0, 2), scored(1, 1), scored(2, 1)},
                      Selection::kBestValid,
                      Direction::kLowerIsBetter,
                      1},
        SelectionCase{"invalid_never_wins",
                      {scored(0, 5), scored(1, 0, false)},
                      Selection::kBestValid,
                      Direction::kLowerIsBetter,
                      0},
        SelectionCase{"all_invalid",
                      {scored(0, 0, false), scored(1, 0, false)},
                      Selection::kBestValid,
                      Direction::kLowerIsBetter,
                      std::nullopt},
        SelectionCase{"empty", {}, Selection::kLastValid, Direction::kLowerIsBetter, std::nullopt},
        SelectionCase{
            "single", {scored(0, 7)}, Selection::kBestValid, Direction::kHigherIsBetter, 0}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(FinalScore, AllInvalidNormalisesToZeroWithReasonNeverBeatingReference) {
  // METR/RE-Bench#43: an all-NaN kernel log aggregated to raw 0 = ln(1 ms) and beat the reference.
  std::vector<ScoreEntry> log = {scored(0, 0, false), scored(1, 0, false)};
  FinalScore f = final_score(log, Selection::kBestValid, Direction::kLowerIsBetter, 1.56, 0.47);
  EXPECT_FALSE(f.valid);
  EXPECT_EQ(f.normalized, 0.0);
  EXPECT_EQ(f.normalized_clipped, 0.0);
  EXPECT_EQ(f.reason, "no valid score");
  EXPECT_TRUE(std::isnan(f.raw));
  EXPECT_FALSE(f.entry_index.has_value());
}

TEST(FinalScore, ReportsClippedAndUnclipped) {
  std::vector<ScoreEntry> log = {scored(0, 2.0)};  // worse than start (1.56) when lower is better
  FinalScore f = final_score(log, Selection::kBestValid, Direction::kLowerIsBetter, 1.56, 0.47);
  EXPECT_TRUE(f.valid);
  EXPECT_LT(f.normalized, 0.0);
  EXPECT_EQ(f.normalized_clipped, 0.0);
  EXPECT_EQ(*f.entry_index, 0);
}

TEST(FinalScore, BeyondReferenceIsNotClippedAbove) {
  std::vector<ScoreEntry> log = {scored(0, 1.56), scored(1, -0.5)};
  FinalScore f = final_score(log, Selection::kBestValid, Direction::kLowerIsBetter, 1.56, 0.47);
  EXPECT_EQ(*f.entry_index, 1);
  EXPECT_GT(f.normalized, 1.0);
  EXPECT_EQ(f.normalized, f.normalized_clipped);
}

}  // namespace
}  // namespace rebench
