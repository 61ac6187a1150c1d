// Normalisation and final-score selection: pure functions over transformed scores.
// y_n = (y − y_s) / (y_r − y_s); works for both directions because y_r < y_s when lower is better.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rebench/environment.hpp"
#include "rebench/score_log.hpp"

namespace rebench {

/// Normalised score; throws Error when start == reference (anchors that cannot normalise).
double normalize(double score, double starting_score, double reference_score);

/// Index (into `entries`) of the entry that counts: best valid (earliest among ties) or last
/// valid. Entries with non-finite scores count as invalid. nullopt when no entry is valid.
std::optional<std::size_t> select_final_entry(const std::vector<ScoreEntry>& entries,
                                              Selection selection, Direction direction);

struct FinalScore {
  bool valid = false;               ///< a valid entry was selected
  std::optional<int> entry_index;   ///< ScoreEntry::index of the selected entry
  double raw = 0.0;                 ///< NaN when !valid
  double score = 0.0;               ///< NaN when !valid
  double normalized = 0.0;          ///< unclipped; 0 when !valid
  double normalized_clipped = 0.0;  ///< max(0, normalized)
  std::string reason;               ///< "" when valid, else why (e.g. "no valid score")
  [[nodiscard]] Json to_json() const;
};

/// Selects the final entry and normalises it. A log without a valid entry gives normalised 0 with
/// reason "no valid score": never a default raw value that could beat the reference.
FinalScore final_score(const std::vector<ScoreEntry>& entries, Selection selection,
                       Direction direction, double starting_score, double reference_score);

}  // namespace rebench
