// Normalisation and final-score selection (pure functions; see normalize.hpp).
#include "rebench/normalize.hpp"

#include <algorithm>
#include <cmath>

#include "rebench/errors.hpp"

namespace rebench {

double normalize(double score, double starting_score, double reference_score) {
  const double span = reference_score - starting_score;
  if (!std::isfinite(span) || span == 0.0)
    throw Error("cannot normalise: starting and reference scores are equal or not finite");
  return (score - starting_score) / span;
}

namespace {
bool counts(const ScoreEntry& entry) { return entry.valid && std::isfinite(entry.score); }
}  // namespace

std::optional<std::size_t> select_final_entry(const std::vector<ScoreEntry>& entries,
                                              Selection selection, Direction direction) {
  std::optional<std::size_t> chosen;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (!counts(entries[i])) continue;
    if (selection == Selection::kLastValid || !chosen) {
      chosen = i;
      continue;
    }
    const double best = entries[*chosen].score;
    const double candidate = entries[i].score;
    // Strictly better only: among ties the earliest entry stays.
    const bool better =
        direction == Direction::kLowerIsBetter ? candidate < best : candidate > best;
    if (better) chosen = i;
  }
  return chosen;
}

FinalScore final_score(const std::vector<ScoreEntry>& entries, Selection selection,
                       Direction direction, double starting_score, double reference_score) {
  FinalScore result;
  std::optional<std::size_t> chosen = select_final_entry(entries, selection, direction);
  if (!chosen) {
    result.valid = false;
    result.raw = std::nan("");
    result.score = std::nan("");
    result.normalized = 0.0;
    result.normalized_clipped = 0.0;
    result.reason = entries.empty() ? "no valid score (the log has no entries)" : "no valid score";
    return result;
  }
  const ScoreEntry& entry = entries[*chosen];
  result.valid = true;
  result.entry_index = entry.index;
  result.raw = entry.raw;
  result.score = entry.score;
  result.normalized = normalize(entry.score, starting_score, reference_score);
  result.normalized_clipped = std::max(0.0, result.normalized);
  return result;
}

Json FinalScore::to_json() const {
  return {{"valid", valid},
          {"entry_index", entry_index ? Json(*entry_index) : Json(nullptr)},
          {"raw", finite_or_null(raw)},
          {"score", finite_or_null(score)},
          {"normalized", normalized},
          {"normalized_clipped", normalized_clipped},
          {"reason", reason}};
}

}  // namespace rebench
